"""The control backend over a live daemon: faults and events with real child processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.integration.supervisor.helpers import child, config, program, running, wait_for

from capataz.config.model import AutoRestart, EventListenerOptions, GroupConfig, GroupKind
from capataz.control.adapter import SupervisorBackend
from capataz.control.errors import RpcFault
from capataz.control.protocol import Fault
from capataz.supervisor import ProcessState


def test_process_views_say_what_process_info_says(tmp_path: Path) -> None:
    """The adapter reads each process's fields directly; they must be info()'s, clock aside."""
    cfg = config(tmp_path, program("up", "sleep 30", startsecs=0),
                 program("never", "/no/such/command", autostart=False),
                 program("fails", "/bin/sh -c 'exit 3'", startsecs=0,
                         autorestart=AutoRestart.NEVER))

    def without_clock(view: tuple[object, ...]) -> tuple[object, ...]:
        return view[:6] + view[7:]

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: sup.process("up").state is ProcessState.RUNNING
                           and sup.process("fails").state is ProcessState.EXITED)
            views = SupervisorBackend(sup).processes()
            infos = sup.all_process_info()
            assert [without_clock(v) for v in views] == [
                (i.name, i.group, i.state, i.pid, i.start, i.stop, i.exitstatus or 0,
                 i.spawnerr, i.stdout_logfile, i.stderr_logfile) for i in infos]
            assert {v.exitstatus for v in views} == {0, 3}
            assert all(abs(v.now - i.now) < 5 for v, i in zip(views, infos, strict=True))

    asyncio.run(scenario())


def test_stdin_closed_by_the_child_is_no_file(tmp_path: Path) -> None:
    """sendProcessStdin to a running child that closed its stdin is NO_FILE, as Supervisor."""
    cfg = config(tmp_path, program("deaf", "/bin/sh -c 'exec 0<&-; exec sleep 30'",
                                   startsecs=0))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: sup.process("deaf").state is ProcessState.RUNNING)
            pid = sup.process("deaf").pid
            await wait_for(lambda: not Path(f"/proc/{pid}/fd/0").exists())  # stdin closed
            with pytest.raises(RpcFault) as caught:
                SupervisorBackend(sup).send_stdin("deaf", b"anyone?\n")
            assert caught.value.code == Fault.NO_FILE
            assert sup.process("deaf").state is ProcessState.RUNNING

    asyncio.run(scenario())


def test_remote_comm_event_reaches_a_subscribed_listener(tmp_path: Path) -> None:
    """sendRemoteCommEvent delivers REMOTE_COMMUNICATION, payload ``type:T\\n<data>``."""
    record = tmp_path / "events"
    base = program("watcher", child("listener.py", record), startsecs=0)
    watcher = GroupConfig("watcher", -1, GroupKind.EVENTLISTENER, base.processes,
                          eventlistener=EventListenerOptions(events=("REMOTE_COMMUNICATION",)))
    cfg = config(tmp_path, watcher)

    def seen() -> list[str]:
        return record.read_text().splitlines() if record.exists() else []

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: sup.process("watcher:watcher").state is ProcessState.RUNNING)
            await wait_for(lambda: sup.event_bus.pools["watcher"].listeners["watcher"]
                           .state.name == "READY")
            SupervisorBackend(sup).send_remote_comm_event("deploy", "v2 is out\nall hosts")
            await wait_for(lambda: len(seen()) == 1)

    asyncio.run(scenario())
    # The listener writes the payload's newlines as "|".
    assert seen()[0].split(" ", 1)[1] == "REMOTE_COMMUNICATION type:deploy|v2 is out|all hosts"
