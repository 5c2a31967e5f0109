"""A real supervisord (Supervisor 4.3.0, the oracle) in a temporary directory.

It serves a UNIX socket and a password-protected TCP port, and runs a small
set of programs chosen to reach every state supervisorctl reports.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
PASSWORD = "s3cret"  # noqa: S105 - a throwaway password for a test daemon

PROGRAMS = """
[program:sleeper]
command=sleep 1000
startsecs=0

[program:once]
; lives 0.5 s: long enough to be seen RUNNING (with `true`, whether supervisord
; sees it RUNNING before it exits is a race), short enough to be EXITED soon after
command=sh -c 'sleep 0.5'
autostart=false
startsecs=0
autorestart=false

[program:bad]
command=/nonexistent/prog
autostart=false

[program:crash]
command=sh -c 'exit 3'
autostart=false
startsecs=1
startretries=0

[group:grp]
programs=a,b

[program:a]
command=sleep 1000
startsecs=0

[program:b]
command=sh -c 'echo hello; echo oops >&2; exec sleep 1000'
startsecs=0
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Oracle:
    """A running supervisord and how to reach it."""

    directory: Path
    config: Path
    socket_path: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def supervisorctl(self, *args: str) -> tuple[str, int]:
        """The real supervisorctl: (normalized output, exit code)."""
        done = subprocess.run(
            [str(BIN / "supervisorctl"), "-c", str(self.config), *args],
            capture_output=True, text=True, timeout=60, check=False,
        )
        return normalize(done.stdout + done.stderr), done.returncode

    def capatazctl(self, *args: str) -> tuple[str, int]:
        done = subprocess.run(
            [str(BIN / "capatazctl"), "-c", str(self.config), *args],
            capture_output=True, text=True, timeout=60, check=False,
        )
        return normalize(done.stdout + done.stderr), done.returncode


_NORMALIZERS = [
    (re.compile(r"pid \d+, uptime [\d:]+(?: day[s]?, [\d:]+)?"), "pid N, uptime T"),
    (re.compile(r"uptime \d+ days?, [\d:]+"), "uptime T"),
    (re.compile(r"[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M"), "DATE"),
    (re.compile(r"^\d+$", re.MULTILINE), "PID"),
    (re.compile(r": file: \S+ line: \d+"), ""),
    (re.compile(r"For help, use \S+ -h"), "For help, use PROG -h"),
]


def normalize(text: str) -> str:
    for pattern, replacement in _NORMALIZERS:
        text = pattern.sub(replacement, text)
    return text


def write_config(directory: Path, port: int, programs: str = PROGRAMS) -> Path:
    config = directory / "supervisord.conf"
    config.write_text(
        f"""
[unix_http_server]
file={directory}/supervisor.sock

[inet_http_server]
port=127.0.0.1:{port}
username=admin
password={PASSWORD}

[supervisord]
logfile={directory}/supervisord.log
pidfile={directory}/supervisord.pid
childlogdir={directory}
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{directory}/supervisor.sock
{programs}
"""
    )
    return config


def wait_until_serving(oracle: Oracle, timeout: float = 20.0,
                       ready: tuple[str, ...] = ("status", "sleeper")) -> None:
    """Until ``ready`` succeeds (by default: the autostarted ``sleeper`` is RUNNING)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if oracle.process.poll() is not None:
            raise RuntimeError(f"supervisord exited with {oracle.process.returncode}")
        if oracle.socket_path.exists():
            _, code = oracle.supervisorctl(*ready)
            if code == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("supervisord did not start serving in time")


@contextlib.contextmanager
def running_oracle(directory: Path, programs: str = PROGRAMS,
                   ready: tuple[str, ...] = ("status", "sleeper")) -> Iterator[Oracle]:
    """Start supervisord in ``directory``; stop it (and its children) on exit."""
    port = free_port()
    config = write_config(directory, port, programs)
    process = subprocess.Popen(
        [str(BIN / "supervisord"), "-c", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=directory,
    )
    server = Oracle(directory, config, directory / "supervisor.sock", port, process)
    try:
        wait_until_serving(server, ready=ready)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Oracle]:
    directory = Path(tmp_path_factory.mktemp("sup"))
    with running_oracle(directory) as server:
        yield server
    shutil.rmtree(directory, ignore_errors=True)
