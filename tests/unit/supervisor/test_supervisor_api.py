"""The Supervisor API on a fake clock and spawner: lookups, start/stop, groups, reload."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from capataz.config.model import (
    AUTO,
    ChannelLog,
    Config,
    GroupConfig,
    GroupKind,
    InetHttpServerConfig,
    ProcessConfig,
    SupervisordConfig,
    UnixHttpServerConfig,
)
from capataz.supervisor import (
    AbnormalTerminationError,
    AlreadyAddedError,
    AlreadyStartedError,
    BadNameError,
    CantRereadError,
    ConfigDiff,
    Event,
    GroupChange,
    NoFileError,
    NotExecutableError,
    NotRunningError,
    ProcessState,
    ProcessStateChange,
    ShutdownStateError,
    SpawnError,
    StillRunningError,
    Supervisor,
    SupervisorState,
    SupervisorStateChange,
)
from capataz.supervisor.clock import FakeClock
from capataz.supervisor.launch import Launcher
from capataz.supervisor.logfiles import LogFiles
from capataz.supervisor.supervisor import diff_groups
from capataz.supervisor.testing import FakeSpawner, exited, killed

S = ProcessState


def program(name: str, priority: int = 999, *, numprocs: int = 1, **options: Any) -> GroupConfig:
    processes = tuple(
        ProcessConfig(
            name=name if numprocs == 1 else f"{name}_{n:02d}",
            program_name=name,
            group_name=name,
            command="/bin/sleep 100",
            process_num=n,
            numprocs=numprocs,
            priority=priority,
            stdout=ChannelLog(logfile=None),
            stderr=ChannelLog(logfile=None),
            **options,
        )
        for n in range(numprocs)
    )
    return GroupConfig(name, priority, GroupKind.PROGRAM, processes)


def make(*groups: GroupConfig, loader: Callable[[str], Config] | None = None,
         **settings: Any) -> tuple[Supervisor, FakeClock, FakeSpawner]:
    clock = FakeClock()
    spawner = FakeSpawner()
    config = Config(path="/etc/test.conf", supervisord=SupervisordConfig(**settings),
                    groups=groups)
    sup = Supervisor(config, clock=clock, spawner=spawner, loader=loader, reap=False,
                     environ={"PATH": "/usr/bin:/bin", "KEEP": "1"})
    return sup, clock, spawner


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_lookup_by_namespec_and_group() -> None:
    """Processes are found as "group:name", "name" (own group) or "group:*"."""
    sup, _, _ = make(program("web"), program("worker", numprocs=2))
    assert sup.process("web").name == "web"
    assert sup.process("web:web").name == "web"
    assert sup.process("worker:worker_01").name == "worker_01"
    assert [p.name for p in sup.select("worker:*")] == ["worker_00", "worker_01"]
    assert [p.name for p in sup.select("worker")] == ["worker_00", "worker_01"]
    assert [p.name for p in sup.select("web")] == ["web"]
    for bad in ("nope", "worker:nope", "worker", "nope:*"):
        lookup = sup.select if bad.endswith("*") else sup.process
        with pytest.raises(BadNameError):
            lookup(bad)
    info = sup.process_info("worker:worker_00")
    assert (info.group, info.state, info.pid) == ("worker", S.STOPPED, 0)
    assert [i.name for i in sup.all_process_info()] == ["web", "worker_00", "worker_01"]


def test_run_autostarts_in_priority_order_and_shutdown_stops_in_reverse() -> None:
    """Groups start by (priority, name) and stop the other way, one group after the other."""
    sup, clock, spawner = make(program("late", 900), program("early", 10),
                               program("manual", 5, autostart=False))

    async def scenario() -> None:
        task = asyncio.create_task(sup.run())
        await settle()
        assert [r.env["SUPERVISOR_PROCESS_NAME"] for r in spawner.requests] == ["early", "late"]
        clock.advance(1)
        assert sup.process("late").state is S.RUNNING
        sup.shutdown()
        await settle()
        assert spawner.signals == [(1001, signal.SIGTERM)], "early waits for late to stop"
        sup.child_exited(1001, killed(signal.SIGTERM))
        await settle()
        assert spawner.signals[-1] == (1000, signal.SIGTERM)
        sup.child_exited(1000, exited(0))
        await task

    run(scenario())
    assert sup.state is SupervisorState.SHUTDOWN
    assert all(p.stopped for p in sup.processes())


def test_start_process_waits_for_running() -> None:
    """start_process(wait=True) returns only once the process is RUNNING."""
    sup, clock, _ = make(program("web", autostart=False, startsecs=3))

    async def scenario() -> None:
        start = asyncio.create_task(sup.start_process("web"))
        await settle()
        assert not start.done()
        clock.advance(3)
        await start
        assert sup.process("web").state is S.RUNNING
        with pytest.raises(AlreadyStartedError):
            await sup.start_process("web")

    run(scenario())


def test_start_process_reports_a_start_that_fails() -> None:
    """A death before startsecs is a SPAWN_ERROR; a spawn failure too; no wait = no error."""
    sup, _, spawner = make(program("web", autostart=False))

    async def scenario() -> None:
        start = asyncio.create_task(sup.start_process("web"))
        await settle()
        sup.child_exited(1000, exited(1))
        with pytest.raises(SpawnError, match=r"^web$"):
            await start
        assert sup.process("web").spawnerr == "Exited too quickly (process log may have details)"
        sup.process("web").stop()
        spawner.fail_with = "couldn't chdir to /nope: ENOENT"
        with pytest.raises(SpawnError):
            await sup.start_process("web", wait=False)
        assert "chdir" in (sup.process("web").spawnerr or "")

    run(scenario())


def test_start_process_abnormal_termination_when_stopped_meanwhile() -> None:
    """If the process is stopped while start waits, the start fails as ABNORMAL_TERMINATION."""
    sup, _, _ = make(program("web", autostart=False, startsecs=10))

    async def scenario() -> None:
        start = asyncio.create_task(sup.start_process("web"))
        await settle()
        sup.process("web").stop()
        with pytest.raises(AbnormalTerminationError):
            await start

    run(scenario())


def test_start_process_checks_the_command_first() -> None:
    """A missing or non-executable command is refused before any spawn (NO_FILE, NOT_EXECUTABLE)."""
    sup, _, spawner = make(
        GroupConfig("a", 1, GroupKind.PROGRAM,
                    (ProcessConfig("a", "a", "a", command="no-such-program-here"),)),
        GroupConfig("b", 1, GroupKind.PROGRAM, (ProcessConfig("b", "b", "b", command="/etc"),)),
    )

    async def scenario() -> None:
        with pytest.raises(NoFileError):
            await sup.start_process("a")
        with pytest.raises(NotExecutableError):
            await sup.start_process("b")

    run(scenario())
    assert spawner.requests == []


def test_stop_process_waits_until_stopped() -> None:
    """stop_process(wait=True) returns once the process is reaped; NOT_RUNNING otherwise."""
    sup, _, spawner = make(program("web", autostart=False))

    async def scenario() -> None:
        await sup.start_process("web", wait=False)
        stop = asyncio.create_task(sup.stop_process("web"))
        await settle()
        assert spawner.signals == [(1000, signal.SIGTERM)]
        assert not stop.done()
        sup.child_exited(1000, killed(signal.SIGTERM))
        await stop
        with pytest.raises(NotRunningError):
            await sup.stop_process("web")

    run(scenario())


def test_group_and_all_operations_return_one_result_per_process() -> None:
    """start_group/stop_group/start_all/stop_all report each process, errors included."""
    sup, clock, _ = make(program("w", numprocs=3, autostart=False), program("x", autostart=False))

    async def scenario() -> None:
        results = await sup.start_group("w", wait=False)
        assert [(r.name, r.error) for r in results] == [
            ("w_00", None), ("w_01", None), ("w_02", None)]
        results = await sup.start_all(wait=False)
        assert [r.name for r in results] == ["x"]
        clock.advance(1)
        stopping = asyncio.create_task(sup.stop_group("w"))
        await settle()
        for pid in (1000, 1001, 1002):
            sup.child_exited(pid, exited(0))
        results = await stopping
        assert [r.name for r in results] == ["w_02", "w_01", "w_00"]
        results = await sup.stop_all(wait=False)
        assert [r.name for r in results] == ["x"]
        results = await sup.start_group("w", wait=False)
        sup.process("w:w_00").stop()
        results = await sup.stop_group("w", wait=False)
        errors = {r.name: r.error for r in results}
        assert isinstance(errors["w_00"], NotRunningError)

    run(scenario())


def test_signal_and_stdin_need_a_live_process() -> None:
    """signal_process sends to the pid; both refuse a stopped process with NOT_RUNNING."""
    sup, _, spawner = make(program("web", autostart=False))

    async def scenario() -> None:
        with pytest.raises(NotRunningError):
            sup.signal_process("web", signal.SIGHUP)
        with pytest.raises(NotRunningError):
            sup.send_stdin("web", b"hi\n")
        await sup.start_process("web", wait=False)
        sup.signal_process("web", signal.SIGHUP)
        assert spawner.signals == [(1000, signal.SIGHUP)]
        with pytest.raises(NoFileError, match=r"^web$"):
            sup.send_stdin("web", b"hi\n")  # the fake child has no pipes

    run(scenario())


def test_environment_of_the_child() -> None:
    """Daemon env + [supervisord] environment + program env + SUPERVISOR_* (later wins)."""
    group = program("web", environment=(("A", "program"), ("B", "program")))
    sup, _, spawner = make(group, environment=(("A", "daemon"), ("C", "daemon")))

    async def scenario() -> None:
        await sup.start_process("web", wait=False)

    run(scenario())
    env = spawner.requests[0].env
    assert env["KEEP"] == "1"
    assert (env["A"], env["B"], env["C"]) == ("program", "program", "daemon")
    assert env["SUPERVISOR_ENABLED"] == "1"
    assert env["SUPERVISOR_PROCESS_NAME"] == "web"
    assert env["SUPERVISOR_GROUP_NAME"] == "web"
    assert "SUPERVISOR_SERVER_URL" not in env
    assert spawner.requests[0].executable == "/bin/sleep"
    assert spawner.requests[0].argv == ("/bin/sleep", "100")


@pytest.mark.parametrize(
    ("config", "url"),
    [
        (Config(path="x", unix_http_server=UnixHttpServerConfig(file="/run/c.sock")),
         "unix:///run/c.sock"),
        (Config(path="x", inet_http_servers=(InetHttpServerConfig("inet_http_server", "", 9001),)),
         "http://localhost:9001"),
        (Config(path="x"), None),
    ],
)
def test_server_url_follows_the_http_servers(config: Config, url: str | None) -> None:
    """SUPERVISOR_SERVER_URL=AUTO prefers the unix socket, else the inet server."""
    launcher = Launcher(lambda: config, LogFiles())
    pc = ProcessConfig("p", "p", "p", command="/bin/true", serverurl=AUTO)
    assert launcher.server_url(pc) == url
    assert launcher.server_url(dataclasses.replace(pc, serverurl="http://x:1")) == "http://x:1"


def test_events_reach_subscribers_until_unsubscribed() -> None:
    """Listeners get process, daemon and group events; a failing listener hurts nobody."""
    sup, _, _ = make(program("web"))
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("listener bug")

    sup.subscribe(broken)
    stop = sup.subscribe(seen.append)

    async def scenario() -> None:
        task = asyncio.create_task(sup.run())
        await settle()
        sup.shutdown()
        sup.child_exited(1000, exited(0))
        await task

    run(scenario())
    kinds = {type(e) for e in seen}
    assert kinds == {ProcessStateChange, SupervisorStateChange}
    stop()
    count = len(seen)
    sup._set_state(SupervisorState.RUNNING)
    assert len(seen) == count


def test_reload_config_diffs_groups_and_update_applies_it() -> None:
    """reload_config reports added/changed/removed; add_group/remove_group apply them."""
    new_config = Config(path="/etc/test.conf",
                        groups=(program("web", startsecs=5), program("new")))
    sup, _, _ = make(program("web"), program("old", autostart=False),
                     loader=lambda path: new_config)
    events: list[Event] = []
    sup.subscribe(events.append)

    async def scenario() -> None:
        diff = sup.reload_config()
        assert diff == ConfigDiff(added=("new",), changed=("web",), removed=("old",))
        sup.remove_group("old")
        with pytest.raises(BadNameError):
            sup.remove_group("old")
        sup.add_group("new")
        with pytest.raises(AlreadyAddedError):
            sup.add_group("new")
        with pytest.raises(BadNameError):
            sup.add_group("ghost")
        assert sup.process("new").state is S.STARTING, "an added group autostarts"
        with pytest.raises(StillRunningError):
            sup.remove_group("new")

    run(scenario())
    assert [e for e in events if isinstance(e, GroupChange)] == [
        GroupChange("old", added=False), GroupChange("new", added=True)]


def test_add_group_checks_the_configuration_before_the_active_groups() -> None:
    """A group still active but gone from the file after a reread is BAD_NAME, as Supervisor.

    Supervisor's addProcessGroup looks the name up in the configuration first
    (BAD_NAME), and only then asks whether it is already added (ALREADY_ADDED).
    """
    sup, _, _ = make(program("web"), program("old", autostart=False),
                     loader=lambda path: Config(path=path, groups=(program("web"),)))

    async def scenario() -> None:
        sup.reload_config()
        with pytest.raises(BadNameError):
            sup.add_group("old")
        with pytest.raises(AlreadyAddedError):
            sup.add_group("web")
        assert "old" in sup.groups, "nothing changes on a refused add"

    run(scenario())

def test_reload_config_failure_is_cant_reread() -> None:
    """A reader error (or no reader at all) is CANT_REREAD with the reader's message."""
    def broken(path: str) -> Config:
        raise ValueError(f"{path}:3: bad line")

    sup, _, _ = make(program("web"), loader=broken)
    with pytest.raises(CantRereadError, match="bad line"):
        sup.reload_config()
    sup2, _, _ = make(program("web"))
    with pytest.raises(CantRereadError):
        sup2.reload_config()


