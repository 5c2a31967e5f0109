"""The PostgreSQL store: many workers on many hosts share one queue.

What it adds to the SQLite store's semantics (which it implements exactly):

- Claims use ``FOR UPDATE SKIP LOCKED``: concurrent workers never wait on each
  other's rows, and :meth:`PostgresBackend.claim_batch` reserves several jobs in
  one statement.
- A trigger NOTIFYs the schema's channel when a job becomes available or a
  marker changes; an idle worker LISTENs in :meth:`~PostgresBackend.wait`, so it
  starts a new job within milliseconds. Delayed jobs and expired leases are
  found by the worker's ``--sleep`` polling, as before.
- :func:`in_transaction` dispatches on the caller's own connection: the job
  exists only if the caller's transaction commits.
- Finished jobs are deleted and failed ones moved out, so the hot table holds
  only waiting and running jobs.
- A lost server is ridden out: the worker claims nothing while it is away,
  reconnects with backoff and logs the outage once (see ``outage``).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg

from capataz.queue.backends.base import FailedJob, NewJob, NextJob, QueueStats, ReservedJob
from capataz.queue.backends.pg_link import LOG, PgConnection, PgLink
from capataz.queue.backends.pg_schema import Queries, migrate, parse_url
from capataz.queue.clock import Clock, SystemClock
from capataz.queue.errors import DispatchError, StoreError, StoreUnavailableError

T = TypeVar("T")
#: How long complete/release/fail keep retrying through an outage before giving the
#: job up to its lease (it then runs again: at least once, never lost).
SETTLE_PATIENCE = 30.0
#: How long opening the store waits for a server that is restarting (or not up yet).
OPEN_PATIENCE = 10.0
MAX_ID = 2**63 - 1
#: A worker vacuums the jobs table after finishing this many jobs (see vacuum_jobs in
#: postgres_queries.sql): with eight workers, one vacuum about every 2,000 to 16,000 jobs.
VACUUM_AFTER = 2_000

_ENLISTED: contextvars.ContextVar[PgConnection | None] = contextvars.ContextVar(
    "capataz_pg_enlisted", default=None
)


@contextmanager
def in_transaction(conn: PgConnection) -> Iterator[PgConnection]:
    """Dispatch jobs to PostgreSQL stores on ``conn``, inside the caller's transaction.

    ::

        with conn.transaction(), in_transaction(conn):
            conn.execute("INSERT INTO invoices ...")
            send_receipt.dispatch(invoice_id)

    The job is written by the caller's connection and exists only if that
    transaction commits; workers are woken by the commit, not before.
    """
    if not isinstance(conn, psycopg.Connection):
        raise DispatchError(
            f"in_transaction() needs a psycopg (3) Connection, not {type(conn).__name__}"
        )
    token = _ENLISTED.set(conn)
    try:
        yield conn
    finally:
        _ENLISTED.reset(token)


def _ids(ids: Sequence[int]) -> list[int]:
    """Ids a bigint can hold: larger ones (a typo) match nothing instead of failing."""
    return [i for i in ids if 0 < i <= MAX_ID]


@dataclass
class _Step:
    """What the claim_step statements of one claim brought back, added up."""

    completed: bool = False
    jobs: list[ReservedJob] = field(default_factory=list)
    #: The store's markers, when they differ from those the worker gave.
    markers: dict[str, float] | None = None

    def take(self, rows: list[tuple[Any, ...]]) -> bool:
        """Add one statement's rows; True when it freed jobs (the next statement sees them)."""
        done, rescued, _, names, values = rows[0][:5]
        self.completed = self.completed or done > 0
        if names is not None:
            self.markers = dict(zip(names, values, strict=True))
        jobs = sorted((row[5:] for row in rows if row[5] is not None),
                      key=lambda r: (r[8], r[0]))  # oldest first, as the index orders them
        self.jobs.extend(ReservedJob(*row[:8]) for row in jobs)
        return bool(rescued)


