"""Model-based check: random sequences of operations give the same answers on the
SQLite, PostgreSQL and Redis stores as on the in-memory one (the reference), on one
fake clock."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from psycopg import sql

from capataz.queue.backends.base import Backend, NewJob
from capataz.queue.backends.memory import MemoryBackend
from capataz.queue.backends.postgres import PostgresBackend
from capataz.queue.backends.redis import RedisBackend
from capataz.queue.backends.sqlite import SqliteBackend
from capataz.queue.clock import FakeClock

from .conftest import drop_prefix, drop_schema, unique_name, with_query

QUEUES = st.sampled_from(["high", "default"])
Opener = Callable[[FakeClock], Backend]


def machine(open_store: Opener) -> type[RuleBasedStateMachine]:
    class SameAnswers(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.clock = FakeClock()
            self.memory = MemoryBackend(self.clock)
            self.server = open_store(self.clock)
            self.held: dict[str, tuple[str, str]] = {}
            self.count = 0

        def teardown(self) -> None:
            self.server.close()

        def both(self, method: str, *args: object) -> object:
            expected = getattr(self.memory, method)(*args)
            actual = getattr(self.server, method)(*args)
            assert actual == expected, (method, args, actual, expected)
            return expected

        @rule(queue=QUEUES, delay=st.sampled_from([0, 0, 5]),
              unique=st.sampled_from([None, None, "k"]), until=st.sampled_from([None, 3]))
        def push(self, queue: str, delay: float, unique: str | None, until: float | None) -> None:
            self.count += 1
            now = self.clock.time()
            until_at = None if unique is None or until is None else now + until
            job = NewJob(f"j{self.count}", queue, "{}", now + delay, unique, until_at)
            self.both("push", [job])

        @rule(queues=st.sampled_from([["high", "default"], ["default"], ["default", "high"]]),
              lease=st.sampled_from([3, 30]))
        def claim(self, queues: list[str], lease: float) -> None:
            mem = self.memory.claim(queues, "w", lease)
            got = self.server.claim(queues, "w", lease)
            assert (mem is None) == (got is None)
            if mem is None or got is None:
                return
            assert (got.uuid, got.queue, got.attempts, got.exceptions) == (
                mem.uuid, mem.queue, mem.attempts, mem.exceptions)
            self.held[mem.uuid] = (mem.lease_token, got.lease_token)

        @precondition(lambda self: self.held)
        @rule(data=st.data(), action=st.sampled_from(["complete", "release", "fail", "renew"]))
        def settle(self, data: st.DataObject, action: str) -> None:
            uuid = data.draw(st.sampled_from(sorted(self.held)))
            mem_token, server_token = self.held[uuid]
            results = []
            for store, token in ((self.memory, mem_token), (self.server, server_token)):
                if action == "complete":
                    results.append(store.complete(token))
                elif action == "release":
                    results.append(store.release(token, 2, after_exception=True))
                elif action == "fail":
                    results.append(store.fail(token, "x"))
                else:
                    results.append(store.renew(token, 30))
            assert results[0] == results[1], (action, uuid)
            if action != "renew":
                del self.held[uuid]

        @rule(seconds=st.sampled_from([1, 4, 40]))
        def advance(self, seconds: float) -> None:
            self.clock.advance(seconds)

        @rule()
        def retry_all_failed(self) -> None:
            retried = self.memory.retry_failed([f.id for f in self.memory.failed_jobs()])
            again = self.server.retry_failed([f.id for f in self.server.failed_jobs()])
            assert sorted(retried) == sorted(again)

        @rule(queue=QUEUES)
        def clear(self, queue: str) -> None:
            self.both("clear", queue)

        @rule(queue=QUEUES)
        def pause_or_resume(self, queue: str) -> None:
            name = f"pause:{queue}"
            if name in self.memory.markers():
                self.both("delete_marker", name)
            else:
                self.both("set_marker", name, 1.0)

        @invariant()
        def same_counts(self) -> None:
            assert self.server.stats() == self.memory.stats()
            assert [f.uuid for f in self.server.failed_jobs()] == [
                f.uuid for f in self.memory.failed_jobs()]
            assert self.server.markers() == self.memory.markers()

    return SameAnswers


@pytest.fixture
def sqlite_opener(tmp_path: Path) -> Opener:
    files = iter(range(1_000_000))

    def open_store(clock: FakeClock) -> Backend:
        return SqliteBackend(tmp_path / f"model-{next(files)}.db", clock)

    return open_store


@pytest.fixture
def pg_opener(postgres_url: str) -> Iterator[Opener]:
    schema = unique_name("pg")
    url = with_query(postgres_url, schema=schema)
    PostgresBackend(url).close()
    tables = sql.SQL(", ").join(
        sql.Identifier(schema, table) for table in ("jobs", "failed_jobs", "markers")
    )

    def open_store(clock: FakeClock) -> Backend:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY").format(tables))
        return PostgresBackend(url, clock)

    yield open_store
    drop_schema(postgres_url, schema)


@pytest.fixture
def redis_opener(redis_url: str) -> Iterator[Opener]:
    base = unique_name("redis")
    used: list[str] = []

    def open_store(clock: FakeClock) -> Backend:
        used.append(f"{base}-{secrets.token_hex(3)}")
        return RedisBackend(with_query(redis_url, prefix=used[-1]), clock)

    yield open_store
    for prefix in used:
        drop_prefix(redis_url, prefix)


# A few examples in every run; CAPATAZ_SLOW=1 explores many more.
SETTINGS = settings(max_examples=200 if os.environ.get("CAPATAZ_SLOW") == "1" else 25,
                    stateful_step_count=25, deadline=None)


def test_sqlite_gives_the_same_answers_as_the_reference(sqlite_opener):
    """Random operations on SQLite and on the in-memory store agree at every step."""
    case = machine(sqlite_opener).TestCase
    # A local file is cheap: explore more than the server-backed stores do.
    case.settings = settings(SETTINGS, max_examples=max(SETTINGS.max_examples, 100))
    case("runTest").runTest()


def test_postgres_gives_the_same_answers_as_the_reference(pg_opener):
    """Random operations on PostgreSQL and on the in-memory store agree at every step."""
    case = machine(pg_opener).TestCase
    case.settings = SETTINGS
    case("runTest").runTest()


def test_redis_gives_the_same_answers_as_the_reference(redis_opener):
    """Random operations on Redis and on the in-memory store agree at every step."""
    case = machine(redis_opener).TestCase
    case.settings = SETTINGS
    case("runTest").runTest()