def test_diff_ignores_where_a_value_was_written() -> None:
    """Only meaning counts: equal groups are unchanged."""
    a = program("web")
    assert diff_groups([a], Config(path="x", groups=(program("web"),))) == ConfigDiff()


def test_restart_reloads_and_starts_again() -> None:
    """restart(): everything stops, the file is read again, autostart runs again (same object)."""
    second = Config(path="/etc/test.conf", groups=(program("other"),))
    sup, _, spawner = make(program("web"), loader=lambda path: second)
    states: list[SupervisorState] = []
    sup.subscribe(lambda e: states.append(e.to_state)
                  if isinstance(e, SupervisorStateChange) else None)

    async def scenario() -> None:
        task = asyncio.create_task(sup.run())
        await settle()
        sup.restart()
        sup.restart()  # a second request while restarting is ignored
        await settle()
        sup.child_exited(1000, killed(signal.SIGTERM))
        await settle()
        assert [p.name for p in sup.processes()] == ["other"]
        assert sup.process("other").state is S.STARTING
        sup.shutdown()
        sup.shutdown()
        await settle()
        sup.child_exited(1001, exited(0))
        await task

    run(scenario())
    assert states == [SupervisorState.RESTARTING, SupervisorState.RUNNING,
                      SupervisorState.SHUTDOWN]
    assert len(spawner.requests) == 2


