"""What every queue driver offers, and the measurements built on it.

A driver runs inside the virtual environment of its queue (bench/.venv for the
peers, the project's .venv for capataz), so this module is standard library only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from bench import profiling
from bench.jobs.body import PICKUP_FILE_ENV
from bench.stats import percentile

WORKER_PROCESSES = 8
BULK_CHUNK = 1_000
REPO_ROOT = Path(__file__).resolve().parents[2]


class Unsupported(Exception):  # noqa: N818 - a state reported as "n/a (reason)"
    """The queue has no such feature (a bulk enqueue API, say)."""


class NotBuiltYet(Exception):  # noqa: N818 - a state reported as "not built yet"
    """capataz's queue, or the part a scenario needs, has not landed yet."""


class Driver(Protocol):
    def reset(self) -> None:
        """Empty the queue and anything a previous run left."""

    def enqueue_single(self, count: int) -> None:
        """Dispatch ``count`` no-op jobs, one call each."""

    def enqueue_bulk(self, count: int) -> None:
        """Dispatch ``count`` no-op jobs through the bulk API; Unsupported if there is none."""

    def pending(self) -> int:
        """Jobs queued or running (as far as the queue keeps track)."""

    def worker_commands(self, processes: int) -> list[list[str]]:
        """Commands that start ``processes`` worker processes (one job at a time each)."""

    def dispatch_pickup(self, sent_at: float) -> None:
        """Dispatch one record_pickup(sent_at) job."""


def bin_path(name: str) -> str:
    """A console script of the interpreter running this driver."""
    return str(Path(sys.executable).parent / name)


@dataclass
class Pool:
    """Running worker processes and the file their output goes to."""

    processes: list[subprocess.Popen[bytes]]
    output: IO[bytes]

    def check(self) -> None:
        """Raise, with the end of the workers' output, if any worker has exited."""
        dead = [p for p in self.processes if p.poll() is not None]
        if dead:
            raise RuntimeError(f"a worker exited {dead[0].returncode} during the run: "
                               f"{self.tail(400)}")

    def tail(self, size: int) -> str:
        # pread leaves alone the file offset the workers share with us for writing.
        fd = self.output.fileno()
        length = os.fstat(fd).st_size
        text = os.pread(fd, size, max(0, length - size)).decode(errors="replace")
        return " / ".join(text.strip().splitlines())


