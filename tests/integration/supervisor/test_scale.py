"""Many processes, and a child that floods its output, under one event loop."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from tests.integration.supervisor.helpers import alive, child, config, program, running, wait_for

from capataz.config.model import ChannelLog
from capataz.supervisor import ProcessState

S = ProcessState


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def start_run_stop(tmp_path: Path, count: int) -> None:
    shared = ChannelLog(logfile=str(tmp_path / "many.log"))
    cfg = config(tmp_path, program("many", "/bin/sleep 600", numprocs=count, startsecs=1,
                                   stdout=shared, stderr=shared))
    before = open_fds()

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: all(p.state is S.RUNNING for p in sup.processes()),
                           within=110)
            pids = [p.pid for p in sup.processes()]
            assert len(set(pids)) == count
            results = await sup.stop_all()
            assert all(r.error is None for r in results)
            assert not any(alive(pid) for pid in pids)

    asyncio.run(scenario())
    assert open_fds() == before, "every pipe and log file is closed again"


def test_two_hundred_processes_start_run_and_stop_without_fd_leak(tmp_path: Path) -> None:
    """200 children reach RUNNING, stop, and leave no descriptor open in the daemon."""
    start_run_stop(tmp_path, 200)


@pytest.mark.slow
def test_a_thousand_processes(tmp_path: Path) -> None:
    """The issue's number: 1,000 children start, run and stop with no descriptor leak."""
    start_run_stop(tmp_path, 1000)


def test_daemon_stays_responsive_while_a_child_floods(tmp_path: Path) -> None:
    """With one child writing as fast as it can, others still start, run and stop on time."""
    cfg = config(
        tmp_path,
        program("flood", child("flood.py", 0, 200), startsecs=0,
                stdout=ChannelLog(logfile=str(tmp_path / "flood.log"), maxbytes=1 << 20,
                                  backups=1)),
        program("other", child("worker.py", 0.05), startsecs=1, autostart=False),
    )

    async def scenario() -> None:
        async with running(cfg) as sup:
            channel = sup._outputs[sup.process("flood")].channels["stdout"]
            await wait_for(lambda: channel.received > 5_000_000, within=60)
            for _ in range(3):
                await sup.start_process("other")
                assert sup.process("other").state is S.RUNNING
                await wait_for(lambda: b"line=3 " in sup.output_tail("other"))
                await sup.stop_process("other")
                sup.clear_process_logs("other")
            assert sup.process("flood").state is S.RUNNING

    asyncio.run(scenario())
