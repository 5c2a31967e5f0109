"""Huey on Redis or SQLite (BENCH_HUEY_BACKEND): one consumer with 8 worker processes."""

from __future__ import annotations

import os

from huey import RedisHuey, SqliteHuey
from huey.api import Huey

from bench.jobs.body import noop, record_pickup
from bench.queues.driver import Unsupported, bin_path
from bench.queues.settings import redis_url, sqlite_dir

BACKEND = os.environ.get("BENCH_HUEY_BACKEND", "redis")
huey: Huey = (RedisHuey("bench", url=redis_url(), results=False) if BACKEND == "redis"
              else SqliteHuey("bench", filename=os.path.join(sqlite_dir(), "huey.db"),
                              results=False))


@huey.task()
def noop_task() -> None:
    noop()


@huey.task()
def pickup_task(sent_at: float) -> None:
    record_pickup(sent_at)


class HueyDriver:
    def reset(self) -> None:
        huey.flush()

    def enqueue_single(self, count: int) -> None:
        for _ in range(count):
            noop_task()

    def enqueue_bulk(self, count: int) -> None:
        raise Unsupported("no bulk enqueue API")

    def pending(self) -> int:
        # Huey keeps no record of running tasks: the queue is drained when it is empty.
        return int(huey.pending_count())

    def worker_commands(self, processes: int) -> list[list[str]]:
        return [[bin_path("huey_consumer"), "bench.queues.peers.huey_peer.huey",
                 "--workers", str(processes), "--worker-type", "process", "--quiet"]]

    def dispatch_pickup(self, sent_at: float) -> None:
        pickup_task(sent_at)


def make_driver() -> HueyDriver:
    return HueyDriver()