class PostgresBackend:
    """A job store in one schema of a PostgreSQL database."""

    def __init__(self, url: str, clock: Clock | None = None, *, connection: str = "default"
                 ) -> None:
        self.connection = connection
        self.target = parse_url(url)
        self.schema = self.target.schema
        self._q = Queries(self.schema)
        self._clock = clock or SystemClock()
        self._link = PgLink(self.target, self._clock)
        self._outage = self._link.outage
        self._markers: dict[str, float] | None = None
        self._finished_since_vacuum = 0
        try:
            self._dbname = self._link.retry(self._open, OPEN_PATIENCE)
        except StoreError as exc:
            self.close()
            if not isinstance(exc, StoreUnavailableError):
                raise
            raise StoreError(f"cannot open the queue store: {exc}") from exc
        except psycopg.Error as exc:
            self.close()
            raise StoreError(
                f"cannot open the queue store in {self.target.where}: {exc}".rstrip()
                + "; check the URL, that the server runs and that the user may create "
                f"the schema {self.schema}"
            ) from exc

    def __repr__(self) -> str:
        return f"<PostgresBackend {self.target.where} schema={self.schema}>"

    def _open(self) -> str:
        try:
            conn = self._link.connection()
            migrate(conn, self.target, self._q)
        except psycopg.OperationalError:
            self._link.drop()
            raise
        return conn.info.dbname

    def _use(self, action: Callable[[PgConnection], T], *, patience: float = 0.0) -> T:
        return self._link.use(action, patience=patience)

    def _run(self, name: str, params: dict[str, Any] | None = None, *,
             patience: float = 0.0) -> list[tuple[Any, ...]]:
        def action(conn: PgConnection) -> list[tuple[Any, ...]]:
            cursor = conn.execute(self._q[name], params)
            return cursor.fetchall() if cursor.description else [(cursor.rowcount,)]

        return self._use(action, patience=patience)

    def _count(self, name: str, params: dict[str, Any], *, patience: float = 0.0) -> int:
        return int(self._run(name, params, patience=patience)[0][0])

    # -- jobs ---------------------------------------------------------------
    def push(self, jobs: Sequence[NewJob], *, conn: PgConnection | None = None) -> list[str]:
        """Store jobs atomically; with ``conn`` (or inside :func:`in_transaction`), on it."""
        if not jobs:
            return []
        caller = conn or _ENLISTED.get()
        if caller is not None:
            self._check_same_database(caller)
            try:
                return self._insert(caller, jobs)
            except psycopg.Error as exc:
                raise DispatchError(
                    f"the job could not be written in your transaction: {exc}"
                ) from exc

        if any(j.unique_key is not None for j in jobs):
            return self._use(lambda own: self._insert_durably(own, jobs))
        self._check_payloads(jobs)
        params = self._insert_params(jobs, self._clock.time(), relaxed=True)
        return self._use(lambda own: self._insert_visible_first(own, params, jobs))

    def _insert_visible_first(self, conn: PgConnection, params: dict[str, Any],
                              jobs: Sequence[NewJob]) -> list[str]:
        """Insert jobs so workers see them at once, and return once they are on disk.

        The insert commits without waiting for the disk, so it is visible (and its
        NOTIFY sent) a disk flush earlier; a second, synchronous commit right after
        then flushes the WAL through it before we return. A dispatch that returns
        is as durable as before; workers merely start sooner. A uuid already stored
        is skipped (a retry after a lost connection is harmless), so each job's own
        uuid is its answer.
        """
        conn.execute(self._q["insert_jobs"], params)
        conn.execute(self._q["flush_to_disk"])
        return [j.uuid for j in jobs]

    def _insert_durably(self, conn: PgConnection, jobs: Sequence[NewJob]) -> list[str]:
        with conn.transaction():
            return self._insert(conn, jobs)

    def _check_same_database(self, caller: PgConnection) -> None:
        if caller.info.dbname != self._dbname:
            raise DispatchError(
                f"in_transaction() got a connection to database {caller.info.dbname!r}, but "
                f"this queue store is in {self._dbname!r}; use a connection to the same database"
            )

    @staticmethod
    def _check_payloads(jobs: Sequence[NewJob]) -> None:
        for job in jobs:
            if "\x00" in job.payload:
                raise DispatchError(
                    f"the payload of {job.uuid} holds a NUL character, which PostgreSQL text "
                    "cannot store; JSON payloads escape it as \\u0000"
                )

    @staticmethod
    def _insert_params(jobs: Sequence[NewJob], now: float, *, relaxed: bool = False
                       ) -> dict[str, Any]:
        return {
            "relaxed": relaxed,
            "now": now,
            "uuids": [j.uuid for j in jobs],
            "queues": [j.queue for j in jobs],
            "payloads": [j.payload for j in jobs],
            "available": [j.available_at for j in jobs],
            "keys": [j.unique_key for j in jobs],
            "until": [j.unique_until for j in jobs],
        }

    def _insert(self, conn: PgConnection, jobs: Sequence[NewJob]) -> list[str]:
        self._check_payloads(jobs)
        now = self._clock.time()
        keys = [j.unique_key for j in jobs if j.unique_key is not None]
        if keys:
            conn.execute(self._q["expire_unique_keys"], {"keys": keys, "now": now})
        result: dict[int, str] = {}
        pending = list(enumerate(jobs))
        # A unique key's holder can finish between our insert and our look-up; then
        # the job is inserted again on the next round rather than silently dropped.
        for _ in range(3):
            params = self._insert_params([j for _, j in pending], now)
            inserted = {row[0] for row in conn.execute(self._q["insert_jobs"], params)}
            blocked = [(i, j) for i, j in pending if j.uuid not in inserted and j.unique_key]
            for i, job in pending:
                if job.uuid in inserted or not job.unique_key:
                    result[i] = job.uuid
            if not blocked:
                break
            holders = dict(conn.execute(
                self._q["unique_key_holders"], {"keys": [j.unique_key for _, j in blocked]}
            ).fetchall())
            pending = []
            for i, job in blocked:
                if job.unique_key in holders:
                    result[i] = holders[job.unique_key]
                else:
                    pending.append((i, job))
            if not pending:
                break
        for i, job in pending:
            result.setdefault(i, job.uuid)
        return [result[i] for i in range(len(jobs))]

    def claim(self, queues: Sequence[str], worker: str, lease_seconds: float) -> ReservedJob | None:
        jobs = self.claim_batch(queues, worker, lease_seconds, 1)
        return jobs[0] if jobs else None

    def claim_batch(self, queues: Sequence[str], worker: str, lease_seconds: float,
                    limit: int) -> list[ReservedJob]:
        """Reserve up to ``limit`` jobs, filling from the queues in strict priority order.

        Each job gets its own lease; while the server is away, nothing is claimed.
        """
        if not self._outage.may_try():
            return []
        try:
            return self._step(None, queues, worker, lease_seconds, limit=limit).jobs
        except StoreUnavailableError:
            return []

    def complete_and_claim(self, lease_token: str, queues: Sequence[str], worker: str,
                           lease_seconds: float) -> tuple[bool, ReservedJob | None]:
        """Complete a job and reserve the next: one statement, one round trip, one commit."""
        next_job = self.claim_next(lease_token, queues, worker, lease_seconds, None)
        return next_job.completed, next_job.job

    def claim_next(self, finished: str | None, queues: Sequence[str], worker: str,
                   lease_seconds: float, markers: Mapping[str, float] | None) -> NextJob:
        """Complete ``finished``, and reserve the next job if the markers are ``markers``.

        One statement, one round trip, one commit (see claim_step). The markers are
        compared in the claim's own snapshot, so a job is never taken after a
        restart or pause the worker has not seen. ``markers=None`` skips the check.
        While the server is away nothing is reserved; the finished job's completion
        waits for it as :meth:`complete` does.
        """
        if finished is None and not self._outage.may_try():
            return NextJob(None)
        try:
            step = self._step(finished, queues, worker, lease_seconds, markers=markers)
        except StoreUnavailableError:
            return NextJob(None, self.complete(finished) if finished is not None else True)
        if step.completed:
            self._finished_since_vacuum += 1
            if self._finished_since_vacuum >= VACUUM_AFTER:
                self._finished_since_vacuum = 0
                self.vacuum()
        return NextJob(step.jobs[0] if step.jobs else None,
                       step.completed or finished is None, step.markers)

    def vacuum(self) -> bool:
        """Vacuum the jobs table unless another worker is at it; True when this one did.

        A failure (the user does not own the table, the server went away) changes
        nothing for the worker: autovacuum remains, and the next turn comes.
        """
        params = {"schema": self.schema}

        def action(conn: PgConnection) -> bool:
            if not conn.execute(self._q["try_vacuum_lock"], params).fetchone()[0]:  # type: ignore[index]
                return False
            try:
                conn.execute(self._q["vacuum_jobs"])
            finally:
                conn.execute(self._q["vacuum_unlock"], params)
            return True

        try:
            return self._use(action)
        except (StoreError, psycopg.Error):
            return False

    def _step(self, finished: str | None, queues: Sequence[str], worker: str,
              lease_seconds: float, *, limit: int = 1,
              markers: Mapping[str, float] | None = None) -> _Step:
        self._link.start_listening()
        now = self._clock.time()
        known = sorted((markers or {}).items())
        params: dict[str, Any] = {
            "finished": finished, "rescue": True, "now": now, "worker": worker,
            "lease_expires_at": now + lease_seconds,
            "marker_names": None if markers is None else [name for name, _ in known],
            "marker_values": None if markers is None else [value for _, value in known],
        }

        def action(conn: PgConnection) -> _Step:
            step = _Step()
            # No queue to claim from still completes the finished job (NULL matches none).
            targets: list[str | None] = [*queues] or [None]
            for queue in targets:
                again = True
                while again and len(step.jobs) < limit:
                    rows = conn.execute(self._q["claim_step"], {
                        **params, "queue": queue, "limit": limit - len(step.jobs),
                    }).fetchall()
                    params.update(finished=None, rescue=False)
                    again = step.take(rows)
                    if step.markers is not None:
                        return step
            return step

        return self._use(action)

    def _worker_step(self, name: str, params: dict[str, Any]) -> Callable[[PgConnection], bool]:
        """One of the worker's own changes, with a relaxed commit (see postgres_queries.sql)."""
        def action(conn: PgConnection) -> bool:
            with conn.pipeline(), conn.transaction():
                conn.execute(self._q["relaxed_commit"])
                changed = conn.execute(self._q[name], params)
            return changed.rowcount == 1

        return action

    def renew(self, lease_token: str, lease_seconds: float) -> bool:
        expires = self._clock.time() + lease_seconds
        return self._use(self._worker_step(
            "renew_lease", {"lease_token": lease_token, "lease_expires_at": expires}
        ))

    def _settle(self, action: Callable[[PgConnection], bool]) -> bool:
        try:
            return self._use(action, patience=SETTLE_PATIENCE)
        except StoreUnavailableError:
            LOG.warning("could not record a job's outcome in %s; it will run again",
                        self.target.where)
            return False

    def complete(self, lease_token: str) -> bool:
        return self._settle(self._worker_step("complete_job", {"lease_token": lease_token}))

    def release(self, lease_token: str, delay: float, *, after_exception: bool) -> bool:
        params = {
            "lease_token": lease_token, "exceptions": int(after_exception),
            "available_at": self._clock.time() + max(0.0, delay),
        }
        return self._settle(self._worker_step("release_job", params))

    def fail(self, lease_token: str, exception: str) -> bool:
        now = self._clock.time()
        # PostgreSQL text cannot hold NUL; a job's error message can (a stray byte in an
        # exception). Refusing it would leave the job failing forever, so escape it.
        exception = exception.replace("\x00", "\\x00")

        def action(conn: PgConnection) -> bool:
            with conn.transaction():
                row = conn.execute(self._q["take_for_failure"],
                                   {"lease_token": lease_token}).fetchone()
                if row is None:
                    return False
                uuid, queue, payload = row
                conn.execute(self._q["forget_failed_uuid"], {"uuid": uuid})
                conn.execute(self._q["insert_failed"], {
                    "uuid": uuid, "connection": self.connection, "queue": queue,
                    "payload": payload, "exception": exception, "now": now,
                })
                return True

        return self._settle(action)

    # -- waking up ----------------------------------------------------------
    def wait(self, timeout: float) -> bool:
        """Block until a NOTIFY (a job became available, a marker changed) or ``timeout``."""
        return self._link.wait(timeout)

    # -- failed jobs --------------------------------------------------------
    def failed_jobs(self, after_id: int = 0, limit: int | None = None) -> list[FailedJob]:
        rows = self._run("list_failed", {"after_id": after_id, "limit": limit})
        return [FailedJob(*row) for row in rows]

    def get_failed(self, key: str) -> FailedJob | None:
        numeric = int(key) if key.isdigit() and int(key) <= MAX_ID else None
        rows = self._run("get_failed", {"id": numeric, "uuid": key})
        return FailedJob(*rows[0]) if rows else None

    def retry_failed(self, ids: Sequence[int]) -> list[str]:
        now = self._clock.time()
        rows = self._run("retry_failed", {"ids": _ids(ids), "now": now})
        return [uuid for _, uuid in sorted(rows)]

    def forget_failed(self, ids: Sequence[int]) -> int:
        return self._count("forget_failed", {"ids": _ids(ids)})

    def flush_failed(self, failed_before: float | None = None) -> int:
        return self._count("flush_failed", {"failed_before": failed_before})

    # -- operations ---------------------------------------------------------
    def clear(self, queue: str) -> int:
        return self._count("clear_queue", {"queue": queue})

    def stats(self) -> list[QueueStats]:
        now = self._clock.time()
        jobs = {row[0]: row for row in self._run("job_stats", {"now": now})}
        failed = dict(self._run("failed_stats"))
        result = []
        for queue in sorted(set(jobs) | set(failed)):
            _, waiting, delayed, running, oldest = jobs.get(queue, (queue, 0, 0, 0, None))
            result.append(QueueStats(
                queue, int(waiting), int(delayed), int(running), int(failed.get(queue, 0)),
                None if oldest is None else now - oldest,
            ))
        return result

    def markers(self) -> dict[str, float]:
        """The markers; during an outage, the last ones read (a worker's best knowledge)."""
        try:
            self._markers = {name: float(v) for name, v in self._run("list_markers")}
        except StoreUnavailableError:
            if self._markers is None:
                raise
        return dict(self._markers)

    def set_marker(self, name: str, value: float) -> None:
        self._run("set_marker", {"name": name, "value": value})

    def delete_marker(self, name: str) -> bool:
        return self._count("delete_marker", {"name": name}) == 1

    def close(self) -> None:
        self._link.close()


__all__ = ["PostgresBackend", "in_transaction"]
