"""Real `capataz work` processes on one store, and what their jobs wrote down.

The jobs of ``tests/fixtures/jobs/queue_test_jobs.py`` append ``<pid> <uuid> <event>``
to one run log; a :class:`WorkerSite` starts workers against a store URL (SQLite,
PostgreSQL or Redis), reads that log back, and reaps every process it started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from capataz.queue.backends.base import Backend, NewJob
from capataz.queue.connections import open_backend

ROOT = Path(__file__).resolve().parents[2]
JOBS_DIR = ROOT / "tests" / "fixtures" / "jobs"
CAPATAZ = Path(sys.executable).parent / "capataz"


def payload(job: str, uuid: str, *args: object) -> str:
    return json.dumps({"uuid": uuid, "job": job, "args": list(args)})


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class WorkerSite:
    """A store plus `capataz work` processes writing one run log (see queue_test_jobs)."""

    tmp: Path
    url: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: dict[int, Path] = field(default_factory=dict)
    store: Backend | None = None

    @property
    def runlog(self) -> Path:
        return self.tmp / "runs.log"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            CAPATAZ_QUEUE_URL=self.url,
            CAPATAZ_APP="queue_test_jobs",
            CAPATAZ_TEST_RUNLOG=str(self.runlog),
            PYTHONPATH=os.pathsep.join(filter(None, [str(JOBS_DIR), env.get("PYTHONPATH")])),
        )
        env.update(extra)
        return env

    def backend(self) -> Backend:
        """The test's own handle on the store: one, opened when first asked, closed by close()."""
        if self.store is None:
            self.store = open_backend(self.url)
        return self.store

    def push(self, job: str, count: int, *args: object, prefix: str = "job") -> list[str]:
        # A handle of its own: a test may push before it restarts the store's server.
        uuids = [f"{prefix}-{i:05d}" for i in range(count)]
        store = open_backend(self.url)
        try:
            now = time.time()
            store.push([NewJob(u, "default", payload(job, u, *args), now) for u in uuids])
        finally:
            store.close()
        return uuids

    def worker(self, *flags: str, **env: str) -> subprocess.Popen[bytes]:
        """Start ``capataz work`` (``env``: more environment); its output goes to
        worker-<n>.log (read it with ``log``)."""
        # A file, not a pipe: a pipe nobody reads would fill up and stall the worker.
        log = self.tmp / f"worker-{len(self.procs)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([str(CAPATAZ), "work", *flags], env=self.env(**env),
                                    stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        self.logs[proc.pid] = log
        return proc

    def log(self, proc: subprocess.Popen[bytes]) -> str:
        return self.logs[proc.pid].read_text(errors="replace")

    def output(self) -> str:
        """Every worker's output, in the order they were started."""
        return "".join(self.log(proc) for proc in self.procs)

    def capataz(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``capataz <args>`` (an operator's command) against the store."""
        return subprocess.run(
            [str(CAPATAZ), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

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

    def close(self) -> None:
        """SIGKILL every worker still running, reap them all, close the test's handle."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
        if self.store is not None:
            self.store.close()
            self.store = None
