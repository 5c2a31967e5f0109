"""Random event sequences against one process: no sequence breaks the state machine."""

from __future__ import annotations

import errno
import signal

from hypothesis import given, settings
from hypothesis import strategies as st

from capataz.config.model import AutoRestart, ProcessConfig
from capataz.supervisor.clock import FakeClock
from capataz.supervisor.events import ProcessStateChange
from capataz.supervisor.process import Process
from capataz.supervisor.spawn import SpawnRequest
from capataz.supervisor.states import RUNNING_STATES, TRANSITIONS, ProcessState
from capataz.supervisor.testing import FakeSpawner, exited, killed

S = ProcessState

events = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.floats(min_value=0, max_value=12)),
        st.tuples(st.just("exit"), st.sampled_from([exited(0), exited(1), killed(9)])),
        st.tuples(st.just("stop"), st.none()),
        st.tuples(st.just("start"), st.none()),
        st.tuples(st.just("signal"), st.none()),
        st.tuples(st.just("spawn_fails"), st.booleans()),
        st.tuples(st.just("kill_fails"), st.booleans()),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(
    steps=events,
    autorestart=st.sampled_from(list(AutoRestart)),
    startsecs=st.integers(0, 3),
    startretries=st.integers(0, 3),
    group=st.booleans(),
)
def test_any_sequence_keeps_the_machine_consistent(
    steps: list[tuple[str, object]],
    autorestart: AutoRestart,
    startsecs: int,
    startretries: int,
    group: bool,
) -> None:
    """Whatever happens, every change is in the table and a pid exists only while alive."""
    clock = FakeClock()
    spawner = FakeSpawner()
    changes: list[ProcessStateChange] = []
    config = ProcessConfig("p", "p", "p", command="/bin/true", autorestart=autorestart,
                           startsecs=startsecs, startretries=startretries, stopwaitsecs=2,
                           stopasgroup=group, killasgroup=group)
    process = Process(config, clock=clock, spawner=spawner,
                      prepare=lambda c: SpawnRequest(c.command, (c.command,), {}),
                      on_change=changes.append)
    process.autostart()
    for action, value in steps:
        if action == "advance":
            assert isinstance(value, float)
            clock.advance(value)
        elif action == "exit" and process.pid:
            assert isinstance(value, int)
            process.child_exited(value)
        elif action == "stop" and process.state in RUNNING_STATES:
            process.stop()
        elif action == "start" and process.state in (S.STOPPED, S.EXITED, S.FATAL):
            process.spawn()
        elif action == "signal" and process.pid:
            process.signal(signal.SIGHUP)
        elif action == "spawn_fails":
            spawner.fail_with = "no such file" if value else None
        elif action == "kill_fails":
            spawner.kill_error = PermissionError(errno.EPERM, "no") if value else None
        alive = process.state in (S.STARTING, S.RUNNING, S.STOPPING)
        assert bool(process.pid) == alive or process.state is S.UNKNOWN
        if process.state in (S.STOPPED, S.FATAL, S.UNKNOWN):
            assert process._timer is None or process.state is S.STOPPED
    for change in changes:
        assert change.to_state in TRANSITIONS[change.from_state]
    assert [c.from_state for c in changes[1:]] == [c.to_state for c in changes[:-1]]
