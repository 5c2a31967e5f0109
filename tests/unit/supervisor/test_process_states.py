"""The process state machine on a fake clock: every transition, backoff, stop escalation."""

from __future__ import annotations

import errno
import signal

import pytest

from capataz.config.model import AutoRestart, ProcessConfig
from capataz.supervisor.clock import FakeClock
from capataz.supervisor.errors import InvalidTransitionError, SpawnError
from capataz.supervisor.events import ProcessStateChange
from capataz.supervisor.process import MIN_RESTART_INTERVAL, Process, describe_exit
from capataz.supervisor.spawn import SpawnRequest
from capataz.supervisor.states import TRANSITIONS, ProcessState
from capataz.supervisor.testing import FakeSpawner, exited, killed

S = ProcessState
SEEN: set[tuple[ProcessState, ProcessState]] = set()


class Harness:
    def __init__(self, **options: object) -> None:
        self.clock = FakeClock()
        self.spawner = FakeSpawner()
        self.events: list[ProcessStateChange] = []
        self.allowed = True
        config = ProcessConfig(name="web", program_name="web", group_name="web",
                               command="/bin/true", **options)  # type: ignore[arg-type]
        self.process = Process(
            config,
            clock=self.clock,
            spawner=self.spawner,
            prepare=lambda c: SpawnRequest(c.command, (c.command,), {}),
            on_change=self._record,
            may_autospawn=lambda: self.allowed,
        )

    def _record(self, change: ProcessStateChange) -> None:
        self.events.append(change)
        SEEN.add((change.from_state, change.to_state))

    @property
    def states(self) -> list[ProcessState]:
        return [e.to_state for e in self.events]


def test_autostart_runs_after_exactly_startsecs() -> None:
    """A started process is STARTING until startsecs pass, then RUNNING at once (no tick)."""
    h = Harness(startsecs=5)
    h.process.autostart()
    assert h.process.state is S.STARTING
    assert h.process.pid == 1000
    h.clock.advance(4.999)
    assert h.process.state is S.STARTING
    h.clock.advance(0.001)
    assert h.process.state is S.RUNNING
    assert h.states == [S.STARTING, S.RUNNING]


def test_autostart_only_once_and_only_when_enabled() -> None:
    """autostart=false never spawns; a process that ran before is not autostarted again."""
    h = Harness(autostart=False)
    h.process.autostart()
    assert h.process.state is S.STOPPED
    h = Harness(autorestart=AutoRestart.NEVER)
    h.process.autostart()
    h.clock.advance(1)
    h.process.child_exited(exited(0))
    assert h.process.state is S.EXITED
    h.process.autostart()
    assert h.process.state is S.EXITED


def test_crash_loop_backs_off_1_2_3_seconds_then_fatal() -> None:
    """Dying before startsecs: BACKOFF, retries after 1, 2, 3 s, then FATAL (startretries=3)."""
    h = Harness(startsecs=1, startretries=3)
    spawned_at = []
    h.process.autostart()
    for _ in range(4):
        spawned_at.append(h.clock.monotonic())
        assert h.process.state is S.STARTING
        h.clock.advance(0.1)
        h.process.child_exited(exited(1))
        if h.process.state is S.BACKOFF:
            assert h.process.spawnerr == "Exited too quickly (process log may have details)"
            h.clock.advance(h.process.backoff - 0.001)
            assert h.process.state is S.BACKOFF
            h.clock.advance(0.001)
    assert [round(t - spawned_at[0], 3) for t in spawned_at] == [0, 1.1, 3.2, 6.3]
    assert h.process.state is S.FATAL
    assert h.states[-2:] == [S.BACKOFF, S.FATAL]
    assert [e.tries for e in h.events if e.to_state is S.BACKOFF] == [1, 2, 3, 4]
    assert len(h.spawner.requests) == 4
    h.clock.advance(100)
    assert len(h.spawner.requests) == 4, "FATAL never retries on its own"


def test_expected_exit_code_before_startsecs_is_still_a_failed_start() -> None:
    """Exiting 0 before startsecs is "too quickly" too, as in Supervisor."""
    h = Harness(startsecs=2)
    h.process.autostart()
    h.clock.advance(1)
    h.process.child_exited(exited(0))
    assert h.process.state is S.BACKOFF
    assert h.process.exitstatus is None


def test_spawn_error_goes_to_backoff_with_spawnerr_then_fatal() -> None:
    """A spawn that fails (command missing) counts as a failed start with its message kept."""
    h = Harness(startretries=1)
    h.spawner.fail_with = "can't find command 'nope'"
    h.process.autostart()
    assert h.process.state is S.BACKOFF
    assert h.process.spawnerr == "can't find command 'nope'"
    h.clock.advance(1)
    assert h.process.state is S.FATAL
    assert h.states == [S.STARTING, S.BACKOFF, S.STARTING, S.BACKOFF, S.FATAL]
    assert h.process.info().description == "can't find command 'nope'"


