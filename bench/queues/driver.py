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
from pathlib import Path
from typing import Protocol

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


@contextlib.contextmanager
def workers(commands: Sequence[Sequence[str]], env: dict[str, str] | None = None
            ) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start worker processes, each in its own session; stop them and their children after."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    with tempfile.TemporaryFile() as output:
        started = [subprocess.Popen(list(cmd), cwd=REPO_ROOT, env=environment,
                                    stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                                    start_new_session=True) for cmd in commands]
        sampled = (profiling.sampling(started[0].pid, "worker")
                   if started and Path(commands[0][0]).name == "capataz" else nullcontext())
        try:
            with sampled:
                yield started
        finally:
            _stop(started)
            output.seek(0)
            tail = output.read()[-3000:].decode(errors="replace")
            if os.environ.get("BENCH_SHOW_WORKER_OUTPUT"):
                print(tail, file=sys.stderr)


def _stop(started: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(max(0.0, deadline - time.monotonic()))
    for process in started:
        # SIGKILL the whole session: a prefork pool's children must not outlive the run.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _check_alive(started: Sequence[subprocess.Popen[bytes]]) -> None:
    dead = [p for p in started if p.poll() is not None]
    if dead:
        raise RuntimeError(f"a worker exited {dead[0].returncode} during the run "
                           "(BENCH_SHOW_WORKER_OUTPUT=1 shows its output)")


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
    """Fill the queue, start the workers, time from the first pickup to an empty queue.

    Timing from the first pickup leaves the workers' start-up out of the rate;
    the wall time from launch, start-up included, is reported beside it.
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
    first = None
    with workers(driver.worker_commands(WORKER_PROCESSES)) as started:
        deadline = launched + timeout
        while True:
            probe = time.perf_counter()
            left = driver.pending()
            now = time.perf_counter()
            if first is None and left < count:
                first = now
            if left == 0:
                break
            if now > deadline:
                raise TimeoutError(f"{left} of {count} jobs still pending after {timeout:.0f} s")
            _check_alive(started)
            # Counting can cost milliseconds (a SQL count over 20,000 rows): poll no
            # more than a fifth of the time, so the probe does not steal a core.
            time.sleep(max(0.005, 4 * (now - probe)))
    assert first is not None
    driver.reset()
    return {"jobs_per_s": count / max(now - first, 1e-9), "wall_s": now - launched}


def measure_latency(driver: Driver, jobs: int, spacing: float = 0.02,
                    warmup_timeout: float = 120.0) -> dict[str, float]:
    """Idle workers; dispatch ``jobs`` jobs ``spacing`` apart; p50/p99 of dispatch-to-start."""
    driver.reset()
    with tempfile.TemporaryDirectory(prefix="capataz-bench-") as tmp:
        pickups = Path(tmp) / "pickups"
        with workers(driver.worker_commands(WORKER_PROCESSES),
                     {PICKUP_FILE_ENV: str(pickups)}) as started:
            _warm_up(driver, pickups, started, warmup_timeout)
            pickups.unlink()
            begin = time.perf_counter()
            for index in range(jobs):
                pause = begin + index * spacing - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                driver.dispatch_pickup(time.time())
            waited = _read_pickups(pickups, jobs, started)
    driver.reset()
    return {"p50_ms": percentile(waited, 0.5) * 1000, "p99_ms": percentile(waited, 0.99) * 1000}


def _warm_up(driver: Driver, pickups: Path, started: Sequence[subprocess.Popen[bytes]],
             timeout: float) -> None:
    """Wait until the workers run jobs, then let every process settle into idle."""
    deadline = time.perf_counter() + timeout
    while not (pickups.exists() and pickups.stat().st_size):
        _check_alive(started)
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the workers ran no job in {timeout:.0f} s")
        driver.dispatch_pickup(time.time())
        time.sleep(0.25)
    time.sleep(2.0)  # the other processes of the pool finish starting
    while driver.pending():
        _check_alive(started)
        if time.perf_counter() > deadline:
            raise TimeoutError("the warm-up jobs did not drain")
        time.sleep(0.05)
    time.sleep(0.5)


def _read_pickups(path: Path, jobs: int, started: Sequence[subprocess.Popen[bytes]],
                  timeout: float = 60.0) -> list[float]:
    deadline = time.perf_counter() + timeout
    while True:
        lines = path.read_text().split() if path.exists() else []
        if len(lines) >= jobs:
            return [float(line) for line in lines[:jobs]]
        _check_alive(started)
        if time.perf_counter() > deadline:
            raise TimeoutError(f"only {len(lines)} of {jobs} latency jobs ran")
        time.sleep(0.05)

