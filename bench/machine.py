"""Facts about the machine a run happened on, read from /proc and the interpreter."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def _first(path: str, prefix: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def cpu_model() -> str:
    return _first("/proc/cpuinfo", "model name")


def memory_gib() -> str:
    total = _first("/proc/meminfo", "MemTotal")
    try:
        return f"{int(total.split()[0]) / 1024 / 1024:.1f} GiB"
    except (ValueError, IndexError):
        return total


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def command_version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "absent"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def facts() -> dict[str, str]:
    return {
        "CPU": cpu_model(),
        "cores": str(os.cpu_count()),
        "RAM": memory_gib(),
        "kernel": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "load average at start": load_average(),
        "Redis server": command_version(["redis-server", "--version"]),
        "PostgreSQL": command_version(["psql", "--version"]),
        "SQLite": __import__("sqlite3").sqlite_version,
    }