@contextlib.contextmanager
def workers(commands: Sequence[Sequence[str]], env: dict[str, str] | None = None
            ) -> Iterator[Pool]:
    """Start worker processes, each in its own session; stop them and their children after."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    with tempfile.TemporaryFile() as output:
        started = [subprocess.Popen(list(cmd), cwd=REPO_ROOT, env=environment,
                                    stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                                    start_new_session=True) for cmd in commands]
        pool = Pool(started, output)
        sampled = (profiling.sampling(started[0].pid, "worker")
                   if started and Path(commands[0][0]).name == "capataz" else nullcontext())
        try:
            with sampled:
                yield pool
        finally:
            _stop(started)
            if os.environ.get("BENCH_SHOW_WORKER_OUTPUT"):
                print(pool.tail(3000), file=sys.stderr)


def _stop(started: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    # Shutdown is not measured: a short grace, then the whole session is killed so
    # no pool child (Celery's prefork, Huey's processes) outlives the run.
    deadline = time.monotonic() + 1.5
    for process in started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(max(0.0, deadline - time.monotonic()))
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def measure_enqueue(driver: Driver, count: int) -> dict[str, float]:
    driver.reset()
    started = time.perf_counter()
    driver.enqueue_single(count)
    sample = {"single_per_s": count / (time.perf_counter() - started)}
    driver.reset()
    started = time.perf_counter()
    try:
        driver.enqueue_bulk(count)
    except Unsupported:
        pass  # the cell shows "-"; the scenario's note says why
    else:
        sample["bulk_per_s"] = count / (time.perf_counter() - started)
    driver.reset()
    return sample


def measure_process(driver: Driver, count: int, timeout: float | None = None
                    ) -> dict[str, float]:
    """Fill the queue, start the workers, and time how fast they empty it.

    The rate is taken between 10% and 90% of the jobs done: eight workers do not
    all start at the same moment, and a quick run's ramp-up would otherwise count
    for as much as the steady state. The wall time from launch, start-up included,
    is reported beside it.
    """
    # At least 20 jobs a second, or the queue is stuck; the harness waits longer.
    timeout = timeout if timeout is not None else 60 + count / 20
    driver.reset()
    try:
        driver.enqueue_bulk(count)
    except Unsupported:
        driver.enqueue_single(count)
    if driver.pending() < count:
        raise RuntimeError(f"queued {count} jobs but the queue holds {driver.pending()}")
    launched = time.perf_counter()
    marks: dict[float, float] = {}  # share of jobs done -> when it was first seen
    with workers(driver.worker_commands(WORKER_PROCESSES)) as pool:
        deadline = launched + timeout
        while True:
            probe = time.perf_counter()
            left = driver.pending()
            now = time.perf_counter()
            for share in (0.1, 0.9):
                if share not in marks and count - left >= share * count:
                    marks[share] = now
            if left == 0:
                break
            if now > deadline:
                raise TimeoutError(f"{left} of {count} jobs still pending after {timeout:.0f} s")
            pool.check()
            # Counting can cost milliseconds (a SQL count over 20,000 rows): poll no
            # more than a fifth of the time, so the probe does not steal a core.
            time.sleep(max(0.005, 4 * (now - probe)))
    driver.reset()
    steady = max(marks[0.9] - marks[0.1], 1e-9)
    return {"jobs_per_s": 0.8 * count / steady, "wall_s": now - launched}


def measure_latency(driver: Driver, jobs: int, spacing: float = 0.02,
                    warmup_timeout: float = 120.0) -> dict[str, float]:
    """Idle workers; dispatch ``jobs`` jobs ``spacing`` apart; p50/p99 of dispatch-to-start."""
    driver.reset()
    with tempfile.TemporaryDirectory(prefix="capataz-bench-") as tmp:
        pickups = Path(tmp) / "pickups"
        with workers(driver.worker_commands(WORKER_PROCESSES),
                     {PICKUP_FILE_ENV: str(pickups)}) as pool:
            _warm_up(driver, pickups, pool, warmup_timeout)
            pickups.unlink()
            begin = time.perf_counter()
            for index in range(jobs):
                pause = begin + index * spacing - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                driver.dispatch_pickup(time.time())
            waited = _read_pickups(pickups, jobs, pool)
    driver.reset()
    return {"p50_ms": percentile(waited, 0.5) * 1000, "p99_ms": percentile(waited, 0.99) * 1000}


def _warm_up(driver: Driver, pickups: Path, pool: Pool, timeout: float) -> None:
    """Wait until the workers run jobs, then let every process settle into idle."""
    deadline = time.perf_counter() + timeout
    while not (pickups.exists() and pickups.stat().st_size):
        pool.check()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the workers ran no job in {timeout:.0f} s")
        driver.dispatch_pickup(time.time())
        time.sleep(0.25)
    time.sleep(1.5)  # the other processes of the pool finish starting
    while driver.pending():
        pool.check()
        if time.perf_counter() > deadline:
            raise TimeoutError("the warm-up jobs did not drain")
        time.sleep(0.05)
    time.sleep(0.5)


def _read_pickups(path: Path, jobs: int, pool: Pool, timeout: float = 60.0) -> list[float]:
    deadline = time.perf_counter() + timeout
    while True:
        lines = path.read_text().split() if path.exists() else []
        if len(lines) >= jobs:
            return [float(line) for line in lines[:jobs]]
        pool.check()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"only {len(lines)} of {jobs} latency jobs ran")
        time.sleep(0.05)