def test_fatal_restarts_only_on_explicit_start() -> None:
    """FATAL -> STARTING only through spawn(); a success resets the backoff counter."""
    h = Harness(startretries=0)
    h.spawner.fail_with = "boom"
    h.process.autostart()
    assert h.process.state is S.FATAL
    h.spawner.fail_with = None
    h.process.spawn()
    h.clock.advance(1)
    assert h.process.state is S.RUNNING
    assert h.process.backoff == 0


@pytest.mark.parametrize(
    ("policy", "code", "restarts"),
    [
        (AutoRestart.UNEXPECTED, 0, False),
        (AutoRestart.UNEXPECTED, 3, True),
        (AutoRestart.ALWAYS, 0, True),
        (AutoRestart.NEVER, 3, False),
    ],
)
def test_exit_from_running_follows_autorestart(
    policy: AutoRestart, code: int, restarts: bool
) -> None:
    """RUNNING -> EXITED; restarted per autorestart and exitcodes, never faster than 1/s."""
    h = Harness(autorestart=policy, exitcodes=(0,), startsecs=0)
    h.process.autostart()
    h.clock.advance(0)
    assert h.process.state is S.RUNNING
    h.clock.advance(0.25)
    h.process.child_exited(exited(code))
    assert h.process.state is S.EXITED
    exit_event = h.events[-1]
    assert exit_event.expected is (code == 0)
    assert exit_event.pid == 1000
    assert h.process.exitstatus == code
    assert h.process.spawnerr == (None if code == 0 else f"Bad exit code {code}")
    h.clock.advance(MIN_RESTART_INTERVAL - 0.25 - 0.001)
    assert h.process.state is S.EXITED
    h.clock.advance(0.001)
    assert (len(h.spawner.requests) == 2) is restarts


def test_long_running_process_restarts_at_once() -> None:
    """A process that ran longer than the restart floor is spawned again without delay."""
    h = Harness(autorestart=AutoRestart.ALWAYS)
    h.process.autostart()
    h.clock.advance(30)
    h.process.child_exited(exited(0))
    h.clock.advance(0)
    assert h.process.state is S.STARTING
    assert h.process.pid == 1001


def test_exit_after_startsecs_before_the_timer_runs_passes_through_running() -> None:
    """startsecs=0 and an exit before the loop turns: STARTING -> RUNNING -> EXITED."""
    h = Harness(startsecs=0, autorestart=AutoRestart.NEVER)
    h.process.autostart()
    h.process.child_exited(exited(0))
    assert h.states == [S.STARTING, S.RUNNING, S.EXITED]


def test_no_autorestart_nor_retry_while_the_daemon_stops() -> None:
    """When the daemon refuses spawns (shutdown), EXITED and BACKOFF stay put."""
    h = Harness(autorestart=AutoRestart.ALWAYS)
    h.process.autostart()
    h.clock.advance(5)
    h.allowed = False
    h.process.child_exited(exited(1))
    h.clock.advance(10)
    assert h.process.state is S.EXITED
    h2 = Harness()
    h2.process.autostart()
    h2.allowed = False
    h2.process.child_exited(exited(1))
    h2.clock.advance(10)
    assert h2.process.state is S.BACKOFF


def test_stop_escalates_to_sigkill_every_stopwaitsecs() -> None:
    """stopsignal, then SIGKILL after stopwaitsecs, re-sent every stopwaitsecs, then STOPPED."""
    h = Harness(stopsignal=signal.SIGINT, stopwaitsecs=10)
    h.process.autostart()
    h.clock.advance(1)
    assert h.process.stop() is None
    assert h.process.state is S.STOPPING
    assert h.process.info().description == ""
    assert h.spawner.signals == [(1000, signal.SIGINT)]
    h.clock.advance(9.999)
    assert len(h.spawner.signals) == 1
    h.clock.advance(0.001)
    assert h.spawner.signals[-1] == (1000, signal.SIGKILL)
    h.clock.advance(10)
    assert h.spawner.signals[-1] == (1000, signal.SIGKILL)
    assert len(h.spawner.signals) == 3
    h.process.child_exited(killed(signal.SIGKILL))
    assert h.process.state is S.STOPPED
    assert h.states[-4:] == [S.STOPPING, S.STOPPING, S.STOPPING, S.STOPPED]
    assert h.process.exitstatus == -1
    h.clock.advance(100)
    assert len(h.spawner.signals) == 3


def test_stopasgroup_signals_the_process_group() -> None:
    """stopasgroup sends stopsignal to -pid; killasgroup sends the SIGKILL to -pid."""
    h = Harness(stopasgroup=True, killasgroup=True, stopwaitsecs=1)
    h.process.autostart()
    h.process.stop()
    h.clock.advance(1)
    assert h.spawner.signals == [(-1000, signal.SIGTERM), (-1000, signal.SIGKILL)]


def test_stop_while_starting_and_a_clean_exit_during_stop() -> None:
    """STARTING -> STOPPING; any exit while stopping is STOPPED, even an unexpected one."""
    h = Harness(startsecs=10)
    h.process.autostart()
    h.process.stop()
    assert h.process.state is S.STOPPING
    h.clock.advance(20)  # the startsecs timer was replaced by the stop timer
    h.process.child_exited(exited(3))
    assert h.process.state is S.STOPPED
    assert S.RUNNING not in h.states


