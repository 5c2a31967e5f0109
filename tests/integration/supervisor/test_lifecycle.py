"""Real children under the Supervisor: stopping, process groups, crash loops, spawning."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import signal
import stat
from pathlib import Path

import pytest
from tests.integration.supervisor.helpers import (
    alive,
    child,
    config,
    program,
    running,
    wait_for,
)

from capataz.config.model import ChannelLog
from capataz.supervisor import ProcessState

S = ProcessState


def test_child_ignoring_sigterm_is_killed_after_stopwaitsecs(tmp_path: Path) -> None:
    """stopsignal is ignored, so SIGKILL follows stopwaitsecs later and the stop completes."""
    cfg = config(tmp_path, program("stubborn", child("ignore_term.py"), stopwaitsecs=1,
                                   startsecs=0))

    async def scenario() -> None:
        async with running(cfg) as sup:
            proc = sup.process("stubborn")
            await wait_for(lambda: proc.state is S.RUNNING and b"ready" in sup.output_tail(
                "stubborn"))
            pid = proc.pid
            states: list[S] = []
            sup.subscribe(lambda e: states.append(getattr(e, "to_state", S.UNKNOWN)))
            await sup.stop_process("stubborn")
            assert proc.state is S.STOPPED
            assert states == [S.STOPPING, S.STOPPING, S.STOPPED]
            assert proc.exitstatus == -1
            assert not alive(pid)

    asyncio.run(scenario())


@pytest.mark.parametrize("parent_ignores_term", [True, False])
def test_stopasgroup_stops_the_grandchild_too(tmp_path: Path, parent_ignores_term: bool) -> None:
    """With stopasgroup the stop reaches the whole process group, grandchildren included.

    The grandchild ignores SIGTERM. If the child ignores it too, the group SIGKILL
    after stopwaitsecs ends both (Supervisor does the same). If the child exits at
    once, the grandchild still gets the group SIGKILL when stopwaitsecs runs out,
    where Supervisor would leave it running as an orphan.
    """
    pidfile = tmp_path / "grandchild.pid"
    extra = ["--parent-ignores-term"] if parent_ignores_term else []
    cfg = config(tmp_path, program("parent", child("with_grandchild.py", pidfile, *extra),
                                   startsecs=0, stopasgroup=True, killasgroup=True,
                                   stopwaitsecs=1))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: pidfile.exists() and b"ready" in sup.output_tail("parent"))
            grandchild = int(pidfile.read_text())
            assert os.getpgid(grandchild) == sup.process("parent").pid
            await sup.stop_process("parent")
            assert sup.process("parent").exitstatus == -1
            await wait_for(lambda: not alive(grandchild))

    try:
        asyncio.run(scenario())
    finally:
        kill_pid_in(pidfile)


def test_without_stopasgroup_the_grandchild_survives_the_stop(tmp_path: Path) -> None:
    """The default signals the child alone, as Supervisor does (why stopasgroup exists)."""
    pidfile = tmp_path / "grandchild.pid"
    cfg = config(tmp_path, program("parent", child("with_grandchild.py", pidfile), startsecs=0,
                                   stopwaitsecs=1))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(pidfile.exists)
            grandchild = int(pidfile.read_text())
            await sup.stop_process("parent")
            assert alive(grandchild)

    try:
        asyncio.run(scenario())
    finally:
        kill_pid_in(pidfile)


def kill_pid_in(pidfile: Path) -> None:
    """Test cleanup: the grandchild outlives its group on purpose in some tests."""
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pidfile.read_text()), signal.SIGKILL)


def test_crash_loop_ends_fatal_after_startretries(tmp_path: Path) -> None:
    """A command that exits at once is tried 1+startretries times, then FATAL; the daemon lives."""
    cfg = config(tmp_path, program("crash", child("exit_with.py", 3), startretries=2),
                 program("fine", child("worker.py", 5), startsecs=0))

    async def scenario() -> None:
        async with running(cfg) as sup:
            proc = sup.process("crash")
            tries: list[int] = []
            sup.subscribe(lambda e: tries.append(e.tries) if getattr(e, "to_state", None)
                          is S.BACKOFF and e.process == "crash" else None)  # type: ignore[union-attr]
            await wait_for(lambda: proc.state is S.FATAL)
            assert tries == [1, 2, 3]
            assert proc.spawnerr == "Exited too quickly (process log may have details)"
            assert b"exiting with 3" in sup.output_tail("crash")
            assert sup.process("fine").state is S.RUNNING

    asyncio.run(scenario())


def test_killed_child_is_restarted_with_a_new_pid(tmp_path: Path) -> None:
    """autorestart=true: a RUNNING child killed from outside comes back with a new pid."""
    from capataz.config.model import AutoRestart

    cfg = config(tmp_path, program("w", child("worker.py", 5), startsecs=1,
                                   autorestart=AutoRestart.ALWAYS))

    async def scenario() -> None:
        async with running(cfg) as sup:
            proc = sup.process("w")
            await wait_for(lambda: proc.state is S.RUNNING)
            old = proc.pid
            os.kill(old, signal.SIGKILL)
            await wait_for(lambda: proc.state is S.RUNNING and proc.pid not in (0, old))
            assert proc.exitstatus is None or proc.exitstatus == -1

    asyncio.run(scenario())


def _start_show_fds(tmp_path: Path, **options: object) -> dict[str, object]:
    cfg = config(tmp_path, program("show", child("show_fds.py"), startsecs=0, **options))
    result: dict[str, object] = {}

    async def scenario() -> None:
        async with running(cfg, environ={"PATH": os.environ["PATH"], "FROM_DAEMON": "yes"}) as sup:
            await wait_for(lambda: sup.output_tail("show").endswith(b"\n"))
            result.update(json.loads(sup.output_tail("show")))
            result["daemon_pid"] = sup.process("show").pid

    asyncio.run(scenario())
    return result


def test_daemon_descriptors_do_not_leak_into_children(tmp_path: Path) -> None:
    """A child sees only 0, 1, 2, even though the daemon holds pipes, logs and an epoll fd."""
    keep_open = os.open(tmp_path / "inheritable", os.O_CREAT | os.O_WRONLY)
    os.set_inheritable(keep_open, True)  # even one marked inheritable must not pass
    try:
        info = _start_show_fds(tmp_path)
    finally:
        os.close(keep_open)
    assert info["fds"] == [0, 1, 2]


def test_child_runs_in_its_own_process_group_with_the_environment(tmp_path: Path) -> None:
    """pgid == pid; env merged with SUPERVISOR_*; directory and umask applied."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    info = _start_show_fds(tmp_path, directory=str(workdir), umask=0o027,
                           environment=(("APP_ENV", "production"),))
    assert info["pgid"] == info["pid"]
    env = info["env"]
    assert isinstance(env, dict)
    assert env["FROM_DAEMON"] == "yes"
    assert env["APP_ENV"] == "production"
    assert env["SUPERVISOR_ENABLED"] == "1"
    assert env["SUPERVISOR_PROCESS_NAME"] == "show"
    assert env["SUPERVISOR_GROUP_NAME"] == "show"
    assert info["cwd"] == str(workdir)
    assert info["umask"] == 0o027


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_user_drops_privileges_and_sets_home(tmp_path: Path) -> None:
    """user=nobody: uid, gid and groups are nobody's, and so are HOME, USER and LOGNAME."""
    nobody = pwd.getpwnam("nobody")
    script = "echo $(id -u) $(id -g) $(id -G) $HOME $USER $LOGNAME; exec sleep 60"
    cfg = config(tmp_path, program("as_nobody", f"/bin/sh -c '{script}'", startsecs=0,
                                   user="nobody"))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: sup.output_tail("as_nobody").endswith(b"\n"))
            words = sup.output_tail("as_nobody").decode().split()
            uid, gid = str(nobody.pw_uid), str(nobody.pw_gid)
            assert words[:3] == [uid, gid, gid]
            assert words[3:] == [nobody.pw_dir, "nobody", "nobody"]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"command": "no-such-program-anywhere"}, "can't find command"),
        ({"command": "/etc/passwd"}, "is not executable"),
        ({"command": "/tmp"}, "is a directory"),
        ({"directory": "/no/such/dir"}, "couldn't chdir to /no/such/dir: ENOENT"),
        ({"user": "no-such-user-here"}, "can't find user 'no-such-user-here'"),
    ],
)
def test_spawn_failure_is_fatal_with_a_clear_spawnerr(
    tmp_path: Path, options: dict[str, str], message: str
) -> None:
    """A spawn that cannot happen ends in FATAL with the reason; the daemon keeps running."""
    command = options.pop("command", child("worker.py", 5))
    cfg = config(tmp_path, program("bad", command, startretries=1, **options),
                 program("good", child("worker.py", 5), startsecs=0))

    async def scenario() -> None:
        async with running(cfg) as sup:
            proc = sup.process("bad")
            await wait_for(lambda: proc.state is S.FATAL)
            assert message in (proc.spawnerr or "")
            assert message in proc.info().description
            assert sup.process("good").state is S.RUNNING

    asyncio.run(scenario())


