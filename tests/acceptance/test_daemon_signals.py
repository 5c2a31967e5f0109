"""capatazd's signals, daemonizing, flags, and PID 1 duty, from outside."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tests.acceptance.test_daemon_harness import (
    CAPATAZD,
    CHILDREN,
    WORKERS,
    DaemonLog,
    alive,
    capatazd,
    children,
    kill_daemons_using,
    start_seed,
    wait_until,
)


def test_sighup_restarts_every_worker_in_the_same_daemon(tmp_path: Path) -> None:
    """SIGHUP: workers restarted with new pids, the file read again (its new loglevel
    applies); the daemon's pid stays."""
    conf, log = start_seed(tmp_path)
    with capatazd("-n", "-c", str(conf)) as daemon:
        wait_until(lambda: log.running() == set(WORKERS))
        before = log.pids()
        assert " DEBG " not in log.text()
        conf.write_text(conf.read_text().replace("loglevel=info", "loglevel=debug"))
        daemon.send_signal(signal.SIGHUP)
        wait_until(lambda: log.running() == set(WORKERS)
                   and all(log.pids()[w] != before[w] for w in WORKERS))
        assert "received SIGHUP indicating restart request" in log.text()
        wait_until(lambda: " DEBG " in log.text())
        assert daemon.poll() is None
        assert not any(alive(pid) for pid in before.values())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGQUIT])
def test_sigint_and_sigquit_stop_like_sigterm(tmp_path: Path, signum: int) -> None:
    """SIGINT and SIGQUIT are exit requests too: stop everything, exit 0."""
    conf, log = start_seed(tmp_path)
    with capatazd("-n", "-c", str(conf)) as daemon:
        wait_until(lambda: log.running() == set(WORKERS))
        daemon.send_signal(signum)
        assert daemon.wait(30) == 0


def test_sigusr2_reopens_the_logs(tmp_path: Path) -> None:
    """After an outside rotation (rename), SIGUSR2 makes both logs start new files."""
    conf, log = start_seed(tmp_path)
    shared = tmp_path / "supervisor.log"
    with capatazd("-n", "-c", str(conf)) as daemon:
        wait_until(lambda: log.running() == set(WORKERS))
        shared.rename(tmp_path / "supervisor.log.1")
        (tmp_path / "capatazd.log").rename(tmp_path / "capatazd.log.1")
        daemon.send_signal(signal.SIGUSR2)
        wait_until(lambda: shared.exists() and shared.stat().st_size > 0)
        wait_until((tmp_path / "capatazd.log").exists)
        assert "log reopen request" in (tmp_path / "capatazd.log.1").read_text()


def test_without_nodaemon_it_daemonizes(tmp_path: Path) -> None:
    """No -n: returns 0 at once; the daemon runs on in -d under its pidfile's pid, and
    reloads on SIGHUP though -c was relative (where supervisord's reload fails)."""
    conf, log = start_seed(tmp_path)
    pidfile = tmp_path / "capatazd.pid"
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    result = subprocess.run([CAPATAZD, "-c", conf.name, "-d", str(elsewhere)], cwd=tmp_path,
                            capture_output=True, timeout=30, check=False)
    try:
        assert result.returncode == 0, result.stderr
        wait_until(lambda: pidfile.exists() and pidfile.read_text().strip())
        pid = int(pidfile.read_text())
        wait_until(lambda: log.running() == set(WORKERS))
        assert os.getsid(pid) == pid, "a new session, away from the terminal"
        assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
        assert Path(f"/proc/{pid}/cwd").resolve() == elsewhere.resolve()
        before = log.pids()
        os.kill(pid, signal.SIGHUP)  # the relative -c path still works from -d
        wait_until(lambda: log.running() == set(WORKERS)
                   and all(log.pids()[w] != before[w] for w in WORKERS))
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not alive(pid))
    finally:
        kill_daemons_using(conf)
    assert not any(alive(p) for p in log.pids().values())


def test_command_line_overrides_the_file(tmp_path: Path) -> None:
    """-l, -j, -e, -i, -q and -y/-z take precedence over [supervisord]."""
    conf, _ = start_seed(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    log = DaemonLog(other / "d.log")
    args = ["-n", "-c", str(conf), "-l", str(other / "d.log"), "-j", str(other / "d.pid"),
            "-e", "debug", "-i", "ident", "-q", str(other), "-y", "1MB", "-z", "2", "-s",
            "-m", "022", "-a", "1024", "--minprocs", "100", "-k"]
    with capatazd(*args) as daemon:
        wait_until(lambda: log.running() == set(WORKERS))
        assert (other / "d.pid").read_text().strip() == str(daemon.pid)
        assert " DEBG " in log.text()
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0
        assert daemon.stdout is not None
        assert daemon.stdout.read() == b"", "-s: nothing on stdout"


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["-c", "/no/such.conf"], 2, "does not exist"),
        (["-y", "lots"], 1, "takes a size like 50MB"),
        (["-m", "999"], 1, "octal"),
        (["-e", "loud"], 1, "unknown loglevel 'loud'"),
        (["-l", "/no/such/dir/d.log"], 1, "can't open the log file"),
        (["-u", "no-such-user-here"], 1, "can't find user"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(
    tmp_path: Path, args: list[str], status: int, message: str
) -> None:
    """Bad flags or files: a one-line reason and a non-zero status, never a traceback."""
    conf, _ = start_seed(tmp_path)
    command = [CAPATAZD, "-n", *(args if args[0] == "-c" else ["-c", str(conf), *args])]
    result = subprocess.run(command, capture_output=True, timeout=30, check=False)
    assert result.returncode == status
    assert message in result.stderr.decode()
    assert b"Traceback" not in result.stderr


ORPHAN_MAKER = f"""
[program:orphans]
command=/bin/sh -c "({sys.executable} {CHILDREN / 'exit_with.py'} 0 0.5 &); exec sleep 600"
startsecs=0
"""


def _zombies(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":
            found.append(child)
    return found


def test_orphans_are_adopted_and_reaped(tmp_path: Path) -> None:
    """As a child subreaper the daemon adopts a worker's orphan and reaps it: no zombie."""
    conf, log = start_seed(tmp_path, extra=ORPHAN_MAKER, loglevel="debug")
    with capatazd("-n", "-c", str(conf)) as daemon:
        wait_until(lambda: "reaped unknown pid" in log.text())
        assert _zombies(daemon.pid) == []
        assert "orphans" in log.running()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare to make a PID namespace")
def test_as_pid_1_it_reaps_every_orphan_and_stops_cleanly(tmp_path: Path) -> None:
    """In a new PID namespace capatazd is PID 1: orphans are reaped, SIGTERM ends it all."""
    conf, log = start_seed(tmp_path, extra=ORPHAN_MAKER, loglevel="debug")
    command = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", CAPATAZD, "-n",
               "-c", str(conf)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_until(lambda: children(proc.pid))
        daemon = children(proc.pid)[0]
        status = Path(f"/proc/{daemon}/status").read_text()
        nspid = next(line for line in status.splitlines() if line.startswith("NSpid:"))
        assert nspid.split()[-1] == "1", "PID 1 in its namespace"
        wait_until(lambda: "reaped unknown pid" in log.text()
                   and log.running() >= set(WORKERS))
        assert _zombies(daemon) == []
        workers = children(daemon)
        os.kill(daemon, signal.SIGTERM)
        assert proc.wait(30) == 0
        assert not any(alive(pid) for pid in workers)
    finally:
        kill_daemons_using(conf)
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
