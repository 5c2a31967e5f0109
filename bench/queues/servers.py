"""The servers the queue scenarios use: check they answer, create and drop what we own."""

from __future__ import annotations

import contextlib
import socket
from urllib.parse import urlsplit

from bench.queues import settings
from bench.scenario import Unavailable

_created_database = False


def require(name: str, url: str) -> None:
    """Raise Unavailable (reported as n/a) when the server does not answer."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 2):
            return
    except OSError:
        raise Unavailable(f"{name} does not answer at {parts.hostname}:{parts.port}") from None


def ensure_database() -> None:
    """Create the ``capataz_bench`` database once per harness run (dropped by ``cleanup``)."""
    global _created_database  # noqa: PLW0603 - one database for the whole run
    require("PostgreSQL", settings.POSTGRES_ADMIN_URL)
    if _created_database:
        return
    import psycopg

    with psycopg.connect(settings.POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {settings.BENCH_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {settings.BENCH_DATABASE}")
    _created_database = True


def cleanup() -> None:
    """Drop the benchmark database and empty the Redis databases the harness used."""
    global _created_database  # noqa: PLW0603 - see ensure_database
    if _created_database:
        import psycopg

        with contextlib.suppress(psycopg.Error), psycopg.connect(
            settings.POSTGRES_ADMIN_URL, autocommit=True
        ) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {settings.BENCH_DATABASE} WITH (FORCE)")
        _created_database = False
    with contextlib.suppress(OSError, ImportError):
        require("Redis", settings.redis_url())
        import redis

        for db in (int(settings.redis_url().rsplit("/", 1)[1]), settings.REDIS_BENCHMARK_DB):
            redis.Redis.from_url(settings.redis_url().rsplit("/", 1)[0] + f"/{db}").flushdb()
