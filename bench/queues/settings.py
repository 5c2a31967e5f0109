"""Where the queues keep their data during a run; shared by the harness and the drivers.

Standard library only (imported in both virtual environments). Redis database 14
and the PostgreSQL database ``capataz_bench`` are the harness's own, so the test
suite's database 15 and ``test`` are never touched.
"""

from __future__ import annotations

import os

REDIS_URL_ENV = "BENCH_REDIS_URL"
POSTGRES_URL_ENV = "BENCH_POSTGRES_URL"
SQLITE_DIR_ENV = "BENCH_SQLITE_DIR"

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
REDIS_BENCHMARK_DB = 13
POSTGRES_ADMIN_URL = os.environ.get(
    "CAPATAZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BENCH_DATABASE = "capataz_bench"


def redis_url() -> str:
    return os.environ.get(REDIS_URL_ENV, DEFAULT_REDIS_URL)


def postgres_url() -> str:
    default = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + BENCH_DATABASE
    return os.environ.get(POSTGRES_URL_ENV, default)


def sqlite_dir() -> str:
    return os.environ.get(SQLITE_DIR_ENV, "/tmp")  # noqa: S108 - the harness always sets it
