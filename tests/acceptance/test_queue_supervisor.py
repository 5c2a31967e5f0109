"""Acceptance: the seed's setup, 8 ``capataz work --sleep=3 --tries=3`` under the real
Supervisor (supervisord from PyPI, driven with supervisorctl over a unix socket) and under
capatazd/capatazctl with the same generated configuration.

The workers drain a queue, every job running once; ``capataz queue:restart`` makes all
eight exit after their current job and Supervisor starts eight fresh ones (new pids).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from capataz.queue.backends.base import NewJob
from capataz.queue.backends.sqlite import SqliteBackend

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
JOBS_DIR = ROOT / "tests" / "fixtures" / "jobs"

CONFIG = """\
[unix_http_server]
file={tmp}/supervisor.sock

[supervisord]
logfile={tmp}/supervisord.log
pidfile={tmp}/supervisord.pid
childlogdir={tmp}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{tmp}/supervisor.sock

[program:worker]
process_name=%(program_name)s_%(process_num)02d
command={bin}/capataz work --sleep=3 --tries=3
numprocs=8
autostart=true
autorestart=true
startsecs=1
stopwaitsecs=60
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile={tmp}/worker_%(process_num)02d.log
environment=CAPATAZ_QUEUE_URL="sqlite://{tmp}/queue.db",CAPATAZ_APP="queue_test_jobs",PYTHONPATH="{jobs}",CAPATAZ_TEST_RUNLOG="{tmp}/runs.log"
"""


class Supervisor:
    def __init__(self, tmp: Path, daemon: str = "supervisord", ctl: str = "supervisorctl") -> None:
        self.daemon, self.ctl_name = daemon, ctl
        self.tmp = tmp
        self.conf = tmp / "supervisord.conf"
        self.conf.write_text(CONFIG.format(tmp=tmp, bin=BIN, jobs=JOBS_DIR))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(BIN / self.daemon), "-n", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )

    def ctl(self, *args: str) -> str:
        result = subprocess.run(
            [str(BIN / self.ctl_name), "-c", str(self.conf), *args],
            capture_output=True, text=True, timeout=30, check=False,
        )
        return result.stdout

    def running_pids(self) -> dict[str, int]:
        pids = {}
        for line in self.ctl("status").splitlines():
            match = re.match(r"(\S+)\s+RUNNING\s+pid (\d+),", line)
            if match:
                pids[match.group(1)] = int(match.group(2))
        return pids

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(params=[("supervisord", "supervisorctl"), ("capatazd", "capatazctl")],
                ids=["supervisor", "capatazd"])
def supervisor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Supervisor]:
    sup = Supervisor(tmp_path, *request.param)
    yield sup
    sup.stop()


def test_eight_workers_under_supervisor_drain_the_queue_and_restart(supervisor, tmp_path):
    """8 workers drain 400 jobs (each once); queue:restart replaces all 8 with new pids."""
    store = SqliteBackend(tmp_path / "queue.db")
    now = time.time()
    uuids = [f"job-{i:04d}" for i in range(400)]
    store.push([
        NewJob(u, "default", json.dumps({"uuid": u, "job": "tests.record", "args": [i]}), now)
        for i, u in enumerate(uuids)
    ])
    supervisor.start()
    wait_for(lambda: len(supervisor.running_pids()) == 8, 60, "8 RUNNING workers")
    wait_for(lambda: store.stats() == [], 60, "the queue to drain")
    runs = Counter(
        line.split()[1] for line in (tmp_path / "runs.log").read_text().splitlines()
        if line.endswith(" end")
    )
    assert set(runs) == set(uuids)
    assert set(runs.values()) == {1}

    before = supervisor.running_pids()
    time.sleep(1.2)  # past startsecs, so an exit is a normal one for Supervisor
    restart = subprocess.run(
        [str(BIN / "capataz"), "queue:restart", "--url", f"sqlite://{tmp_path}/queue.db"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert restart.returncode == 0, restart.stderr

    def all_replaced() -> bool:
        now_pids = supervisor.running_pids()
        return len(now_pids) == 8 and not set(now_pids.values()) & set(before.values())

    wait_for(all_replaced, 60, "all 8 workers to come back with new pids")

    def restart_lines() -> int:
        logs = "".join(p.read_text() for p in tmp_path.glob("worker_*.log"))
        return logs.count("stopping: queue:restart")

    wait_for(lambda: restart_lines() == 8, 10, "8 workers to log the restart")

    def started_lines() -> int:
        logs = "".join(p.read_text() for p in tmp_path.glob("worker_*.log"))
        return logs.count("processing queues")

    wait_for(lambda: started_lines() >= 16, 30, "the 8 new workers to be ready")
    # The fresh workers keep working.
    store.push([NewJob("after", "default",
                       json.dumps({"uuid": "after", "job": "tests.record"}), time.time())])
    wait_for(lambda: store.stats() == [], 30, "a job after the restart")
    store.close()
    # supervisorctl stop sends SIGTERM: every worker finishes and exits 0 (STOPPED, not killed).
    supervisor.ctl("stop", "all")
    assert supervisor.running_pids() == {}

    def stop_lines() -> int:
        # Supervisor may write a child's last output to its log just after reporting the exit.
        logs = "".join(p.read_text() for p in tmp_path.glob("worker_*.log"))
        return logs.count("stopping: a stop signal")

    wait_for(lambda: stop_lines() == 8, 10, "8 workers to log their graceful stop")
    supervisord_log = (tmp_path / "supervisord.log").read_text()
    assert len(re.findall(r"stopped: worker_\d\d \(exit status 0\)", supervisord_log)) == 8
