"""Real worker processes on a real SQLite store in tmp_path; every process is reaped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from capataz.queue.backends.base import NewJob
from capataz.queue.backends.sqlite import SqliteBackend

ROOT = Path(__file__).resolve().parents[3]
JOBS_DIR = ROOT / "tests" / "fixtures" / "jobs"
CAPATAZ = Path(sys.executable).parent / "capataz"


def payload(job: str, uuid: str, *args: object, **extra: object) -> str:
    return json.dumps({"uuid": uuid, "job": job, "args": list(args), **extra})


@dataclass
class QueueSite:
    tmp: Path
    url: str
    runlog: Path
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    logs: dict[int, Path] = field(default_factory=dict)
    store: SqliteBackend | None = None

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

    def backend(self) -> SqliteBackend:
        """The test's own handle on the store (one, closed at teardown)."""
        if self.store is None:
            self.store = SqliteBackend(self.url.removeprefix("sqlite://"))
        return self.store

    def push(self, job: str, count: int, *args: object, prefix: str = "job", **extra: object
             ) -> list[str]:
        uuids = [f"{prefix}-{i:05d}" for i in range(count)]
        now = time.time()
        self.backend().push(
            [NewJob(u, "default", payload(job, u, *args, **extra), now) for u in uuids]
        )
        return uuids

    def worker(self, *flags: str, **env: str) -> subprocess.Popen[str]:
        """Start ``capataz work``; its output goes to worker-<n>.log (read it with ``log``)."""
        log = self.tmp / f"worker-{len(self.procs)}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [str(CAPATAZ), "work", *flags],
                env=self.env(**env),
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        self.procs.append(proc)
        self.logs[proc.pid] = log
        return proc

    def log(self, proc: subprocess.Popen[str]) -> str:
        return self.logs[proc.pid].read_text()

    def capataz(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CAPATAZ), *args], env=self.env(), capture_output=True, text=True, timeout=60,
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

    def wait_for(self, predicate, timeout: float = 60.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[QueueSite]:
    queue_site = QueueSite(tmp_path, f"sqlite://{tmp_path / 'queue.db'}", tmp_path / "runs.log")
    yield queue_site
    for proc in queue_site.procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    if queue_site.store is not None:
        queue_site.store.close()