def test_restart_keeps_the_old_config_when_the_file_is_broken() -> None:
    """A restart with an unreadable file logs the error and runs the old configuration."""
    def broken(path: str) -> Config:
        raise ValueError("broken")

    sup, _, _ = make(program("web"), loader=broken)

    async def scenario() -> None:
        task = asyncio.create_task(sup.run())
        await settle()
        sup.restart()
        await settle()
        sup.child_exited(1000, exited(0))
        await settle()
        assert sup.process("web").state is S.STARTING
        sup.shutdown()
        await settle()
        sup.child_exited(1001, exited(0))
        await task

    run(scenario())


def test_backoff_process_gives_up_at_shutdown() -> None:
    """At shutdown a process waiting in BACKOFF goes FATAL instead of retrying."""
    sup, _, _ = make(program("web"))

    async def scenario() -> None:
        task = asyncio.create_task(sup.run())
        await settle()
        sup.child_exited(1000, exited(1))
        assert sup.process("web").state is S.BACKOFF
        sup.shutdown()
        await task

    run(scenario())
    assert sup.process("web").state is S.FATAL


def test_changes_refused_unless_running() -> None:
    """While shutting down every changing call answers SHUTDOWN_STATE."""
    sup, _, _ = make(program("web"))
    sup.shutdown()

    async def scenario() -> None:
        with pytest.raises(ShutdownStateError):
            await sup.start_process("web")
        with pytest.raises(ShutdownStateError):
            sup.reload_config()

    run(scenario())


def test_unknown_pid_is_not_ours() -> None:
    sup, _, _ = make(program("web"))
    assert sup.child_exited(4242, exited(0)) is False


def test_start_succeeds_once_running_even_if_it_exits_right_after() -> None:
    """RUNNING reached is a successful start, even if it exited before the caller looked;
    with startsecs=0 the process is RUNNING as start returns (Supervisor: "started")."""
    sup, clock, _ = make(
        program("once", autostart=False, startsecs=1), program("zero", autostart=False, startsecs=0)
    )

    async def scenario() -> None:
        start = asyncio.create_task(sup.start_process("once"))
        await settle()
        clock.advance(1)
        sup.child_exited(1000, exited(0))
        await start
        assert sup.process("once").state is S.EXITED
        await sup.start_process("zero")
        assert sup.process("zero").state is S.RUNNING

    run(scenario())
