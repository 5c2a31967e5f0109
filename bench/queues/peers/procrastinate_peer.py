"""procrastinate on PostgreSQL: 8 worker processes with concurrency 1 (LISTEN/NOTIFY)."""

from __future__ import annotations

import procrastinate
import psycopg

from bench.jobs.body import noop, record_pickup
from bench.queues.driver import BULK_CHUNK, bin_path
from bench.queues.settings import postgres_url

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=postgres_url()))


@app.task(name="bench.noop")
def noop_task() -> None:
    noop()


@app.task(name="bench.pickup")
def pickup_task(sent_at: float) -> None:
    record_pickup(sent_at)


class ProcrastinateDriver:
    def __init__(self) -> None:
        self.sql = psycopg.connect(postgres_url(), autocommit=True)
        exists = self.sql.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        app.open()
        if exists is None or exists[0] is None:
            app.schema_manager.apply_schema()

    def reset(self) -> None:
        self.sql.execute("TRUNCATE procrastinate_jobs RESTART IDENTITY CASCADE")

    def enqueue_single(self, count: int) -> None:
        for _ in range(count):
            noop_task.defer()

    def enqueue_bulk(self, count: int) -> None:
        for start in range(0, count, BULK_CHUNK):
            noop_task.batch_defer(*({} for _ in range(min(BULK_CHUNK, count - start))))

    def pending(self) -> int:
        row = self.sql.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
        ).fetchone()
        return int(row[0]) if row else 0

    def worker_commands(self, processes: int) -> list[list[str]]:
        command = [bin_path("procrastinate"), "--app", "bench.queues.peers.procrastinate_peer.app",
                   "worker", "--concurrency", "1"]
        return [command] * processes

    def dispatch_pickup(self, sent_at: float) -> None:
        pickup_task.defer(sent_at=sent_at)


def make_driver() -> ProcrastinateDriver:
    return ProcrastinateDriver()
