"""An in-memory store for unit tests and single-process use: the contract, in dictionaries.

It implements exactly the semantics of the SQLite store (leases, attempts at
reservation, strict queue priority, unique keys, failed jobs, markers) with a
lock instead of transactions, so worker logic can be tested on a fake clock
without touching the disk.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from capataz.queue.backends.base import (
    FailedJob,
    NewJob,
    NextJob,
    QueueStats,
    ReservedJob,
    paused_queues,
    poll_for_change,
)
from capataz.queue.clock import Clock, SystemClock


@dataclass
class _Row:
    id: int
    uuid: str
    queue: str
    payload: str
    available_at: float
    created_at: float
    unique_key: str | None
    unique_until: float | None
    running: bool = False
    attempts: int = 0
    exceptions: int = 0
    lease_token: str | None = None
    lease_expires_at: float = 0.0
    worker: str | None = None


class MemoryBackend:
    """Jobs in a dict, guarded by one lock. Safe across threads, private to one process."""

    def __init__(self, clock: Clock | None = None, *, connection: str = "default") -> None:
        self.connection = connection
        self._clock = clock or SystemClock()
        # Re-entrant: compound steps (complete_and_claim) hold it across both halves.
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._failed_ids = itertools.count(1)
        self._jobs: dict[int, _Row] = {}
        self._failed: dict[int, FailedJob] = {}
        self._markers: dict[str, float] = {}
        self._version = 0
        self._seen: object = 0

    # -- jobs ---------------------------------------------------------------
    def push(self, jobs: Sequence[NewJob]) -> list[str]:
        now = self._clock.time()
        uuids: list[str] = []
        with self._lock:
            for job in jobs:
                holder = self._unique_holder(job.unique_key, now)
                if holder is not None:
                    uuids.append(holder.uuid)
                    continue
                existing = next((r for r in self._jobs.values() if r.uuid == job.uuid), None)
                if existing is None:
                    row_id = next(self._ids)
                    self._jobs[row_id] = _Row(
                        row_id, job.uuid, job.queue, job.payload, job.available_at, now,
                        job.unique_key, job.unique_until,
                    )
                uuids.append(job.uuid)
            self._version += 1
        return uuids

    def _unique_holder(self, key: str | None, now: float) -> _Row | None:
        if key is None:
            return None
        for row in self._jobs.values():
            if row.unique_key == key:
                if row.unique_until is not None and row.unique_until <= now:
                    row.unique_key = None  # the key's time ran out; it no longer blocks
                    return None
                return row
        return None

    def claim(self, queues: Sequence[str], worker: str, lease_seconds: float) -> ReservedJob | None:
        now = self._clock.time()
        with self._lock:
            for row in self._jobs.values():
                if row.running and row.lease_expires_at <= now:
                    row.running, row.lease_token, row.worker = False, None, None
            paused = paused_queues(self._markers)
            for queue in queues:
                if queue in paused:
                    continue
                ready = [
                    r for r in self._jobs.values()
                    if not r.running and r.queue == queue and r.available_at <= now
                ]
                if not ready:
                    continue
                row = min(ready, key=lambda r: (r.available_at, r.id))
                row.running, row.worker = True, worker
                row.attempts += 1
                row.lease_token = secrets.token_hex(16)
                row.lease_expires_at = now + lease_seconds
                self._version += 1
                return ReservedJob(
                    row.id, row.uuid, row.queue, row.payload, row.attempts, row.exceptions,
                    row.created_at, row.lease_token,
                )
        return None

    def complete_and_claim(
        self, lease_token: str, queues: Sequence[str], worker: str, lease_seconds: float
    ) -> tuple[bool, ReservedJob | None]:
        with self._lock:
            return self.complete(lease_token), self.claim(queues, worker, lease_seconds)

    def claim_next(self, finished: str | None, queues: Sequence[str], worker: str,
                   lease_seconds: float, markers: Mapping[str, float]) -> NextJob:
        with self._lock:
            completed = self.complete(finished) if finished is not None else True
            if self._markers != markers:
                return NextJob(None, completed, dict(self._markers))
            return NextJob(self.claim(queues, worker, lease_seconds), completed)

    def _held(self, token: str) -> _Row | None:
        return next((r for r in self._jobs.values() if r.running and r.lease_token == token), None)

    def renew(self, lease_token: str, lease_seconds: float) -> bool:
        with self._lock:
            row = self._held(lease_token)
            if row is None:
                return False
            row.lease_expires_at = self._clock.time() + lease_seconds
            return True

    def complete(self, lease_token: str) -> bool:
        with self._lock:
            row = self._held(lease_token)
            if row is None:
                return False
            del self._jobs[row.id]
            self._version += 1
            return True

    def release(self, lease_token: str, delay: float, *, after_exception: bool) -> bool:
        with self._lock:
            row = self._held(lease_token)
            if row is None:
                return False
            row.running, row.lease_token, row.worker = False, None, None
            row.available_at = self._clock.time() + max(0.0, delay)
            row.exceptions += int(after_exception)
            self._version += 1
            return True

    def fail(self, lease_token: str, exception: str) -> bool:
        with self._lock:
            row = self._held(lease_token)
            if row is None:
                return False
            del self._jobs[row.id]
            for old_id in [i for i, f in self._failed.items() if f.uuid == row.uuid]:
                del self._failed[old_id]
            failed_id = next(self._failed_ids)
            self._failed[failed_id] = FailedJob(
                failed_id, row.uuid, self.connection, row.queue, row.payload, exception,
                self._clock.time(),
            )
            self._version += 1
            return True

    def wait(self, timeout: float) -> bool:
        changed, self._seen = poll_for_change(
            lambda: self._version, self._seen, self._clock, timeout, 0.01
        )
        return changed

    # -- failed jobs --------------------------------------------------------
    def failed_jobs(self, after_id: int = 0, limit: int | None = None) -> list[FailedJob]:
        with self._lock:
            rows = [self._failed[i] for i in sorted(self._failed) if i > after_id]
        return rows if limit is None else rows[:limit]

    def get_failed(self, key: str) -> FailedJob | None:
        with self._lock:
            for row in self._failed.values():
                if row.uuid == key or str(row.id) == key:
                    return row
        return None

    def retry_failed(self, ids: Sequence[int]) -> list[str]:
        now = self._clock.time()
        uuids: list[str] = []
        with self._lock:
            for failed_id in ids:
                failed = self._failed.pop(failed_id, None)
                if failed is None:
                    continue
                row_id = next(self._ids)
                self._jobs[row_id] = _Row(
                    row_id, failed.uuid, failed.queue, failed.payload, now, now, None, None
                )
                uuids.append(failed.uuid)
            self._version += 1
        return uuids

    def forget_failed(self, ids: Sequence[int]) -> int:
        with self._lock:
            return sum(self._failed.pop(i, None) is not None for i in ids)

    def flush_failed(self, failed_before: float | None = None) -> int:
        with self._lock:
            doomed = [
                i for i, f in self._failed.items()
                if failed_before is None or f.failed_at <= failed_before
            ]
            for failed_id in doomed:
                del self._failed[failed_id]
        return len(doomed)

    # -- operations ---------------------------------------------------------
    def clear(self, queue: str) -> int:
        with self._lock:
            doomed = [i for i, r in self._jobs.items() if r.queue == queue and not r.running]
            for row_id in doomed:
                del self._jobs[row_id]
        return len(doomed)

    def stats(self) -> list[QueueStats]:
        now = self._clock.time()
        with self._lock:
            rows = list(self._jobs.values())
            failed = [f.queue for f in self._failed.values()]
        result = []
        for queue in sorted({r.queue for r in rows} | set(failed)):
            mine = [r for r in rows if r.queue == queue]
            waiting = [r.available_at for r in mine if not r.running and r.available_at <= now]
            result.append(
                QueueStats(
                    queue,
                    waiting=len(waiting),
                    delayed=sum(not r.running and r.available_at > now for r in mine),
                    running=sum(r.running for r in mine),
                    failed=failed.count(queue),
                    oldest_waiting=now - min(waiting) if waiting else None,
                )
            )
        return result

    def markers(self) -> dict[str, float]:
        with self._lock:
            return dict(self._markers)

    def set_marker(self, name: str, value: float) -> None:
        with self._lock:
            self._markers[name] = value
            self._version += 1

    def delete_marker(self, name: str) -> bool:
        with self._lock:
            return self._markers.pop(name, None) is not None

    def close(self) -> None:
        """Nothing to release; present for the contract."""

    def snapshot(self) -> list[ReservedJob]:
        """Every stored job as the worker would see it (tests inspect the store with this)."""
        with self._lock:
            return [
                ReservedJob(
                    r.id, r.uuid, r.queue, r.payload, r.attempts, r.exceptions, r.created_at,
                    r.lease_token or "",
                )
                for r in self._jobs.values()
            ]


__all__ = ["MemoryBackend"]
