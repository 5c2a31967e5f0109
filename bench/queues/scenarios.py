"""The queue scenarios, run by the harness: each side is one driver subprocess per run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable

from bench.peers_env import PEER_PYTHON, REPO_ROOT
from bench.queues import servers, settings
from bench.scenario import Better, Metric, NotBuilt, Sample, Scenario, Settings, Side, Unavailable

GROUP = "Queues: capataz against the Python job queues"
PEERS: dict[str, tuple[str, ...]] = {
    "sqlite": ("huey-sqlite",),
    "postgres": ("procrastinate",),
    "redis": ("rq", "celery", "dramatiq", "huey-redis", "arq"),
}
PEER_NOTES = {
    "rq": "SimpleWorker",
    "celery": "acks_late, prefetch 1, prefork -c 8",
    "dramatiq": "8 processes x 1 thread",
    "huey-redis": "consumer -w 8 -k process",
    "huey-sqlite": "consumer -w 8 -k process",
    "arq": "defaults: max_jobs 10, 0.5 s poll",
    "procrastinate": "concurrency 1 per process",
}
BACKEND_OF = {queue: backend for backend, queues in PEERS.items() for queue in queues} | {
    f"capataz-{backend}": backend for backend in PEERS}


def drive(queue: str, action: str, jobs: int) -> Sample:
    """Run one measurement in the queue's own interpreter; map its answer to a sample."""
    backend = BACKEND_OF[queue]
    if backend == "redis":
        servers.require("Redis", settings.redis_url())
    if backend == "postgres":
        servers.ensure_database()
    python = sys.executable if queue.startswith("capataz-") else str(PEER_PYTHON)
    with tempfile.TemporaryDirectory(prefix="capataz-bench-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT),
               settings.REDIS_URL_ENV: settings.redis_url(),
               settings.POSTGRES_URL_ENV: settings.postgres_url(),
               settings.SQLITE_DIR_ENV: tmp}
        # Longer than the driver's own limits, so a stuck queue ends in the driver,
        # which stops its workers, rather than in a kill that would orphan them.
        done = subprocess.run(
            [python, "-m", "bench.queues.drive", queue, action, "--jobs", str(jobs)],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300 + jobs / 10,
            check=False,
        )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{queue} driver exited {done.returncode}: {last}")
    answer = json.loads(lines[-1])
    if "not_built" in answer:
        raise NotBuilt(answer["not_built"])
    if "unavailable" in answer:
        raise Unavailable(answer["unavailable"])
    sample: Sample = {key: float(value) for key, value in answer["sample"].items()}
    return sample


def _sides(backend: str, action: str, jobs: Callable[[Settings], int]) -> tuple[Side, ...]:
    def bind(queue: str) -> Callable[[Settings], Sample]:
        return lambda s: drive(queue, action, jobs(s))

    capataz = Side(f"capataz-{backend}", bind(f"capataz-{backend}"), is_capataz=True,
                   note="8 x capataz work --sleep 3" if action != "enqueue" else "")
    peers = tuple(Side(q, bind(q), note=PEER_NOTES.get(q, "")) for q in PEERS[backend])
    return (capataz, *peers)


def scenarios() -> list[Scenario]:
    out: list[Scenario] = []
    for backend in ("sqlite", "postgres", "redis"):
        out += [
            Scenario(
                f"queue.enqueue.{backend}",
                lambda s: f"enqueue {s.jobs:,} no-op jobs, one call each and in bulk "
                "(chunks of 1,000)",
                (Metric("single_per_s", "one by one", "jobs/s", Better.HIGHER),
                 Metric("bulk_per_s", "bulk", "jobs/s", Better.HIGHER)),
                _sides(backend, "enqueue", lambda s: s.jobs), GROUP,
                notes="One by one: capataz `job.dispatch()`, RQ `enqueue`, Celery "
                "`apply_async`, Dramatiq `send`, Huey's task call, arq `enqueue_job`, "
                "procrastinate `defer`. Bulk: capataz `dispatch_many`, RQ `enqueue_many` in a "
                "pipeline, procrastinate `batch_defer`; `-` means the queue has no bulk API.",
            ),
            Scenario(
                f"queue.process.{backend}",
                lambda s: f"process {s.jobs:,} queued no-op jobs with 8 worker processes",
                (Metric("jobs_per_s", "throughput", "jobs/s", Better.HIGHER),
                 Metric("wall_s", "launch to empty", "s")),
                _sides(backend, "process", lambda s: s.jobs), GROUP,
                notes="Throughput is the steady rate between 10% and 90% of the jobs done "
                "(workers' start-up and the last stragglers left out); the wall time from "
                "launch to an empty queue includes both. Huey keeps no record of running "
                "tasks, so for it the queue is done when the list is empty.",
            ),
            Scenario(
                f"queue.latency.{backend}",
                lambda s: f"idle pickup latency over {s.latency_jobs} jobs dispatched 20 ms "
                "apart to 8 idle workers",
                (Metric("p50_ms", "p50", "ms"), Metric("p99_ms", "p99", "ms")),
                _sides(backend, "latency", lambda s: s.latency_jobs), GROUP,
            ),
        ]
    return out
