"""Shared plumbing for the daemon's integration tests: configs and a running Supervisor."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from capataz.config.model import (
    ChannelLog,
    Config,
    GroupConfig,
    GroupKind,
    ProcessConfig,
    SupervisordConfig,
)
from capataz.supervisor import Supervisor

CHILDREN = Path(__file__).resolve().parents[2] / "fixtures" / "children"
PYTHON = sys.executable


def child(script: str, *args: object) -> str:
    return " ".join([PYTHON, str(CHILDREN / script), *map(str, args)])


def program(
    name: str, command: str, *, numprocs: int = 1, priority: int = 999, **options: Any
) -> GroupConfig:
    options.setdefault("stdout", ChannelLog(logfile=None))
    options.setdefault("stderr", ChannelLog(logfile=None))
    processes = tuple(
        ProcessConfig(
            name=name if numprocs == 1 else f"{name}_{n:02d}",
            program_name=name,
            group_name=name,
            command=command,
            process_num=n,
            numprocs=numprocs,
            priority=priority,
            **options,
        )
        for n in range(numprocs)
    )
    return GroupConfig(name, priority, GroupKind.PROGRAM, processes)


def config(tmp_path: Path, *groups: GroupConfig, **settings: Any) -> Config:
    settings.setdefault("childlogdir", str(tmp_path))
    return Config(path=str(tmp_path / "test.conf"), supervisord=SupervisordConfig(**settings),
                  groups=groups)


async def wait_for(condition: Callable[[], bool], within: float = 20.0) -> None:
    """Poll until ``condition()``; the timeout only bounds a broken test."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.02)


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@contextlib.asynccontextmanager
async def running(cfg: Config, **kwargs: Any) -> AsyncIterator[Supervisor]:
    """A Supervisor running in this loop; on exit everything is stopped and reaped."""
    sup = Supervisor(cfg, **kwargs)
    task = asyncio.create_task(sup.run())
    try:
        await asyncio.sleep(0)
        yield sup
    finally:
        pids = [p.pid for p in sup.processes() if p.pid]
        sup.shutdown()
        try:
            await asyncio.wait_for(asyncio.shield(task), 30)
        finally:
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
            sup.close()
