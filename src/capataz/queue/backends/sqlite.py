"""The default store: one SQLite file in WAL mode, shared by every worker on the machine.

Why it is fast enough and safe:

- WAL lets readers run while one writer commits; ``synchronous=NORMAL`` skips the
  fsync per commit (a power cut may lose the last commits, a crashed process loses
  nothing). Every state change is one short ``BEGIN IMMEDIATE`` transaction, so a
  writer takes the lock at once instead of upgrading a read lock and deadlocking.
- SQLite has no ``SKIP LOCKED``; writers queue on the database lock, and each
  claim is a single ``UPDATE ... RETURNING`` on a partial index, so the lock is
  held for microseconds.
- An idle worker does not re-run the claim every few milliseconds: it polls
  ``PRAGMA data_version``, which changes only when another connection commits,
  and claims again when it moved (or when ``--sleep`` passed, for delayed jobs).
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from capataz.queue.backends.base import (
    FailedJob,
    NewJob,
    NextJob,
    QueueStats,
    ReservedJob,
    paused_queues,
    poll_for_change,
)
from capataz.queue.backends.sqlfile import load_queries, split_statements
from capataz.queue.clock import Clock, SystemClock
from capataz.queue.errors import StoreError
from capataz.sqlite_write import write_transaction

Q = load_queries("sqlite_queries.sql")
SCHEMA_VERSION = max(int(name.split("_")[1]) for name in Q if name.startswith("migration_"))
#: How often an idle worker looks for a commit by another process (seconds).
POLL_INTERVAL = 0.01


class SqliteBackend:
    """A job store in one SQLite file; one connection per instance, guarded by a lock."""

    def __init__(
        self,
        path: str | Path,
        clock: Clock | None = None,
        *,
        connection: str = "default",
        busy_timeout: float = 60.0,
    ) -> None:
        self.connection = connection
        self.path = Path(path)
        self._clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._found_nothing = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread=False: the worker's heartbeat thread shares this
            # connection; self._lock serialises every use of it.
            self._db = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise self._cannot_open(exc) from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
            self._seen: object = self._data_version()
        except BaseException as exc:
            self._db.close()
            if isinstance(exc, sqlite3.Error):
                raise self._cannot_open(exc) from exc
            raise

    def _cannot_open(self, exc: BaseException) -> StoreError:
        return StoreError(
            f"cannot open the queue store {self.path}: {exc}; check that the directory "
            "exists and is writable, or choose another with --url sqlite:///path"
        )

    def __repr__(self) -> str:
        return f"<SqliteBackend {self.path}>"

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return write_transaction(self._db, self._lock, self._failure)

    def _failure(self, exc: sqlite3.Error, begun: bool) -> StoreError:
        what = "failed" if begun else "is not writable"
        return StoreError(f"the queue store {self.path} {what}: {exc}")

    def _run(self, query: str, **params: Any) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._db.execute(Q[query], params)
            except sqlite3.Error as exc:
                raise StoreError(f"the queue store {self.path} failed: {exc}") from exc

    def _migrate(self) -> None:
        self._db.execute(Q["create_schema_version"])
        with self._transaction() as db:
            current = db.execute(Q["get_schema_version"]).fetchone()[0]
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"the queue store {self.path} has schema version {current}, newer than "
                    f"this capataz knows ({SCHEMA_VERSION}); upgrade capataz"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in split_statements(Q[f"migration_{version}"]):
                    db.execute(statement)
            if current < SCHEMA_VERSION:
                for statement in split_statements(Q["set_schema_version"]):
                    db.execute(statement, {"version": SCHEMA_VERSION})

    def _data_version(self) -> object:
        with self._lock:
            return self._db.execute("PRAGMA data_version").fetchone()[0]

    # -- jobs ---------------------------------------------------------------
    def push(self, jobs: Sequence[NewJob]) -> list[str]:
        now = self._clock.time()
        uuids: list[str] = []
        with self._transaction() as db:
            for job in jobs:
                params = {
                    "uuid": job.uuid, "queue": job.queue, "payload": job.payload,
                    "available_at": job.available_at, "now": now,
                    "unique_key": job.unique_key, "unique_until": job.unique_until,
                }
                if job.unique_key is not None:
                    db.execute(Q["expire_unique_key"], params)
                inserted = db.execute(Q["insert_job"], params).fetchone()
                if inserted is None and job.unique_key is not None:
                    holder = db.execute(Q["unique_key_holder"], params).fetchone()
                    uuids.append(holder[0] if holder else job.uuid)
                else:
                    uuids.append(job.uuid)
        return uuids

    def claim(self, queues: Sequence[str], worker: str, lease_seconds: float) -> ReservedJob | None:
        # An idle worker is woken by every commit, also those on queues it does not
        # work; after an empty claim it first looks without the write lock, so idle
        # workers do not queue for the lock behind the busy ones.
        if self._found_nothing and not self._anything_due(queues):
            return None
        with self._transaction() as db:
            job = self._claim(db, queues, worker, lease_seconds)
        self._found_nothing = job is None
        return job

    def _anything_due(self, queues: Sequence[str]) -> bool:
        now = self._clock.time()
        with self._lock:
            if self._run("expired_lease_exists", now=now).fetchone()[0]:
                return True
            return any(self._run("ready_in_queue", queue=q, now=now).fetchone()[0] for q in queues)

    def complete_and_claim(
        self, lease_token: str, queues: Sequence[str], worker: str, lease_seconds: float
    ) -> tuple[bool, ReservedJob | None]:
        with self._transaction() as db:
            done = db.execute(Q["complete_job"], {"lease_token": lease_token}).rowcount == 1
            return done, self._claim(db, queues, worker, lease_seconds)

    def claim_next(self, finished: str | None, queues: Sequence[str], worker: str,
                   lease_seconds: float, markers: Mapping[str, float]) -> NextJob:
        """Complete, read the markers and claim in one write transaction (see ClaimsNext)."""
        if finished is None and self._found_nothing and not self._anything_due(queues):
            current = self.markers()
            return NextJob(None, True, None if current == markers else current)
        token = secrets.token_hex(16)  # made before the write lock is taken, not under it
        with self._transaction() as db:
            completed = finished is None or (
                db.execute(Q["complete_job"], {"lease_token": finished}).rowcount == 1
            )
            current = dict(db.execute(Q["list_markers"]).fetchall())
            if current != markers:
                return NextJob(None, completed, current)
            job = self._claim(db, queues, worker, lease_seconds, paused=paused_queues(current),
                              token=token)
        self._found_nothing = job is None
        return NextJob(job, completed)

    def _claim(self, db: sqlite3.Connection, queues: Sequence[str], worker: str,
               lease_seconds: float, *, paused: set[str] | None = None,
               token: str | None = None) -> ReservedJob | None:
        now = self._clock.time()
        params = {
            "now": now, "worker": worker, "lease_token": token or secrets.token_hex(16),
            "lease_expires_at": now + lease_seconds,
        }
        db.execute(Q["rescue_expired_leases"], params)
        if paused is None:
            paused = paused_queues(dict(db.execute(Q["list_markers"]).fetchall()))
        for queue in queues:
            if queue in paused:
                continue
            row = db.execute(Q["claim_from_queue"], {**params, "queue": queue}).fetchone()
            if row is not None:
                return ReservedJob(*row)
        return None

    def renew(self, lease_token: str, lease_seconds: float) -> bool:
        expires = self._clock.time() + lease_seconds
        cursor = self._run("renew_lease", lease_token=lease_token, lease_expires_at=expires)
        return cursor.rowcount == 1

    def complete(self, lease_token: str) -> bool:
        return self._run("complete_job", lease_token=lease_token).rowcount == 1

    def release(self, lease_token: str, delay: float, *, after_exception: bool) -> bool:
        cursor = self._run(
            "release_job",
            lease_token=lease_token,
            available_at=self._clock.time() + max(0.0, delay),
            exceptions=int(after_exception),
        )
        return cursor.rowcount == 1

    def fail(self, lease_token: str, exception: str) -> bool:
        params = {
            "lease_token": lease_token, "exception": exception,
            "connection": self.connection, "now": self._clock.time(),
        }
        with self._transaction() as db:
            if db.execute(Q["copy_to_failed"], params).rowcount != 1:
                return False
            db.execute(Q["complete_job"], params)
        return True

    def wait(self, timeout: float) -> bool:
        changed, self._seen = poll_for_change(
            self._data_version, self._seen, self._clock, timeout, POLL_INTERVAL
        )
        return changed

    # -- failed jobs --------------------------------------------------------
    def failed_jobs(self, after_id: int = 0, limit: int | None = None) -> list[FailedJob]:
        rows = self._run("list_failed", after_id=after_id, limit=-1 if limit is None else limit)
        return [FailedJob(*row) for row in rows.fetchall()]

    def get_failed(self, key: str) -> FailedJob | None:
        numeric = int(key) if key.isdigit() and _fits_rowid(int(key)) else None
        row = self._run("get_failed", id=numeric, uuid=key).fetchone()
        return FailedJob(*row) if row else None

    def retry_failed(self, ids: Sequence[int]) -> list[str]:
        now = self._clock.time()
        uuids: list[str] = []
        with self._transaction() as db:
            for failed_id in filter(_fits_rowid, ids):
                row = db.execute(Q["retry_failed"], {"id": failed_id, "now": now}).fetchone()
                if row is not None:
                    uuids.append(row[0])
                    db.execute(Q["forget_failed"], {"id": failed_id})
        return uuids

    def forget_failed(self, ids: Sequence[int]) -> int:
        with self._transaction() as db:
            return sum(
                db.execute(Q["forget_failed"], {"id": i}).rowcount
                for i in filter(_fits_rowid, ids)
            )

    def flush_failed(self, failed_before: float | None = None) -> int:
        before = float("inf") if failed_before is None else failed_before
        return self._run("flush_failed", failed_before=before).rowcount

    # -- operations ---------------------------------------------------------
    def clear(self, queue: str) -> int:
        return self._run("clear_queue", queue=queue).rowcount

    def stats(self) -> list[QueueStats]:
        now = self._clock.time()
        with self._lock:
            jobs = {row[0]: row for row in self._run("job_stats", now=now).fetchall()}
            failed = dict(self._run("failed_stats").fetchall())
        result = []
        for queue in sorted(set(jobs) | set(failed)):
            _, waiting, delayed, running, oldest = jobs.get(queue, (queue, 0, 0, 0, None))
            result.append(
                QueueStats(
                    queue, int(waiting or 0), int(delayed or 0), int(running or 0),
                    int(failed.get(queue, 0)), None if oldest is None else now - oldest,
                )
            )
        return result

    def markers(self) -> dict[str, float]:
        return dict(self._run("list_markers").fetchall())

    def set_marker(self, name: str, value: float) -> None:
        self._run("set_marker", name=name, value=value)

    def delete_marker(self, name: str) -> bool:
        return self._run("delete_marker", name=name).rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _fits_rowid(value: int) -> bool:
    """An id SQLite can hold; a larger one (a typo) names no row rather than overflowing."""
    return -(2**63) <= value < 2**63
