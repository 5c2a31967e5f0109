"""capataz's queue through its public API: ``@job``, ``dispatch``, ``capataz work`` processes.

The backend comes from BENCH_CAPATAZ_BACKEND (sqlite, postgres or redis). A store
that capataz does not have yet is reported as not built, never replaced by another.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.queues.driver import BULK_CHUNK, NotBuiltYet, bin_path
from bench.queues.settings import postgres_url, redis_url, sqlite_dir

BACKEND = os.environ.get("BENCH_CAPATAZ_BACKEND", "sqlite")
QUEUE = "default"


def store_url(backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite://{Path(sqlite_dir()) / 'queue.sqlite3'}"
    if backend == "postgres":
        return postgres_url()
    return redis_url()


class CapatazDriver:
    def __init__(self) -> None:
        try:
            from bench.jobs import capataz_jobs
            from capataz import queue
            from capataz.queue import connections
        except ImportError as exc:
            raise NotBuiltYet(f"capataz.queue has no public job API yet ({exc})") from None
        self.url = store_url(BACKEND)
        scheme = self.url.partition("://")[0]
        known = getattr(connections, "BACKENDS", {})
        if scheme not in known and not any(scheme.startswith(k) for k in known):
            raise NotBuiltYet(f"capataz has no {scheme}:// queue store yet")
        try:
            self.backend: Any = queue.use(self.url)
        except ImportError as exc:
            reason = f"capataz's {scheme}:// store is not importable yet ({exc})"
            raise NotBuiltYet(reason) from None
        self.jobs = capataz_jobs

    def reset(self) -> None:
        self.backend.clear(QUEUE)

    def enqueue_single(self, count: int) -> None:
        for _ in range(count):
            self.jobs.bench_noop.dispatch()

    def enqueue_bulk(self, count: int) -> None:
        for start in range(0, count, BULK_CHUNK):
            self.jobs.bench_noop.dispatch_many([[] for _ in range(min(BULK_CHUNK, count - start))])

    def pending(self) -> int:
        stats = [s for s in self.backend.stats() if s.queue == QUEUE]
        failed = sum(s.failed for s in stats)
        if failed:
            # A no-op that fails means a broken setup; its time must not count as work.
            raise RuntimeError(f"{failed} benchmark jobs failed; see capataz queue:failed")
        return sum(s.waiting + s.delayed + s.running for s in stats)

    def worker_commands(self, processes: int) -> list[list[str]]:
        command = [bin_path("capataz"), "work", "--url", self.url, "--app",
                   "bench.jobs.capataz_jobs", "--sleep", "3", "--tries", "1"]
        return [command] * processes

    def dispatch_pickup(self, sent_at: float) -> None:
        self.jobs.bench_pickup.dispatch(sent_at)


def make_driver() -> CapatazDriver:
    return CapatazDriver()