def test_non_executable_file_in_path_is_reported(tmp_path: Path) -> None:
    """A PATH hit without the execute bit is NOT_EXECUTABLE, found through the program's PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "tool"
    script.write_text("#!/bin/sh\n")
    script.chmod(stat.S_IRUSR)
    cfg = config(tmp_path, program("tool", "tool", startretries=0,
                                   environment=(("PATH", str(bindir)),)))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: sup.process("tool").state is S.FATAL)
            assert "is not executable" in (sup.process("tool").spawnerr or "")

    asyncio.run(scenario())


def test_stdin_reaches_the_child(tmp_path: Path) -> None:
    """send_stdin writes to the child's stdin pipe."""
    cfg = config(tmp_path, program("cat", "cat", startsecs=0))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: sup.process("cat").state is S.RUNNING)
            sup.send_stdin("cat", b"hello through stdin\n")
            await wait_for(lambda: b"hello through stdin\n" in sup.output_tail("cat"))

    asyncio.run(scenario())


def test_stdin_larger_than_the_pipe_waits_instead_of_failing(tmp_path: Path) -> None:
    """1 MiB to a child not reading yet: queued, never blocking the daemon, all delivered."""
    out = tmp_path / "cat.log"
    cfg = config(tmp_path, program("cat", "/bin/sh -c 'sleep 0.5; exec cat'", startsecs=0,
                                   stdout=ChannelLog(logfile=str(out))))
    payload = b"".join(b"%07d\n" % n for n in range(131072))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: sup.process("cat").state is S.RUNNING)
            sup.send_stdin("cat", payload[:600_000])
            sup.send_stdin("cat", payload[600_000:])
            stdin = sup.process("cat").stdin
            assert stdin is not None
            assert stdin.pending > 0, "the pipe could not take it all at once"
            await wait_for(lambda: out.exists() and out.stat().st_size == len(payload))
            assert stdin.pending == 0

    asyncio.run(scenario())
    assert out.read_bytes() == payload


def test_out_of_descriptors_is_a_spawn_error_not_a_crash() -> None:
    """With no descriptor left for the pipes, spawn fails with a hint about minfds."""
    import resource

    from capataz.supervisor.errors import SpawnError
    from capataz.supervisor.spawn import ForkExecSpawner, SpawnRequest

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (3, hard))
    try:
        with pytest.raises(SpawnError, match="raise minfds"):
            ForkExecSpawner().spawn(SpawnRequest("/bin/true", ("true",), {}))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
