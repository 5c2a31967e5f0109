"""Start capatazd or supervisord on a config and talk to it over the unix socket."""

from __future__ import annotations

import contextlib
import http.client
import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from bench import proc, profiling
from bench.peers_env import PEER_BIN
from bench.scenario import NotBuilt, Unavailable

NOT_BUILT_EXIT = 70  # capataz.exitcodes.NOT_BUILT, the code of a command that has not landed
RUNNING = 20  # Supervisor's ProcessStates.RUNNING, the same number in capatazd's API
STARTUP_TIMEOUT = 60.0


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


class UnixTransport(xmlrpc.client.Transport):
    """xmlrpc.client over a unix socket, as supervisorctl talks to a local daemon."""

    def __init__(self, path: str, timeout: float = 300.0) -> None:
        super().__init__()
        self.unix_path = path
        self.io_timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        del host
        return UnixConnection(self.unix_path, self.io_timeout)


def rpc_proxy(socket_path: Path) -> Any:
    return xmlrpc.client.ServerProxy("http://localhost/RPC2",
                                     transport=UnixTransport(str(socket_path)))


@dataclass(frozen=True)
class DaemonKind:
    label: str
    argv: tuple[str, ...]
    is_capataz: bool = False  # only capataz's daemon is sampled by --profile


def capatazd() -> DaemonKind:
    return DaemonKind("capatazd", (str(Path(sys.executable).parent / "capatazd"), "-n"),
                      is_capataz=True)


def supervisord() -> DaemonKind:
    return DaemonKind("supervisord", (str(PEER_BIN / "supervisord"), "-n"))


@dataclass
class Daemon:
    kind: DaemonKind
    process: subprocess.Popen[bytes]
    directory: Path
    rpc: Any
    seen_children: dict[int, int] = field(default_factory=dict)  # pid -> start time

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self) -> str:
        chunks = []
        for name in ("stderr.log", "daemon.log"):
            with contextlib.suppress(OSError):
                chunks.append((self.directory / name).read_text(errors="replace")[-1500:])
        return "\n".join(chunks).strip()

    def all_info(self) -> list[dict[str, Any]]:
        return cast("list[dict[str, Any]]", self.rpc.supervisor.getAllProcessInfo())

    def sampled(self) -> contextlib.AbstractContextManager[None]:
        """py-spy on capataz's daemon under --profile; nothing for a peer."""
        if not self.kind.is_capataz:
            return nullcontext()
        return profiling.sampling(self.pid, self.kind.label)

    def remember_children(self, pids: set[int] | None = None) -> None:
        found = proc.children(self.pid) if pids is None else pids
        new = {pid for pid in found if pid not in self.seen_children}
        self.seen_children.update(proc.identities(new))


def _check_exit(daemon: Daemon) -> None:
    code = daemon.process.poll()
    if code is None:
        return
    if code == NOT_BUILT_EXIT:
        raise NotBuilt(f"{daemon.kind.label} exits {code}")
    raise RuntimeError(f"{daemon.kind.label} exited {code} at start:\n{daemon.log_tail()}")


RPC_FALLBACK = 2.0  # seconds between RPC checks while /proc shows too few children
SOCKET_GRACE = 15.0  # a daemon that runs but has no socket by then serves no RPC at all

# Daemons found not to serve the API in this harness run: later scenarios skip
# them at once instead of waiting SOCKET_GRACE again.
_NOT_SERVING: dict[str, str] = {}


def wait_ready(daemon: Daemon, timeout: float = STARTUP_TIMEOUT) -> None:
    """Return when the daemon answers supervisor.getState over its socket."""
    started = time.perf_counter()
    socket_path = daemon.directory / "rpc.sock"
    while True:
        _check_exit(daemon)
        if socket_path.exists():
            try:
                daemon.rpc.supervisor.getState()
            except (OSError, xmlrpc.client.ProtocolError, http.client.HTTPException):
                pass
            else:
                return
        elif time.perf_counter() - started > SOCKET_GRACE:
            reason = (f"{daemon.kind.label} runs but opens no XML-RPC socket "
                      f"([unix_http_server]) in {SOCKET_GRACE:.0f} s")
            _NOT_SERVING[daemon.kind.label] = reason
            raise NotBuilt(reason)
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{daemon.kind.label} did not answer in {timeout:.0f} s")
        time.sleep(0.005)


def wait_children(daemon: Daemon, count: int, timeout: float = STARTUP_TIMEOUT) -> None:
    """Wait until the daemon has ``count`` children, read from /proc, without waking it.

    An RPC poll would wake supervisord's loop early and flatter it, so the cheap
    phase watches /proc and only the last step asks the daemon itself. A daemon
    that starts programs through a helper never shows them as direct children, so
    the RPC is still asked every RPC_FALLBACK seconds.
    """
    started = time.perf_counter()
    asked = started
    while len(proc.children(daemon.pid)) < count:
        _check_exit(daemon)
        now = time.perf_counter()
        if now - started > timeout:
            raise TimeoutError(f"{daemon.kind.label} did not spawn {count} children")
        if now - asked > RPC_FALLBACK:
            asked = now
            with contextlib.suppress(OSError, xmlrpc.client.ProtocolError,
                                     http.client.HTTPException):
                if sum(p["state"] == RUNNING for p in daemon.all_info()) >= count:
                    break
        time.sleep(0.002)
    daemon.remember_children()


def wait_all_running(daemon: Daemon, count: int, timeout: float = STARTUP_TIMEOUT,
                     interval: float = 0.01) -> list[dict[str, Any]]:
    wait_children(daemon, count, timeout)
    deadline = time.perf_counter() + timeout
    while True:
        info = daemon.all_info()
        if len(info) >= count and all(p["state"] == RUNNING for p in info):
            daemon.remember_children({int(p["pid"]) for p in info})
            return info
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{daemon.kind.label}: not all {count} processes RUNNING")
        time.sleep(interval)


@contextlib.contextmanager
def running(kind: DaemonKind, config: Path, ready: bool = True, sample_start: bool = False
            ) -> Iterator[Daemon]:
    """Start the daemon in the foreground; on exit stop it and any child it left."""
    if kind.label in _NOT_SERVING:
        raise NotBuilt(_NOT_SERVING[kind.label])
    directory = config.parent
    with (directory / "stderr.log").open("wb") as errors:
        try:
            process = subprocess.Popen([*kind.argv, "-c", str(config)],
                                       stdin=subprocess.DEVNULL, stdout=errors, stderr=errors,
                                       start_new_session=True)
        except FileNotFoundError:
            missing = f"{kind.argv[0]} is not installed"
            raise NotBuilt(missing) if kind.is_capataz else Unavailable(missing) from None
    daemon = Daemon(kind, process, directory, rpc_proxy(directory / "rpc.sock"))
    # --profile samples the start only where the start is what is measured; the
    # other scenarios sample their measured part with Daemon.sampled().
    sampled = daemon.sampled() if sample_start else nullcontext()
    try:
        with sampled:
            if ready:
                wait_ready(daemon)
            yield daemon
    finally:
        stop(daemon)


def stop(daemon: Daemon, grace: float = 60.0) -> None:
    daemon.remember_children()
    if daemon.process.poll() is None:
        daemon.process.send_signal(signal.SIGTERM)
        try:
            daemon.process.wait(grace)
        except subprocess.TimeoutExpired:
            daemon.process.kill()
            daemon.process.wait()
    proc.kill_if_same(daemon.seen_children, signal.SIGKILL)