def test_stop_in_backoff_is_stopped_without_a_signal() -> None:
    """BACKOFF -> STOPPED on stop, with no signal and no further retry."""
    h = Harness()
    h.process.autostart()
    h.process.child_exited(exited(1))
    assert h.process.state is S.BACKOFF
    assert h.process.stop() is None
    assert h.process.state is S.STOPPED
    h.clock.advance(60)
    assert h.process.state is S.STOPPED
    assert h.spawner.signals == []


def test_stop_of_a_process_without_pid_reports_why() -> None:
    """Stopping something not running returns a message instead of signalling."""
    h = Harness()
    assert "wasn't running" in (h.process.stop() or "")
    assert "wasn't running" in (h.process.signal(signal.SIGHUP) or "")


def test_signal_that_cannot_be_sent_makes_the_process_unknown() -> None:
    """A kill failing with EPERM: UNKNOWN; when it is reaped after all, STOPPED."""
    h = Harness()
    h.process.autostart()
    h.spawner.kill_error = PermissionError(errno.EPERM, "Operation not permitted")
    assert "unknown problem killing" in (h.process.stop() or "")
    assert h.process.state is S.UNKNOWN
    h.process.child_exited(exited(0))
    assert h.process.state is S.STOPPED


def test_signal_to_running_process_that_cannot_be_sent_is_unknown() -> None:
    """signalProcess with an EPERM: RUNNING -> UNKNOWN; STARTING too."""
    for advance, before in ((1.0, S.RUNNING), (0.0, S.STARTING)):
        h = Harness()
        h.process.autostart()
        h.clock.advance(advance)
        assert h.process.state is before
        h.spawner.kill_error = PermissionError(errno.EPERM, "no")
        assert h.process.signal(signal.SIGUSR1) is not None
        assert h.process.state is S.UNKNOWN


def test_vanished_process_stays_stopping_until_reaped() -> None:
    """ESRCH on stop: it is exiting by itself; the reaper brings it to STOPPED."""
    h = Harness()
    h.process.autostart()
    h.spawner.kill_error = ProcessLookupError(errno.ESRCH, "No such process")
    assert h.process.stop() is None
    assert h.process.state is S.STOPPING
    h.spawner.kill_error = None
    h.process.child_exited(exited(0))
    assert h.process.state is S.STOPPED


def test_signal_running_process_keeps_its_state() -> None:
    """signal() sends to the pid alone and changes no state."""
    h = Harness()
    h.process.autostart()
    h.clock.advance(1)
    assert h.process.signal(signal.SIGHUP) is None
    assert h.spawner.signals == [(1000, signal.SIGHUP)]
    assert h.process.state is S.RUNNING


def test_transitions_outside_the_table_raise() -> None:
    """give_up from RUNNING is not in the table and raises; the state is unchanged."""
    h = Harness()
    h.process.autostart()
    h.clock.advance(1)
    with pytest.raises(InvalidTransitionError, match="RUNNING -> FATAL"):
        h.process.give_up()
    assert h.process.state is S.RUNNING


def test_spawn_while_running_is_refused() -> None:
    """A second spawn of a live process does nothing."""
    h = Harness()
    h.process.autostart()
    assert h.process.spawn() is None
    assert len(h.spawner.requests) == 1


def test_describe_exit_matches_supervisor() -> None:
    """Exit codes are kept; a death by signal is status -1 with the signal's name."""
    assert describe_exit(exited(3)) == (3, "exit status 3")
    assert describe_exit(killed(signal.SIGKILL)) == (-1, "terminated by SIGKILL")
    assert describe_exit(killed(63)) == (-1, "terminated by signal 63")


def test_descriptions_as_supervisorctl_shows_them() -> None:
    """Not started, pid and uptime, spawnerr for FATAL, stop time for EXITED."""
    h = Harness(autorestart=AutoRestart.NEVER)
    assert h.process.info().description == "Not started"
    h.process.autostart()
    h.clock.advance(90061)
    assert h.process.info().description == "pid 1000, uptime 1 day, 1:01:01"
    h.clock.advance(3600 * 24)
    assert h.process.info().description == "pid 1000, uptime 2 days, 1:01:01"
    h.process.child_exited(exited(0))
    info = h.process.info()
    assert info.statename == "EXITED"
    assert info.namespec == "web"
    assert "M" in info.description  # e.g. "Dec 03 04:48 PM"


def test_every_transition_in_the_table_is_exercised() -> None:
    """The scenarios of this module, together, walk every edge of TRANSITIONS."""
    for name, scenario in list(globals().items()):
        if name.startswith("test_") and name != "test_every_transition_in_the_table_is_exercised":
            if name == "test_exit_from_running_follows_autorestart":
                scenario(AutoRestart.ALWAYS, 1, True)
            else:
                scenario()
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table - SEEN == set()
    assert SEEN - table == set()


def test_spawn_error_type_is_a_supervisor_error() -> None:
    assert SpawnError("x").fault == "SPAWN_ERROR"
