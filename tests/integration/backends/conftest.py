"""One store, several handles: the contract suite runs the same tests on every backend.

Each server-backed store gets a private namespace for the test (a fresh schema in
PostgreSQL, a fresh key prefix in Redis database 15), dropped at teardown, so runs
in parallel never see each other's jobs.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import redis
from tests.integration.worker_site import WorkerSite

from capataz.queue.backends.base import Backend
from capataz.queue.backends.memory import MemoryBackend
from capataz.queue.backends.sqlite import SqliteBackend
from capataz.queue.clock import Clock, FakeClock

from .servers import OwnPostgres, OwnRedis

BACKENDS = ["memory", "sqlite", "postgres", "redis"]


def unique_name(kind: str) -> str:
    return f"capataz_test_{kind}_{secrets.token_hex(4)}"


def with_query(url: str, **params: str) -> str:
    sep = "&" if "?" in url else "?"
    return url + sep + "&".join(f"{k}={v}" for k, v in params.items())


def drop_schema(postgres_url: str, schema: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def drop_prefix(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start:start + 1000])
    finally:
        client.close()


@dataclass
class Store:
    """A store under test: ``open()`` gives another handle (another process, in effect)."""

    kind: str
    clock: FakeClock
    url: str
    factory: Callable[[Clock], Backend]
    handles: list[Backend] = field(default_factory=list)

    def open(self, clock: Clock | None = None) -> Backend:
        handle = self.factory(clock or self.clock)
        self.handles.append(handle)
        return handle

    def close(self) -> None:
        for handle in self.handles:
            handle.close()


def _factory(kind: str, request: pytest.FixtureRequest, tmp_path: Path
             ) -> tuple[str, Callable[[Clock], Backend], Callable[[], None]]:
    if kind == "memory":
        shared: dict[str, MemoryBackend] = {}

        def memory(clock: Clock) -> Backend:
            return shared.setdefault("store", MemoryBackend(clock))

        return "memory://", memory, lambda: None
    if kind == "sqlite":
        path = tmp_path / "queue.db"
        return f"sqlite://{path}", lambda clock: SqliteBackend(path, clock), lambda: None
    if kind == "postgres":
        from capataz.queue.backends.postgres import PostgresBackend

        base = request.getfixturevalue("postgres_url")
        schema = unique_name("pg")
        url = with_query(base, schema=schema)
        return url, lambda clock: PostgresBackend(url, clock), lambda: drop_schema(base, schema)
    from capataz.queue.backends.redis import RedisBackend

    base = request.getfixturevalue("redis_url")
    prefix = unique_name("redis")
    url = with_query(base, prefix=prefix)
    return url, lambda clock: RedisBackend(url, clock), lambda: drop_prefix(base, prefix)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url, factory, cleanup = _factory(request.param, request, tmp_path)
    under_test = Store(request.param, FakeClock(), url, factory)
    try:
        yield under_test
    finally:
        under_test.close()
        cleanup()


@pytest.fixture
def backend(store: Store) -> Backend:
    return store.open()


# -- real worker processes -------------------------------------------------------------
@contextlib.contextmanager
def _worker_site(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkerSite]:
    url, _, cleanup = _factory(kind, request, tmp_path)
    under_test = WorkerSite(tmp_path, url)
    try:
        yield under_test
    finally:
        under_test.close()
        cleanup()


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkerSite]:
    """A store in a private namespace, and the workers run against it."""
    with _worker_site(request.param, request, tmp_path) as under_test:
        yield under_test


@pytest.fixture(params=["postgres", "redis"])
def server_site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkerSite]:
    """As ``site``, on the stores that workers of several hosts can share."""
    with _worker_site(request.param, request, tmp_path) as under_test:
        yield under_test


@pytest.fixture(params=["postgres", "redis"])
def restartable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OwnPostgres | OwnRedis]:
    """A server of our own that the test may stop and start (see ``servers``)."""
    server = OwnPostgres() if request.param == "postgres" else OwnRedis(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.close()
