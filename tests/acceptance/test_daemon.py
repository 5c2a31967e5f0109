"""The seed's configuration under the real ``capatazd -n -c ...``, driven with signals."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.acceptance.test_daemon_harness import (
    WORKERS,
    alive,
    capatazd,
    children,
    start_seed,
    wait_until,
)


def test_seed_workers_run_and_a_killed_one_comes_back(tmp_path: Path) -> None:
    """laravel-worker_00 … _07 reach RUNNING; one killed with SIGKILL returns with a new pid."""
    conf, log = start_seed(tmp_path)
    with capatazd("-n", "-c", str(conf)) as daemon:
        wait_until(lambda: log.running() == set(WORKERS))
        pids = log.pids()
        assert sorted(children(daemon.pid)) == sorted(pids.values())
        victim = pids["laravel-worker_03"]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: log.pids()["laravel-worker_03"] != victim
                   and "laravel-worker_03" in log.running())
        assert "exited: laravel-worker_03 (terminated by SIGKILL; not expected)" in log.text()
        assert alive(log.pids()["laravel-worker_03"])
        assert all(log.pids()[w] == pids[w] for w in WORKERS if w != "laravel-worker_03")
        lines = (tmp_path / "supervisor.log").read_text().splitlines()
        assert {line.split()[0] for line in lines} == set(WORKERS)


def test_sigterm_stops_everything_and_exits_0(tmp_path: Path) -> None:
    """SIGTERM: every worker stopped, the pidfile removed, exit status 0, nothing left."""
    conf, log = start_seed(tmp_path)
    with capatazd("-n", "-c", str(conf)) as daemon:
        wait_until(lambda: log.running() == set(WORKERS))
        pids = list(log.pids().values())
        assert (tmp_path / "capatazd.pid").read_text().strip() == str(daemon.pid)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0
        assert not any(alive(pid) for pid in pids)
        assert not (tmp_path / "capatazd.pid").exists()
        text = log.text()
        assert "received SIGTERM indicating exit request" in text
        assert text.count("stopped: laravel-worker_") == 8


def test_sigkill_to_the_daemon_leaves_no_worker_behind(tmp_path: Path) -> None:
    """The daemon killed outright: the kernel's parent-death signal ends every worker."""
    conf, log = start_seed(tmp_path)
    with capatazd("-n", "-c", str(conf)) as daemon:
        wait_until(lambda: log.running() == set(WORKERS))
        pids = list(log.pids().values())
        daemon.kill()
        daemon.wait(30)
        wait_until(lambda: not any(alive(pid) for pid in pids), within=10)


def test_daemon_descriptors_do_not_reach_the_workers(tmp_path: Path) -> None:
    """Each worker holds only stdin, stdout and stderr: pipes to the daemon, nothing else."""
    conf, log = start_seed(tmp_path)
    with capatazd("-n", "-c", str(conf)):
        wait_until(lambda: log.running() == set(WORKERS))
        for pid in log.pids().values():
            assert sorted(int(fd) for fd in os.listdir(f"/proc/{pid}/fd")) == [0, 1, 2]
            for fd in (0, 1, 2):
                assert os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:")
