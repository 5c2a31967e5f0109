"""Random client calls and child exits against a Supervisor: only documented errors."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from capataz.config.model import (
    AutoRestart,
    ChannelLog,
    Config,
    GroupConfig,
    GroupKind,
    ProcessConfig,
    SupervisordConfig,
)
from capataz.supervisor import ProcessState, Supervisor, SupervisorError
from capataz.supervisor.clock import FakeClock
from capataz.supervisor.testing import FakeSpawner, exited

NAMES = ["g:a", "g:b", "solo"]

calls = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["start", "stop", "signal", "exit"]), st.sampled_from(NAMES)),
        st.tuples(st.just("advance"), st.sampled_from([0.0, 0.5, 1.0, 3.0, 11.0])),
        st.tuples(st.sampled_from(["start_all", "stop_all"]), st.none()),
    ),
    max_size=30,
)


def config() -> Config:
    def proc(name: str, group: str, **options: Any) -> ProcessConfig:
        return ProcessConfig(name, name, group, command="/bin/true",
                             stdout=ChannelLog(logfile=None), stderr=ChannelLog(logfile=None),
                             **options)

    return Config(path="x", supervisord=SupervisordConfig(), groups=(
        GroupConfig("g", 10, GroupKind.PROGRAM, (
            proc("a", "g", autorestart=AutoRestart.ALWAYS, stopwaitsecs=2),
            proc("b", "g", startsecs=0, autostart=False))),
        GroupConfig("solo", 20, GroupKind.PROGRAM, (proc("solo", "solo", startretries=1),)),
    ))


@settings(max_examples=150, deadline=None)
@given(steps=calls)
def test_any_call_sequence_answers_or_raises_a_documented_error(
    steps: list[tuple[str, object]],
) -> None:
    """Calls in any order raise only SupervisorError; shutdown then stops everything."""
    clock = FakeClock()
    spawner = FakeSpawner()
    sup = Supervisor(config(), clock=clock, spawner=spawner, reap=False)

    async def exit_child(name: str) -> None:
        pid = sup.process(name).pid
        if pid:
            sup.child_exited(pid, exited(1))

    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    async def signal_hup(name: str) -> None:
        sup.signal_process(name, signal.SIGHUP)

    actions: dict[str, Callable[[Any], Awaitable[Any]]] = {
        "start": lambda name: sup.start_process(name, wait=False),
        "stop": lambda name: sup.stop_process(name, wait=False),
        "signal": signal_hup,
        "exit": exit_child,
        "advance": advance,
        "start_all": lambda _: sup.start_all(wait=False),
        "stop_all": lambda _: sup.stop_all(wait=False),
    }

    async def scenario() -> None:
        running = asyncio.create_task(sup.run())
        await asyncio.sleep(0)
        for action, arg in steps:
            with contextlib.suppress(SupervisorError):
                await actions[action](arg)
            await asyncio.sleep(0)
        sup.shutdown()
        for _ in range(20):
            for process in sup.processes():
                if process.pid:
                    sup.child_exited(process.pid, exited(0))
            clock.advance(3)
            await asyncio.sleep(0)
            if running.done():
                break
        await asyncio.wait_for(running, 5)

    asyncio.run(scenario())
    assert all(p.stopped for p in sup.processes())
    assert all(p.state is not ProcessState.UNKNOWN for p in sup.processes())
