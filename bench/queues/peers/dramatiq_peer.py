"""Dramatiq with its Redis broker: 8 worker processes of one thread each."""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from bench.jobs.body import noop, record_pickup
from bench.queues.driver import Unsupported, bin_path
from bench.queues.settings import redis_url

QUEUE = "bench"
broker = RedisBroker(url=redis_url())
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def noop_actor() -> None:
    noop()


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def pickup_actor(sent_at: float) -> None:
    record_pickup(sent_at)


class DramatiqDriver:
    def __init__(self) -> None:
        self.redis = redis.Redis.from_url(redis_url())

    def reset(self) -> None:
        self.redis.flushdb()

    def enqueue_single(self, count: int) -> None:
        for _ in range(count):
            noop_actor.send()

    def enqueue_bulk(self, count: int) -> None:
        raise Unsupported("no bulk enqueue API")

    def pending(self) -> int:
        # A message stays in the .msgs hash until a worker acknowledges it.
        return int(self.redis.hlen(f"dramatiq:{QUEUE}.msgs"))

    def worker_commands(self, processes: int) -> list[list[str]]:
        return [[bin_path("dramatiq"), "bench.queues.peers.dramatiq_peer",
                 "--processes", str(processes), "--threads", "1"]]

    def dispatch_pickup(self, sent_at: float) -> None:
        pickup_actor.send(sent_at)


def make_driver() -> DramatiqDriver:
    return DramatiqDriver()
