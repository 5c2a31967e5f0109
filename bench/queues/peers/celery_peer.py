"""Celery with a Redis broker: acks_late, prefetch 1, one prefork worker of 8 processes."""

from __future__ import annotations

import redis
from celery import Celery

from bench.jobs.body import noop, record_pickup
from bench.queues.driver import Unsupported, bin_path
from bench.queues.settings import redis_url

app = Celery("bench", broker=redis_url())
app.conf.update(
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="bench.noop")
def noop_task() -> None:
    noop()


@app.task(name="bench.pickup")
def pickup_task(sent_at: float) -> None:
    record_pickup(sent_at)


class CeleryDriver:
    def __init__(self) -> None:
        self.redis = redis.Redis.from_url(redis_url())

    def reset(self) -> None:
        self.redis.flushdb()

    def enqueue_single(self, count: int) -> None:
        for _ in range(count):
            noop_task.apply_async()

    def enqueue_bulk(self, count: int) -> None:
        raise Unsupported("no bulk enqueue API; group() publishes one message per task")

    def pending(self) -> int:
        # Queued messages plus those a worker holds unacknowledged (acks_late).
        return int(self.redis.llen("celery")) + int(self.redis.hlen("unacked"))

    def worker_commands(self, processes: int) -> list[list[str]]:
        return [[bin_path("celery"), "-A", "bench.queues.peers.celery_peer", "worker",
                 "--pool", "prefork", "--concurrency", str(processes), "--loglevel", "WARNING",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"]]

    def dispatch_pickup(self, sent_at: float) -> None:
        pickup_task.apply_async((sent_at,))


def make_driver() -> CeleryDriver:
    return CeleryDriver()
