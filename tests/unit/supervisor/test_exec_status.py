"""A forked child's exec status arrives later, through its pipe: every order of events.

The spawner returns as soon as the child is forked; whether it exec'd comes
from the exec-status pipe, read by the event loop, and the child's exit may be
reaped before or after that pipe is read. These tests drive each order with a
real pipe (``FakeSpawner.exec_later``) on a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from capataz.config.model import Config, GroupConfig, GroupKind, ProcessConfig, SupervisordConfig
from capataz.supervisor import SpawnError, Supervisor, spawn
from capataz.supervisor.clock import FakeClock
from capataz.supervisor.events import ProcessStateChange
from capataz.supervisor.process import Process
from capataz.supervisor.spawn import ExecWatch, SpawnRequest
from capataz.supervisor.states import ProcessState
from capataz.supervisor.testing import FakeSpawner, exited, killed

S = ProcessState
ENOEXEC = "couldn't exec /bin/x: ENOEXEC (Exec format error)"


class Harness:
    def __init__(self, **options: Any) -> None:
        self.clock = FakeClock()
        self.spawner = FakeSpawner()
        self.spawner.exec_later = True
        self.events: list[ProcessStateChange] = []
        config = ProcessConfig(name="web", program_name="web", group_name="web",
                               command="/bin/true", **options)
        self.process = Process(config, clock=self.clock, spawner=self.spawner,
                               prepare=lambda c: SpawnRequest(c.command, (c.command,), {}),
                               on_change=self.events.append)

    @property
    def states(self) -> list[ProcessState]:
        return [e.to_state for e in self.events]


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


async def loop_turns(turns: int = 5) -> None:
    """Let the loop run its ready callbacks (the pipe readers) a few times."""
    for _ in range(turns):
        await asyncio.sleep(0)


def test_starting_until_the_child_has_execed() -> None:
    """With startsecs=0 the process is RUNNING once the child has exec'd, not at the fork."""
    async def scenario() -> None:
        h = Harness(startsecs=0)
        pid = h.process.spawn()
        assert pid == 1000
        await loop_turns()
        assert h.process.state is S.STARTING
        assert h.process.exec_pending
        h.spawner.report_exec(1000)
        await loop_turns()
        assert h.process.state is S.RUNNING
        assert not h.process.exec_pending
        assert h.states == [S.STARTING, S.RUNNING]

    run(scenario)


def test_startsecs_count_from_the_exec() -> None:
    """A child slow to exec does not eat into startsecs."""
    async def scenario() -> None:
        h = Harness(startsecs=5)
        h.process.spawn()
        h.clock.advance(60)
        assert h.process.state is S.STARTING
        h.spawner.report_exec(1000)
        await loop_turns()
        h.clock.advance(4.9)
        assert h.process.state is S.STARTING
        h.clock.advance(0.1)
        assert h.process.state is S.RUNNING

    run(scenario)


@pytest.mark.parametrize("read_first", [True, False])
def test_exec_failure_is_a_spawn_error_then_fatal(read_first: bool) -> None:
    """The reason comes before or after the reaping: either way BACKOFF, then FATAL."""
    async def scenario() -> None:
        h = Harness(startsecs=1, startretries=1)
        for pid in (1000, 1001):
            h.process.spawn()
            h.spawner.report_exec(pid, ENOEXEC)
            if read_first:
                await loop_turns()
                assert h.process.state is S.STARTING, "it waits for the child to be reaped"
                assert h.process.exec_pending
            h.process.child_exited(exited(127))
            assert h.process.spawnerr == ENOEXEC
            assert h.process.pid == 0
            assert h.process.exitstatus is None
            h.clock.advance(1)
        assert h.states == [S.STARTING, S.BACKOFF, S.STARTING, S.BACKOFF, S.FATAL]
        assert h.process.info().description == ENOEXEC

    run(scenario)


def test_exec_failure_is_logged_as_a_spawnerr_without_a_spawned_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        h = Harness(startsecs=0, startretries=0)
        h.process.spawn()
        h.spawner.report_exec(1000, ENOEXEC)
        await loop_turns()
        h.process.child_exited(exited(127))

    with caplog.at_level(logging.INFO, logger="capataz.supervisor"):
        run(scenario)
    messages = [r.getMessage() for r in caplog.records]
    assert f"spawnerr: {ENOEXEC}" in messages
    assert not [m for m in messages if m.startswith("spawned:")]
    assert "gave up: web entered FATAL state, too many start retries too quickly" in messages


@pytest.mark.parametrize(("startsecs", "states"), [
    (0, [S.STARTING, S.RUNNING, S.EXITED]),
    (1, [S.STARTING, S.BACKOFF]),
])
def test_exit_reaped_before_the_exec_news_is_read(startsecs: int, states: list[S]) -> None:
    """It exec'd and exited before the loop read its pipe: an exit as any other."""
    async def scenario() -> None:
        h = Harness(startsecs=startsecs, autorestart=False)
        h.process.spawn()
        h.spawner.report_exec(1000)
        h.process.child_exited(exited(3))
        assert h.states == states
        assert not h.process.exec_pending
        await loop_turns()  # the pipe was closed with the reaping: nothing more happens
        assert h.states == states

    run(scenario)


def test_stopped_before_exec_is_stopped_not_running() -> None:
    """A stop while the child is on its way to exec ends in STOPPED, never RUNNING."""
    async def scenario() -> None:
        h = Harness(startsecs=0)
        h.process.spawn()
        assert h.process.stop() is None
        assert h.spawner.signals == [(1000, 15)]
        h.spawner.report_exec(1000)
        await loop_turns()
        assert h.process.state is S.STOPPING
        h.process.child_exited(killed(15))
        assert h.states == [S.STARTING, S.STOPPING, S.STOPPED]

    run(scenario)


