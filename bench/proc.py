"""Read a process's CPU time, memory and children from /proc (Linux)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (its own, not its children's)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"/proc/{pid}/status has no VmRSS line")


def children(pid: int) -> set[int]:
    """Direct children of every thread of ``pid``; empty once the process is gone."""
    found: set[int] = set()
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found.update(int(x) for x in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def start_time(pid: int) -> int | None:
    """Clock ticks since boot when ``pid`` started: with the pid, it names one process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[19])


def identities(pids: set[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for pid in pids:
        started = start_time(pid)
        if started is not None:
            out[pid] = started
    return out


def kill_if_same(identity: dict[int, int], sig: int) -> None:
    """Signal each process still alive that is the very one seen (pid reuse is ruled out)."""
    for pid, started in identity.items():
        if start_time(pid) == started and alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
