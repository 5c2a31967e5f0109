"""Event listeners speaking Supervisor's protocol, as superlance's tools do."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.integration.supervisor.helpers import child, config, program, running, wait_for

from capataz.config.model import ChannelLog, EventListenerOptions, GroupConfig, GroupKind
from capataz.supervisor import ProcessState

S = ProcessState


def listener(record: Path, *events: str, fail_first: bool = False) -> GroupConfig:
    args = [record, "--fail-first"] if fail_first else [record]
    base = program("watcher", child("listener.py", *args), priority=-1, startsecs=0)
    return GroupConfig("watcher", -1, GroupKind.EVENTLISTENER, base.processes,
                       eventlistener=EventListenerOptions(events=events, buffer_size=50))


def lines(record: Path) -> list[str]:
    return record.read_text().splitlines() if record.exists() else []


def test_listener_gets_process_state_events_with_supervisors_payloads(tmp_path: Path) -> None:
    """PROCESS_STATE subscribers see each change of the others, payloads as Supervisor's."""
    record = tmp_path / "events"
    cfg = config(tmp_path, listener(record, "PROCESS_STATE"),
                 program("job", child("exit_with.py", 3, 0.3), startsecs=0))

    async def scenario() -> None:
        async with running(cfg):
            await wait_for(lambda: any("PROCESS_STATE_EXITED processname:job" in line
                                       for line in lines(record)))

    asyncio.run(scenario())
    job = [line.split(" ", 2)[1:] for line in lines(record) if "processname:job" in line]
    assert job[0] == ["PROCESS_STATE_STARTING",
                      "processname:job groupname:job from_state:STOPPED tries:0"]
    assert job[1][0] == "PROCESS_STATE_RUNNING"
    assert job[1][1].startswith("processname:job groupname:job from_state:STARTING pid:")
    assert job[2][0] == "PROCESS_STATE_EXITED"
    assert "from_state:RUNNING expected:0 pid:" in job[2][1]


def test_rejected_event_is_sent_again(tmp_path: Path) -> None:
    """A listener answering FAIL gets the same event (same serial) again."""
    record = tmp_path / "events"
    cfg = config(tmp_path, listener(record, "REMOTE_COMMUNICATION", fail_first=True))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: sup.process("watcher:watcher").state is S.RUNNING)
            await wait_for(lambda: sup.event_bus.pools["watcher"].listeners["watcher"].state.name
                           == "READY")
            sup.send_remote_comm_event("deploy", "v2 is out")
            await wait_for(lambda: len(lines(record)) == 2)

    asyncio.run(scenario())
    first, second = lines(record)
    assert first == second
    assert first.split(" ", 1)[1] == "REMOTE_COMMUNICATION type:deploy|v2 is out"


def test_supervisor_state_and_group_events(tmp_path: Path) -> None:
    """SUPERVISOR_STATE_CHANGE and PROCESS_GROUP subscribers see what they asked for only."""
    record = tmp_path / "events"
    cfg = config(tmp_path, listener(record, "PROCESS_GROUP", "SUPERVISOR_STATE_CHANGE"),
                 program("job", child("worker.py", 5), startsecs=0, autostart=False))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: sup.process("watcher:watcher").state is S.RUNNING)
            await sup.stop_process("watcher:watcher")  # anything held is given back
            await sup.start_process("watcher:watcher")
            sup.remove_group("job")
            await wait_for(lambda: any("PROCESS_GROUP_REMOVED" in line for line in lines(record)))

    asyncio.run(scenario())
    names = [line.split(" ", 2)[1] for line in lines(record)]
    assert "PROCESS_GROUP_REMOVED" in names
    assert all(n.startswith(("PROCESS_GROUP_", "SUPERVISOR_STATE_CHANGE_")) for n in names)


def test_process_log_events_when_enabled(tmp_path: Path) -> None:
    """stdout_events_enabled: PROCESS_LOG_STDOUT carries the lines with Supervisor's header."""
    record = tmp_path / "events"
    cfg = config(tmp_path, listener(record, "PROCESS_LOG"),
                 program("talker", child("exit_with.py", 0, 0.5), startsecs=0,
                         stdout=ChannelLog(logfile=None, events_enabled=True)))

    async def scenario() -> None:
        async with running(cfg):
            await wait_for(lambda: any("PROCESS_LOG_STDOUT" in line for line in lines(record)))

    asyncio.run(scenario())
    event = next(line for line in lines(record) if "PROCESS_LOG_STDOUT" in line)
    name, payload = event.split(" ", 2)[1:]
    assert name == "PROCESS_LOG_STDOUT"
    assert payload.startswith("processname:talker groupname:talker pid:")
    assert payload.endswith(" channel:stdout|exiting with 0|")
