"""One store, several handles: the contract suite runs the same tests on every backend.

Each server-backed store gets a private namespace for the test (a fresh schema in
PostgreSQL, a fresh key prefix in Redis database 15), dropped at teardown, so runs
in parallel never see each other's jobs.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import redis

from capataz.queue.backends.base import Backend, NewJob
from capataz.queue.backends.memory import MemoryBackend
from capataz.queue.backends.sqlite import SqliteBackend
from capataz.queue.clock import Clock, FakeClock
from capataz.queue.connections import open_backend

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
ROOT = Path(__file__).resolve().parents[3]
JOBS_DIR = ROOT / "tests" / "fixtures" / "jobs"
CAPATAZ = Path(sys.executable).parent / "capataz"


def payload(job: str, uuid: str, *args: object) -> str:
    return json.dumps({"uuid": uuid, "job": job, "args": list(args)})


@dataclass
class Site:
    """A shared store plus `capataz work` processes writing one run log (see queue_test_jobs)."""

    tmp: Path
    url: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def runlog(self) -> Path:
        return self.tmp / "runs.log"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            CAPATAZ_QUEUE_URL=self.url,
            CAPATAZ_APP="queue_test_jobs",
            CAPATAZ_TEST_RUNLOG=str(self.runlog),
            PYTHONPATH=os.pathsep.join(filter(None, [str(JOBS_DIR), env.get("PYTHONPATH")])),
        )
        return env

    def backend(self) -> Backend:
        return open_backend(self.url)

    def push(self, job: str, count: int, *args: object) -> list[str]:
        uuids = [f"job-{i:05d}" for i in range(count)]
        store = self.backend()
        now = time.time()
        store.push([NewJob(u, "default", payload(job, u, *args), now) for u in uuids])
        store.close()
        return uuids

    def worker(self, *flags: str) -> subprocess.Popen[bytes]:
        # Output goes to a file: a pipe nobody reads would fill up and stall the worker.
        log = (self.tmp / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen([str(CAPATAZ), "work", *flags], env=self.env(), stdout=log,
                                stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(proc)
        return proc

    def output(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.tmp.glob("worker-*.log")))

    def runs(self) -> list[tuple[int, str, str]]:
        if not self.runlog.exists():
            return []
        rows = []
        for line in self.runlog.read_text().splitlines():
            pid, uuid, event = line.split()
            rows.append((int(pid), uuid, event))
        return rows

    def counts(self, event: str) -> Counter[str]:
        return Counter(uuid for _, uuid, e in self.runs() if e == event)

    def by_job(self) -> dict[str, list[tuple[int, str]]]:
        result: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for pid, uuid, event in self.runs():
            result[uuid].append((pid, event))
        return result

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")



@pytest.fixture(params=["postgres", "redis"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """A server-backed store in a private namespace, and the workers run against it."""
    if request.param == "postgres":
        base = request.getfixturevalue("postgres_url")
        name = unique_name("pg")
        url, cleanup = with_query(base, schema=name), lambda: drop_schema(base, name)
    else:
        base = request.getfixturevalue("redis_url")
        name = unique_name("redis")
        url, cleanup = with_query(base, prefix=name), lambda: drop_prefix(base, name)
    under_test = Site(tmp_path, url)
    try:
        yield under_test
    finally:
        under_test.kill_all()
        cleanup()


@pytest.fixture(params=["postgres", "redis"])
def restartable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OwnPostgres | OwnRedis]:
    """A server of our own that the test may stop and start (see ``servers``)."""
    server = OwnPostgres() if request.param == "postgres" else OwnRedis(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.close()
