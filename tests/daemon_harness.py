"""supervisord (Supervisor 4.3.0, the oracle) or capatazd, run alike for a test.

A :class:`Daemon` runs in the foreground in its own directory under one config:
a UNIX socket, a password-protected TCP port, and a small set of programs chosen
to reach every state supervisorctl reports. ``ctl`` runs the real supervisorctl
(or capatazctl) against it and normalizes what changes from run to run (pids,
uptimes, dates, the directory), so two daemons' answers compare as text.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from socket import socket

BIN = Path(sys.executable).parent
PASSWORD = "s3cret"  # noqa: S105 - a throwaway password for test daemons
READY = ("status", "sleeper")

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

#: PROGRAMS after an edit: one program changed, one renamed, one added.
CHANGED = (
    PROGRAMS.replace("[program:sleeper]\ncommand=sleep 1000", "[program:sleeper]\n"
                     "command=sleep 2000")
    .replace("[program:once]\n", "[program:gone]\n")
    + "\n[program:newp]\ncommand=sleep 1000\nstartsecs=0\n"
)

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


def free_port() -> int:
    with socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Daemon:
    """``kind`` ("supervisord" or "capatazd") serving from ``directory``."""

    kind: str
    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.directory / "supervisord.conf"

    @property
    def socket_path(self) -> Path:
        return self.directory / "supervisor.sock"

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_config(self, programs: str = PROGRAMS) -> Path:
        self.config.write_text(f"""
[unix_http_server]
file={self.socket_path}

[inet_http_server]
port=127.0.0.1:{self.port}
username=admin
password={PASSWORD}

[supervisord]
logfile={self.directory}/supervisord.log
pidfile={self.directory}/supervisord.pid
childlogdir={self.directory}
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{self.socket_path}
{programs}
""")
        return self.config

    def start(self, programs: str = PROGRAMS, ready: tuple[str, ...] = READY) -> None:
        self.write_config(programs)
        self.process = subprocess.Popen([str(BIN / self.kind), "-c", str(self.config)],
                                        cwd=self.directory, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.wait_until_serving(ready=ready)

    def wait_until_serving(self, timeout: float = 20.0, ready: tuple[str, ...] = READY) -> None:
        """Until ``ready`` succeeds (by default: the autostarted ``sleeper`` is RUNNING)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.process.returncode}")
            if self.socket_path.exists() and self.supervisorctl(*ready)[1] == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.kind} did not start serving in time")

    def ctl(self, tool: str, *args: str) -> tuple[str, int]:
        """``tool -c <config> <args>``: (normalized output, exit code)."""
        done = subprocess.run([str(BIN / tool), "-c", str(self.config), *args],
                              capture_output=True, text=True, timeout=60, check=False)
        output = (done.stdout + done.stderr).replace(str(self.directory), "DIR")
        return normalize(output), done.returncode

    def supervisorctl(self, *args: str) -> tuple[str, int]:
        return self.ctl("supervisorctl", *args)

    def capatazctl(self, *args: str) -> tuple[str, int]:
        return self.ctl("capatazctl", *args)

    def pid(self, name: str) -> int:
        done = subprocess.run([str(BIN / "supervisorctl"), "-c", str(self.config), "pid", name],
                              capture_output=True, text=True, timeout=60, check=False)
        return int(done.stdout.strip())

    def stop(self) -> None:
        """SIGTERM (the daemon stops its children), SIGKILL after 20 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def running(kind: str, directory: Path, programs: str = PROGRAMS,
            ready: tuple[str, ...] = READY) -> Iterator[Daemon]:
    """Start ``kind`` in ``directory``; stop it (and its children) on exit."""
    daemon = Daemon(kind, directory, free_port())
    try:
        daemon.start(programs, ready)
        yield daemon
    finally:
        daemon.stop()
