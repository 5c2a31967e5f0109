"""The seed's configuration under the real ``capatazd -n -c ...``, driven with signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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
            # A worker still importing (slow under coverage on a busy machine) holds a
            # source file open for a moment; a descriptor leaked by the daemon stays.
            def only_standard_fds(pid: int = pid) -> bool:
                return sorted(int(fd) for fd in os.listdir(f"/proc/{pid}/fd")) == [0, 1, 2]

            wait_until(only_standard_fds, within=15)
            for fd in (0, 1, 2):
                assert os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:")


def test_the_real_supervisorctl_drives_the_daemon(tmp_path: Path) -> None:
    """Supervisor's own supervisorctl and capatazctl both see and control the workers."""
    conf, log = start_seed(tmp_path)
    bindir = Path(sys.executable).parent

    def ctl(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(bindir / tool), "-c", str(conf), *args], capture_output=True,
                              text=True, timeout=60, check=False)

    with capatazd("-n", "-c", str(conf)) as daemon:
        wait_until(lambda: log.running() == set(WORKERS))
        for tool in ("supervisorctl", "capatazctl"):
            status = ctl(tool, "status")
            assert status.returncode == 0, status.stdout + status.stderr
            rows = [line.split() for line in status.stdout.splitlines()]
            assert [(r[0], r[1]) for r in rows] == [
                (f"laravel-worker:{w}", "RUNNING") for w in WORKERS]
        first = "laravel-worker:laravel-worker_00"
        assert "stopped" in ctl("supervisorctl", "stop", first).stdout
        assert "STOPPED" in ctl("supervisorctl", "status", first).stdout
        assert "started" in ctl("supervisorctl", "start", first).stdout
        assert "Shut down" in ctl("supervisorctl", "shutdown").stdout
        assert daemon.wait(30) == 0


def test_an_eventlistener_from_the_file_hears_a_worker_die(tmp_path: Path) -> None:
    """[eventlistener:x] runs under capatazd and gets PROCESS_STATE events, as superlance's
    crashmail would when a worker is killed."""
    record = tmp_path / "events"
    listener = (
        "[eventlistener:watch]\n"
        f"command={sys.executable} {Path(__file__).parents[1] / 'fixtures/children/listener.py'}"
        f" {record}\n"
        "events=PROCESS_STATE_EXITED\n"
    )
    conf, log = start_seed(tmp_path, extra=listener)
    with capatazd("-n", "-c", str(conf)):
        wait_until(lambda: log.running() >= set(WORKERS) | {"watch"})
        victim = log.pids()["laravel-worker_05"]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: record.exists() and "laravel-worker_05" in record.read_text())
    event = record.read_text().splitlines()[0].split(" ", 2)
    assert event[1] == "PROCESS_STATE_EXITED"
    assert event[2] == ("processname:laravel-worker_05 groupname:laravel-worker "
                        f"from_state:RUNNING expected:0 pid:{victim}")
