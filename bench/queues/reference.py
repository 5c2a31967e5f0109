"""Reference limits measured in the same run: what each backend can do with no queue on top.

Redis: ``redis-benchmark`` LPUSH/RPOP from 8 clients. PostgreSQL: ``pgbench`` running
one ``DELETE ... FOR UPDATE SKIP LOCKED`` dequeue per transaction from 8 clients.
SQLite: 8 processes each looping ``BEGIN IMMEDIATE``; take the oldest row; delete it;
``COMMIT`` (WAL, synchronous=NORMAL).
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import re
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.queues import servers, settings
from bench.scenario import Better, Metric, Sample, Scenario, Settings, Side, Unavailable

GROUP = "Reference limits of the backends (same run)"
CLIENTS = 8
SKIP_LOCKED_DEQUEUE = (
    "DELETE FROM bench_ref WHERE id = "
    "(SELECT id FROM bench_ref ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED);\n"
)


def redis_limit(settings_: Settings) -> Sample:
    servers.require("Redis", settings.redis_url())
    parts = urlsplit(settings.redis_url())
    requests = 50_000 if settings_.quick else 200_000
    try:
        done = subprocess.run(
            ["redis-benchmark", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379),
             "--dbnum", str(settings.REDIS_BENCHMARK_DB), "-c", str(CLIENTS),
             "-n", str(requests), "-t", "lpush,rpop", "--csv"],
            capture_output=True, text=True, timeout=600, check=True,
        )
    except FileNotFoundError:
        raise Unavailable("redis-benchmark is not installed (Debian: redis-tools)") from None
    rates = {row[0].upper(): float(row[1]) for row in csv.reader(io.StringIO(done.stdout))
             if len(row) > 1 and row[0].upper() in {"LPUSH", "RPOP"}}
    return {"lpush_per_s": rates["LPUSH"], "rpop_per_s": rates["RPOP"]}


def postgres_limit(settings_: Settings) -> Sample:
    servers.ensure_database()
    import psycopg

    rows = CLIENTS * (2_000 if settings_.quick else 10_000)
    url = settings.postgres_url()
    with psycopg.connect(url, autocommit=True) as sql:
        sql.execute("DROP TABLE IF EXISTS bench_ref")
        sql.execute("CREATE TABLE bench_ref (id bigserial PRIMARY KEY, payload text NOT NULL)")
        sql.execute("INSERT INTO bench_ref (payload) SELECT '{}' FROM generate_series(1, %s)",
                    (rows,))
        sql.execute("VACUUM ANALYZE bench_ref")
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
            script.write(SKIP_LOCKED_DEQUEUE)
            script.flush()
            done = subprocess.run(
                ["pgbench", "-n", "-c", str(CLIENTS), "-j", "2", "-t", str(rows // CLIENTS),
                 "-f", script.name, url],
                capture_output=True, text=True, timeout=600, check=True,
            )
    except FileNotFoundError:
        raise Unavailable("pgbench is not installed (Debian: postgresql-contrib)") from None
    finally:
        with psycopg.connect(url, autocommit=True) as sql:
            sql.execute("DROP TABLE IF EXISTS bench_ref")
    match = re.search(r"tps = ([0-9.]+)", done.stdout)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps:\n{done.stdout[-1000:]}")
    return {"dequeues_per_s": float(match.group(1))}


def _sqlite_dequeuer(path: str, go: Any, counts: Any, index: int) -> None:
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    connection.execute("PRAGMA synchronous=NORMAL")
    taken = 0
    go.wait()
    while True:
        connection.execute("BEGIN IMMEDIATE")
        row = connection.execute("SELECT id FROM q ORDER BY id LIMIT 1").fetchone()
        if row is None:
            connection.execute("COMMIT")
            break
        connection.execute("DELETE FROM q WHERE id = ?", row)
        connection.execute("COMMIT")
        taken += 1
    counts[index] = taken
    connection.close()


def sqlite_limit(settings_: Settings) -> Sample:
    rows = 10_000 if settings_.quick else 40_000
    with tempfile.TemporaryDirectory(prefix="capataz-bench-") as tmp:
        path = str(Path(tmp) / "ref.sqlite3")
        with sqlite3.connect(path) as setup:
            setup.execute("PRAGMA journal_mode=WAL")
            setup.execute("CREATE TABLE q (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
            setup.executemany("INSERT INTO q (payload) VALUES (?)", [("{}",)] * rows)
        context = multiprocessing.get_context("fork")
        go = context.Event()
        counts: Any = context.Array("i", CLIENTS)
        workers = [context.Process(target=_sqlite_dequeuer, args=(path, go, counts, i))
                   for i in range(CLIENTS)]
        for worker in workers:
            worker.start()
        time.sleep(0.5)  # every process connected and waiting
        started = time.perf_counter()
        go.set()
        for worker in workers:
            worker.join(600)
        elapsed = time.perf_counter() - started
        if sum(counts) != rows:
            raise RuntimeError(f"dequeued {sum(counts)} of {rows} rows")
    return {"dequeues_per_s": rows / elapsed}


def scenarios() -> list[Scenario]:
    per_s = "ops/s"
    return [
        Scenario("ref.sqlite", lambda s: "SQLite BEGIN IMMEDIATE dequeue from 8 processes",
                 (Metric("dequeues_per_s", "dequeues", per_s, Better.HIGHER),),
                 (Side("sqlite3", sqlite_limit),), GROUP),
        Scenario("ref.postgres", lambda s: "PostgreSQL SKIP LOCKED dequeue transactions from "
                 "8 pgbench clients", (Metric("dequeues_per_s", "dequeues", per_s, Better.HIGHER),),
                 (Side("pgbench", postgres_limit),), GROUP),
        Scenario("ref.redis", lambda s: "redis-benchmark LPUSH/RPOP, 8 clients",
                 (Metric("lpush_per_s", "LPUSH", per_s, Better.HIGHER),
                  Metric("rpop_per_s", "RPOP", per_s, Better.HIGHER)),
                 (Side("redis-benchmark", redis_limit),), GROUP),
    ]
