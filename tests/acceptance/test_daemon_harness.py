"""Driving the real ``capatazd`` console script from outside (helpers, no tests here)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILDREN = ROOT / "tests" / "fixtures" / "children"
CAPATAZD = str(Path(sys.executable).with_name("capatazd"))
SEED = ROOT / "examples" / "seed-supervisor.conf"


def seed_config(tmp_path: Path, *, extra: str = "", loglevel: str = "info") -> Path:
    """The seed's supervisor.conf with a Python stand-in worker and paths in tmp_path."""
    replaced = {
        "command": f"command={sys.executable} {CHILDREN / 'worker.py'} 0.5",
        "stdout_logfile": f"stdout_logfile={tmp_path / 'supervisor.log'}",
    }
    lines = []
    for line in SEED.read_text().splitlines():
        key = line.split("=", 1)[0].strip()
        if key != "user":
            lines.append(replaced.get(key, line))
    header = (
        "[supervisord]\n"
        f"logfile={tmp_path / 'capatazd.log'}\n"
        f"pidfile={tmp_path / 'capatazd.pid'}\n"
        f"childlogdir={tmp_path}\n"
        f"loglevel={loglevel}\n\n"
        f"[unix_http_server]\nfile={tmp_path / 'capatazd.sock'}\n\n"
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
        f"[supervisorctl]\nserverurl=unix://{tmp_path / 'capatazd.sock'}\n\n"
    )
    path = tmp_path / "supervisord.conf"
    path.write_text(header + "\n".join(lines) + "\n" + extra)
    return path


def wait_until(condition: Callable[[], object], within: float = 30.0) -> None:
    """Poll until true; ``within`` only bounds a broken test, it measures nothing."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within}s")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def descendants(pid: int) -> list[int]:
    found = []
    todo = children(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children(child))
    return found


def kill_daemons_using(conf: Path) -> None:
    """SIGKILL every capatazd started with ``conf`` and its descendants (test cleanup)."""
    needle = str(conf).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"capatazd" in cmdline and needle in cmdline and b"unshare" not in cmdline:
            pid = int(entry.name)
            for victim in [pid, *descendants(pid)]:
                with contextlib.suppress(OSError):
                    os.kill(victim, signal.SIGKILL)


class DaemonLog:
    """The daemon's own log file, read for what it says about processes."""

    SPAWNED = re.compile(r"spawned: '([^']+)' with pid (\d+)")

    def __init__(self, path: Path) -> None:
        self.path = path

    def text(self) -> str:
        try:
            return self.path.read_text()
        except FileNotFoundError:
            return ""

    def pids(self) -> dict[str, int]:
        """The latest pid spawned for each process name."""
        return {name: int(pid) for name, pid in self.SPAWNED.findall(self.text())}

    def running(self) -> set[str]:
        """Names whose latest event is entering RUNNING."""
        state: dict[str, bool] = {}
        for line in self.text().splitlines():
            if match := self.SPAWNED.search(line):
                state[match.group(1)] = False
            elif match := re.search(r"success: (\S+) entered RUNNING", line):
                state[match.group(1)] = True
            elif match := re.search(r"(exited|stopped): (\S+) ", line):
                state[match.group(2)] = False
        return {name for name, up in state.items() if up}


@contextlib.contextmanager
def capatazd(*args: str, cwd: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``capatazd`` and, whatever happens, leave no process of it behind."""
    proc = subprocess.Popen([CAPATAZD, *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    seen: set[int] = set()
    try:
        yield proc
    finally:
        seen.update(descendants(proc.pid))
        with contextlib.suppress(OSError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()
        for pid in seen:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for arg in args:
            if arg.endswith(".conf"):
                kill_daemons_using(Path(arg))


def start_seed(tmp_path: Path, **kwargs: str) -> tuple[Path, DaemonLog]:
    return seed_config(tmp_path, **kwargs), DaemonLog(tmp_path / "capatazd.log")


WORKERS = [f"laravel-worker_{n:02d}" for n in range(8)]
