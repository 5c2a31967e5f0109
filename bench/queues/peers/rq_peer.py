"""RQ on Redis: SimpleWorker processes (no fork per job), the queue ``bench``."""

from __future__ import annotations

import redis
import rq
from rq.registry import StartedJobRegistry

from bench.jobs.body import noop, record_pickup
from bench.queues.driver import BULK_CHUNK, bin_path
from bench.queues.settings import redis_url

QUEUE = "bench"


class RQDriver:
    def __init__(self) -> None:
        self.redis = redis.Redis.from_url(redis_url())
        self.queue = rq.Queue(QUEUE, connection=self.redis)

    def reset(self) -> None:
        self.redis.flushdb()

    def enqueue_single(self, count: int) -> None:
        for _ in range(count):
            self.queue.enqueue(noop)

    def enqueue_bulk(self, count: int) -> None:
        for start in range(0, count, BULK_CHUNK):
            size = min(BULK_CHUNK, count - start)
            with self.redis.pipeline() as pipe:
                self.queue.enqueue_many([rq.Queue.prepare_data(noop) for _ in range(size)],
                                        pipeline=pipe)
                pipe.execute()

    def pending(self) -> int:
        return self.queue.count + StartedJobRegistry(queue=self.queue).count

    def worker_commands(self, processes: int) -> list[list[str]]:
        command = [bin_path("rq"), "worker", "--url", redis_url(), "--quiet",
                   "--worker-class", "rq.worker.SimpleWorker", QUEUE]
        return [command] * processes

    def dispatch_pickup(self, sent_at: float) -> None:
        self.queue.enqueue(record_pickup, sent_at)


def make_driver() -> RQDriver:
    return RQDriver()
