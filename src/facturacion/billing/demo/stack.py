"""The processes of the demo: capatazd running the example config, or a stand-in for it.

capatazd is preferred. When it cannot run the configuration (an older build that
answers "not built yet", or a daemon that exits at once) the demo says so and starts
the same programs itself as plain subprocesses, restarting a worker that dies as
``autorestart=true`` would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from facturacion.billing.errors import BillingError


class Stack(Protocol):
    mode: str

    def alive(self) -> bool: ...
    def worker_pids(self) -> list[int]: ...
    def tend(self) -> None: ...
    def stop(self) -> None: ...


@dataclass(frozen=True)
class Programs:
    """The commands and environment the example config describes, already expanded."""

    config: Path
    capatazd: str
    worker: list[str]
    simulator: list[str]
    mailserver: list[str]
    environment: dict[str, str]
    logs: Path
    numprocs: int = 8


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop_process(process: subprocess.Popen[bytes], grace: float) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _children(parent: int, marker: str) -> list[int]:
    """Pids whose parent is ``parent`` and whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        # The command name in stat may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == parent and marker in cmdline:
            found.append(int(entry.name))
    return sorted(found)


@dataclass
class DaemonStack:
    """capatazd -n with the demo's supervisor.conf, in its own session."""

    process: subprocess.Popen[bytes]
    mode: str = "capatazd"

    def alive(self) -> bool:
        return self.process.poll() is None

    def worker_pids(self) -> list[int]:
        return _children(self.process.pid, " work ")

    def tend(self) -> None:
        """capatazd restarts what dies; nothing to do here."""

    def stop(self) -> None:
        # SIGTERM to capatazd alone: it stops its programs as the config says.
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                _stop_process(self.process, 0)


@dataclass
class SubprocessStack:
    """The same programs started and kept alive by the demo itself."""

    programs: Programs
    log: IO[bytes]
    services: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    mode: str = "subprocesses"

    def _spawn(self, argv: Sequence[str], output: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv, env=self.programs.environment, stdout=output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

    def start(self) -> SubprocessStack:
        for argv, name in ((self.programs.simulator, "sunat-simulator"),
                           (self.programs.mailserver, "mailserver")):  # fmt: skip
            with (self.programs.logs / f"{name}.log").open("ab") as output:
                self.services.append(self._spawn(argv, output))
        self.workers = [self._spawn(self.programs.worker, self.log)
                        for _ in range(self.programs.numprocs)]  # fmt: skip
        return self

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.services)

    def worker_pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.poll() is None]

    def tend(self) -> None:
        self.workers = [
            w if w.poll() is None else self._spawn(self.programs.worker, self.log)
            for w in self.workers
        ]

    def stop(self) -> None:
        for process in self.workers + self.services:
            _stop_process(process, 60)
        self.log.close()


def start_stack(
    programs: Programs,
    ready: Callable[[], bool],
    say: Callable[[str], None],
    *,
    wait: float = 60.0,
) -> Stack:
    """Start capatazd and wait until ``ready()``; fall back to plain subprocesses."""
    programs.logs.mkdir(parents=True, exist_ok=True)
    with (programs.logs / "capatazd.stdout.log").open("ab") as output:
        daemon = subprocess.Popen(
            [programs.capatazd, "-c", str(programs.config), "-n"], stdout=output,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + wait
    try:
        while time.monotonic() < deadline:
            if daemon.poll() is not None:
                break
            if ready():
                return DaemonStack(daemon)
            time.sleep(0.2)
    except BaseException:  # Ctrl-C while waiting: leave nothing running behind
        DaemonStack(daemon).stop()
        raise
    code = daemon.poll()
    DaemonStack(daemon).stop()  # it stops its own programs; killpg would orphan them
    reason = f"exited with status {code}" if code is not None else f"was not ready in {wait:g}s"
    say(f"capatazd {reason} (see {programs.logs / 'capatazd.stdout.log'}); starting the "
        f"{programs.numprocs} workers, the SUNAT simulator and the mail server as plain "
        "subprocesses instead")  # fmt: skip
    stack = SubprocessStack(programs, (programs.logs / "supervisor.log").open("ab")).start()
    deadline = time.monotonic() + wait
    while not ready():
        if time.monotonic() > deadline or not stack.alive():
            stack.stop()
            raise BillingError(
                f"the SUNAT simulator or the mail server did not start; see {programs.logs}"
            )
        time.sleep(0.2)
    return stack
