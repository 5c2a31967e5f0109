"""The event listener protocol and pools, without processes: states, buffer, ticks."""

from __future__ import annotations

import asyncio
import os

from capataz.config.model import EventListenerOptions, GroupConfig, GroupKind, ProcessConfig
from capataz.supervisor.clock import FakeClock
from capataz.supervisor.eventlisteners import (
    EventBus,
    ListenerState,
    Notification,
    describe,
    subscribed,
)
from capataz.supervisor.events import GroupChange, SupervisorStateChange
from capataz.supervisor.output import StdinPipe
from capataz.supervisor.process import Process
from capataz.supervisor.spawn import SpawnRequest
from capataz.supervisor.states import SupervisorState
from capataz.supervisor.testing import FakeSpawner

R = SupervisorState


def pool_group(buffer_size: int = 3, events: tuple[str, ...] = ("EVENT",)) -> GroupConfig:
    pc = ProcessConfig("l", "l", "l", command="/bin/true", startsecs=0)
    return GroupConfig("l", -1, GroupKind.EVENTLISTENER, (pc,),
                       eventlistener=EventListenerOptions(events=events, buffer_size=buffer_size))


def bus_with_listener(clock: FakeClock, **kwargs: object) -> tuple[EventBus, Process, int]:
    """A bus with one RUNNING listener whose stdin is a real pipe (read end returned)."""
    bus = EventBus(clock, lambda: "supervisor")
    group = pool_group(**kwargs)  # type: ignore[arg-type]
    process = Process(group.processes[0], clock=clock, spawner=FakeSpawner(),
                      prepare=lambda c: SpawnRequest(c.command, (c.command,), {}),
                      on_change=bus.publish)
    bus.add_group(group, [process])
    process.spawn()
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    process.stdin = StdinPipe(write_end)
    return bus, process, read_end


def test_subscriptions_follow_the_event_hierarchy() -> None:
    """EVENT gets all; PROCESS_STATE gets its children; unrelated names do not match."""
    assert subscribed(("EVENT",), "TICK_5")
    assert subscribed(("PROCESS_STATE",), "PROCESS_STATE_FATAL")
    assert not subscribed(("PROCESS_STATE",), "TICK_60")
    assert not subscribed(("TICK_5",), "TICK_60")


def test_daemon_state_and_group_payloads() -> None:
    """Supervisor's names and payloads; RESTARTING -> SHUTDOWN is no event."""
    assert describe(SupervisorStateChange(R.RESTARTING, R.RUNNING)) == (
        "SUPERVISOR_STATE_CHANGE_RUNNING", "")
    assert describe(SupervisorStateChange(R.RUNNING, R.SHUTDOWN)) == (
        "SUPERVISOR_STATE_CHANGE_STOPPING", "")
    assert describe(SupervisorStateChange(R.RESTARTING, R.SHUTDOWN)) is None
    assert describe(GroupChange("web", added=False)) == ("PROCESS_GROUP_REMOVED", "groupname:web\n")


def test_protocol_round_trip_and_errors() -> None:
    """READY -> BUSY on send -> OK -> ACKNOWLEDGED; garbage makes the listener UNKNOWN."""
    async def scenario() -> None:
        clock = FakeClock()
        bus, process, read_end = bus_with_listener(clock, events=("REMOTE_COMMUNICATION",))
        listener = bus.listener_for(process)
        assert listener is not None
        assert listener.state is ListenerState.ACKNOWLEDGED
        listener.feed(b"REA")
        listener.feed(b"DY\n")
        assert listener.state is ListenerState.READY
        bus.notify("REMOTE_COMMUNICATION", "type:x\nhello")
        assert listener.state is ListenerState.BUSY
        sent = os.read(read_end, 4096)
        assert sent.startswith(b"ver:3.0 server:supervisor serial:")
        assert b" pool:l poolserial:1 eventname:REMOTE_COMMUNICATION len:12\ntype:x\nhello" in sent
        listener.feed(b"RESULT 2\nOKREADY\n")
        assert listener.state is ListenerState.READY
        listener.feed(b"surprise\n")
        assert listener.state is ListenerState.UNKNOWN
        listener.feed(b"READY\n")
        assert listener.state is ListenerState.UNKNOWN, "only a restart clears UNKNOWN"
        listener.restarted()
        listener.feed(b"HELLO!\n")
        assert listener.state is ListenerState.UNKNOWN
        listener.flush()
        os.close(read_end)

    asyncio.run(scenario())


def test_bad_result_line_gives_the_event_back() -> None:
    """A malformed RESULT line: the event returns to the buffer, the listener is UNKNOWN."""
    async def scenario() -> None:
        bus, process, read_end = bus_with_listener(FakeClock(), events=("TICK_5",))
        listener = bus.listener_for(process)
        assert listener is not None
        listener.feed(b"READY\n")
        bus.notify("TICK_5", "when:5")
        listener.feed(b"RESULT two\n")
        assert listener.state is ListenerState.UNKNOWN
        assert [e.name for e in bus.pools["l"].buffer] == ["TICK_5"]
        os.close(read_end)

    asyncio.run(scenario())


def test_full_buffer_drops_the_oldest_and_a_dead_listener_gives_back() -> None:
    """buffer_size events are kept, the oldest dropped first; a death rebuffers the held one."""
    async def scenario() -> None:
        bus, process, read_end = bus_with_listener(FakeClock(), buffer_size=2)
        pool = bus.pools["l"]
        for n in range(3):
            pool.accept(Notification("TICK_5", f"when:{n}", n))
        assert [e.serial for e in pool.buffer] == [1, 2]
        listener = bus.listener_for(process)
        assert listener is not None
        listener.feed(b"READY\n")
        assert listener.event is not None
        assert listener.event.serial == 1
        listener.gone()
        assert [e.serial for e in pool.buffer] == [1, 2]
        bus.remove_group("l")
        assert bus.listener_for(process) is None
        os.close(read_end)

    asyncio.run(scenario())


def test_ticks_fire_on_the_clock_aligned_to_their_period() -> None:
    """TICK_5 every 5 s of wall time with when: aligned; none after stop_ticks."""
    async def scenario() -> None:
        clock = FakeClock(start=1001.0, wall_offset=1_700_000_000.0)
        bus, process, read_end = bus_with_listener(clock, events=("TICK_5",))
        bus.start_ticks()
        clock.advance(4)
        clock.advance(10)
        pool = bus.pools["l"]
        assert [e.payload for e in pool.buffer] == [
            "when:1700001005", "when:1700001010", "when:1700001015"]
        bus.stop_ticks()
        clock.advance(60)
        assert len(pool.buffer) == 3
        del process
        os.close(read_end)

    asyncio.run(scenario())