def test_exec_failure_while_stopping_is_a_stop_with_its_reason() -> None:
    async def scenario() -> None:
        h = Harness(startsecs=0)
        h.process.spawn()
        h.process.stop()
        h.spawner.report_exec(1000, ENOEXEC)
        await loop_turns()
        h.process.child_exited(exited(127))
        assert h.states == [S.STARTING, S.STOPPING, S.STOPPED]
        assert h.process.spawnerr == ENOEXEC

    run(scenario)


def test_closing_a_process_stops_watching_its_child() -> None:
    async def scenario() -> None:
        h = Harness(startsecs=0)
        h.process.spawn()
        h.process.close()
        assert not h.process.exec_pending
        h.spawner.report_exec(1000)
        await loop_turns()
        assert h.states == [S.STARTING]

    run(scenario)


def test_exec_watch_keeps_reading_a_message_written_in_pieces() -> None:
    """A reason split over several writes is read whole, whatever the loop saw first."""
    async def scenario() -> None:
        results: list[str | None] = []
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        ExecWatch(read_end, results.append)
        os.write(write_end, b"couldn't chdir ")
        await loop_turns()
        assert results == []
        os.write(write_end, b"to /nowhere: ENOENT")
        os.close(write_end)
        await loop_turns()
        assert results == ["couldn't chdir to /nowhere: ENOENT"]

    run(scenario)


def _supervisor(spawner: FakeSpawner, **options: Any) -> Supervisor:
    process = ProcessConfig(name="web", program_name="web", group_name="web",
                            command="/bin/true", autostart=False, **options)
    config = Config(path="/nonexistent.conf", supervisord=SupervisordConfig(),
                    groups=(GroupConfig("web", 999, GroupKind.PROGRAM, (process,)),))
    return Supervisor(config, clock=FakeClock(), spawner=spawner, reap=False)


@pytest.mark.parametrize("wait", [True, False])
def test_start_process_answers_only_once_the_child_has_execed(wait: bool) -> None:
    """startProcess waits for the exec, so a child that cannot exec is its SPAWN_ERROR."""
    async def scenario() -> None:
        spawner = FakeSpawner()
        spawner.exec_later = True
        sup = _supervisor(spawner, startsecs=0, startretries=0)
        start = asyncio.ensure_future(sup.start_process("web", wait=wait))
        await loop_turns()
        assert not start.done()
        spawner.report_exec(1000, ENOEXEC)
        await loop_turns()
        assert not start.done(), "the reason is known; the child is still to be reaped"
        sup.child_exited(1000, exited(127))
        with pytest.raises(SpawnError):
            await start
        assert sup.process("web").state is S.FATAL

        start = asyncio.ensure_future(sup.start_process("web", wait=wait))
        await loop_turns()
        assert not start.done()
        spawner.report_exec(1001)
        await start
        assert sup.process("web").state is S.RUNNING

    run(scenario)


def test_exec_watch_ends_on_a_read_error_with_what_it_read() -> None:
    """A read that fails (here a reset connection) ends the watch instead of repeating."""
    async def scenario() -> None:
        results: list[str | None] = []
        with socket.create_server(("127.0.0.1", 0)) as server:
            client = socket.create_connection(server.getsockname())
            accepted, _ = server.accept()
            client.sendall(b"couldn't exec")
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()  # with linger 0: a reset, so reading fails with ECONNRESET
            fd = accepted.detach()
            os.set_blocking(fd, False)
            watch = ExecWatch(fd, results.append)
            await loop_turns()
            assert results == ["couldn't exec"]
            watch.cancel()  # after the result: nothing left to close
            assert watch.settle() == "couldn't exec"

    run(scenario)


def _watched_pipe(results: list[str | None]) -> tuple[ExecWatch, int]:
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    return ExecWatch(read_end, results.append), write_end


def test_a_fork_past_the_limit_first_waits_for_the_oldest_exec(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The oldest child's exec is waited for; its result still comes from the loop."""
    monkeypatch.setattr(spawn, "MAX_EXECS_IN_FLIGHT", 2)

    async def scenario() -> None:
        oldest: list[str | None] = []
        newer: list[str | None] = []
        _, oldest_end = _watched_pipe(oldest)
        _, newer_end = _watched_pipe(newer)
        os.write(oldest_end, ENOEXEC.encode())
        os.close(oldest_end)  # the oldest child has failed, the loop has not looked yet
        spawn._make_room_for_a_child()
        assert len(spawn._IN_FLIGHT) == 1
        assert oldest == [], "not called back from inside a spawn"
        await loop_turns()
        assert oldest == [ENOEXEC]
        assert newer == []
        os.close(newer_end)
        await loop_turns()
        assert newer == [None]
        assert not spawn._IN_FLIGHT

    run(scenario)


def test_an_outcome_settled_before_the_loop_delivers_it_is_given_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reaped between the wait and the loop's turn: settle() has it, no callback follows."""
    monkeypatch.setattr(spawn, "MAX_EXECS_IN_FLIGHT", 1)

    async def scenario() -> None:
        results: list[str | None] = []
        watch, write_end = _watched_pipe(results)
        os.close(write_end)
        spawn._make_room_for_a_child()
        assert watch.settle() is None
        await loop_turns()
        assert results == []

    run(scenario)
