"""Real children forked back to back: exec results arrive later and out of order."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import pytest
from tests.integration.supervisor.helpers import child, config, program, running, wait_for

from capataz.supervisor import Event, ProcessState, ProcessStateChange, SpawnError, spawn

S = ProcessState


def _not_a_program(tmp_path: Path) -> Path:
    """Executable, but neither a binary nor a script: exec fails with ENOEXEC."""
    path = tmp_path / "garbage"
    path.write_bytes(b"\x00\x01\x02 not a program\n")
    path.chmod(0o755)
    return path


def test_exec_failures_among_many_children_spawning_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each child's exec result reaches its own process: the good run, the bad are FATAL."""
    garbage = _not_a_program(tmp_path)
    cfg = config(
        tmp_path,
        program("good", "/bin/sleep 60", numprocs=30, startsecs=0, priority=1),
        program("nodir", "/bin/sleep 60", numprocs=10, startsecs=0, startretries=0,
                directory="/no/such/dir", priority=2),
        program("noexec", str(garbage), numprocs=10, startsecs=0, startretries=0, priority=3),
        program("late", "/bin/sleep 60", numprocs=10, startsecs=0, priority=4),
    )

    async def scenario() -> None:
        async with running(cfg) as sup:
            procs = sup.processes()
            await wait_for(lambda: all(p.state in (S.RUNNING, S.FATAL) for p in procs))
            by_group: dict[str, set[S]] = {}
            for p in procs:
                by_group.setdefault(p.group, set()).add(p.state)
            assert by_group == {"good": {S.RUNNING}, "nodir": {S.FATAL},
                                "noexec": {S.FATAL}, "late": {S.RUNNING}}
            for p in sup.group("nodir").processes.values():
                assert p.spawnerr == "couldn't chdir to /no/such/dir: ENOENT " \
                                     "(No such file or directory)"
                assert p.pid == 0
            for p in sup.group("noexec").processes.values():
                assert p.spawnerr == f"couldn't exec {garbage}: ENOEXEC (Exec format error)"
            running_pids = [p.pid for p in procs if p.state is S.RUNNING]
            assert len(set(running_pids)) == 40

    with caplog.at_level(logging.INFO, logger="capataz.supervisor"):
        asyncio.run(scenario())
    messages = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("spawnerr: couldn't chdir to /no/such/dir") for m in messages) == 10
    assert sum(m.startswith(f"spawnerr: couldn't exec {garbage}") for m in messages) == 10
    spawned = [m for m in messages if m.startswith("spawned:")]
    assert len(spawned) == 40
    assert not [m for m in spawned if "nodir" in m or "noexec" in m]


def test_start_without_wait_still_reports_a_child_that_cannot_exec(tmp_path: Path) -> None:
    """startProcess(wait=False) answers SPAWN_ERROR for an exec failure, as before."""
    cfg = config(tmp_path, program("bad", "/bin/sleep 60", autostart=False, startretries=0,
                                   directory="/no/such/dir"))

    async def scenario() -> None:
        async with running(cfg) as sup:
            with pytest.raises(SpawnError):
                await sup.start_process("bad", wait=False)
            assert sup.process("bad").state is S.FATAL
            assert "couldn't chdir to /no/such/dir" in (sup.process("bad").spawnerr or "")

    asyncio.run(scenario())


def _signal_masks(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        fields = dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
    return {name: int(fields[name], 16) for name in ("SigBlk", "SigIgn", "SigCgt")}


def test_children_start_with_default_signals_whatever_the_daemon_set(tmp_path: Path) -> None:
    """Nothing blocked, nothing ignored, no handler: the daemon's own dispositions stay home.

    The daemon ignores SIGPIPE (Python does) and here also SIGHUP and SIGUSR1; a
    child that inherited SIG_IGN would keep it across exec.
    """
    cfg = config(tmp_path, program("sleeper", "/bin/sleep 60", numprocs=5, startsecs=0),
                 program("pdeath", child("show_pdeathsig.py"), startsecs=0))
    previous = {signum: signal.signal(signum, signal.SIG_IGN)
                for signum in (signal.SIGHUP, signal.SIGUSR1)}

    async def scenario() -> None:
        async with running(cfg) as sup:
            procs = sup.processes()
            await wait_for(lambda: all(p.state is S.RUNNING for p in procs))
            await wait_for(lambda: b"pdeathsig=" in sup.output_tail("pdeath"))
            for p in sup.group("sleeper").processes.values():
                assert _signal_masks(p.pid) == {"SigBlk": 0, "SigIgn": 0, "SigCgt": 0}
            assert sup.output_tail("pdeath").strip() == f"pdeathsig={signal.SIGKILL}".encode()

    try:
        asyncio.run(scenario())
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def test_children_in_flight_to_exec_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_EXECS_IN_FLIGHT a fork first waits for the oldest exec; results stay right.

    Each child on its way to exec holds a descriptor in the daemon, so their
    number is bounded for a daemon near its descriptor limit.
    """
    monkeypatch.setattr(spawn, "MAX_EXECS_IN_FLIGHT", 2)
    cfg = config(
        tmp_path,
        program("good", "/bin/sleep 60", numprocs=8, startsecs=0, priority=1, autostart=False),
        program("nodir", "/bin/sleep 60", numprocs=3, startsecs=0, startretries=0,
                directory="/no/such/dir", priority=2, autostart=False),
    )
    in_flight_at_fork: list[int] = []

    def on_change(event: Event) -> None:
        if isinstance(event, ProcessStateChange) and event.to_state is S.STARTING:
            in_flight_at_fork.append(len(spawn._IN_FLIGHT))

    async def scenario() -> None:
        async with running(cfg) as sup:
            sup.subscribe(on_change)
            results = await sup.start_all(wait=False)
            assert [r.error is None for r in results] == [True] * 8 + [False] * 3
            procs = sup.processes()
            await wait_for(lambda: all(p.state in (S.RUNNING, S.FATAL) for p in procs))
            assert {p.state for p in sup.group("good").processes.values()} == {S.RUNNING}
            for p in sup.group("nodir").processes.values():
                assert p.state is S.FATAL
                assert (p.spawnerr or "").startswith("couldn't chdir to /no/such/dir")

    asyncio.run(scenario())
    assert len(in_flight_at_fork) == 11
    assert max(in_flight_at_fork) <= 2
    assert not spawn._IN_FLIGHT
