"""arq on Redis: 8 worker processes with arq's defaults (asyncio, max_jobs=10, 0.5 s poll)."""

from __future__ import annotations

import asyncio
from typing import Any

import redis
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from bench.jobs.body import noop, record_pickup
from bench.queues.driver import Unsupported, bin_path
from bench.queues.settings import redis_url


async def noop_job(ctx: dict[str, Any]) -> None:
    noop()


async def pickup_job(ctx: dict[str, Any], sent_at: float) -> None:
    record_pickup(sent_at)


class WorkerSettings:
    functions = [noop_job, pickup_job]  # noqa: RUF012 - arq reads these class attributes
    redis_settings = RedisSettings.from_dsn(redis_url())
    keep_result = 0


class ArqDriver:
    def __init__(self) -> None:
        self.redis = redis.Redis.from_url(redis_url())
        self.loop = asyncio.new_event_loop()
        self.pool: ArqRedis = self.loop.run_until_complete(
            create_pool(RedisSettings.from_dsn(redis_url())))

    def reset(self) -> None:
        self.redis.flushdb()

    def enqueue_single(self, count: int) -> None:
        async def enqueue() -> None:
            for _ in range(count):
                await self.pool.enqueue_job("noop_job")

        self.loop.run_until_complete(enqueue())

    def enqueue_bulk(self, count: int) -> None:
        raise Unsupported("no bulk enqueue API")

    def pending(self) -> int:
        # A job leaves arq's queue sorted set only when it has finished.
        return int(self.redis.zcard("arq:queue"))

    def worker_commands(self, processes: int) -> list[list[str]]:
        return [[bin_path("arq"), "bench.queues.peers.arq_peer.WorkerSettings"]] * processes

    def dispatch_pickup(self, sent_at: float) -> None:
        self.loop.run_until_complete(self.pool.enqueue_job("pickup_job", sent_at))


def make_driver() -> ArqDriver:
    return ArqDriver()
