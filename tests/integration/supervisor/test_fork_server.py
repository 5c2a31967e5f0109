"""Children forked by the fork server: the same children as forked by the daemon itself."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import stat
import struct
import time
from pathlib import Path

import pytest
from tests.integration.supervisor.helpers import alive, child, config, program, running, wait_for

from capataz.supervisor import ProcessState, forkserver, spawn
from capataz.supervisor.spawn import ForkServerSpawner, SpawnRequest
from capataz.supervisor.supervisor import FORK_SERVER_FROM, autostart_count

S = ProcessState
MANY = FORK_SERVER_FROM + 4


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        return dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)


def _reap(pid: int, within: float = 10.0) -> int:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    raise AssertionError(f"pid {pid} did not exit")


def test_many_autostarted_children_come_from_the_fork_server_and_are_ours(
    tmp_path: Path,
) -> None:
    """Our children (ppid), default signals, parent-death signal, stdio only; server let go."""
    cfg = config(tmp_path, program("sleeper", "/bin/sleep 60", numprocs=MANY, startsecs=0),
                 program("pdeath", child("show_pdeathsig.py"), startsecs=0))
    assert autostart_count(cfg.groups) >= FORK_SERVER_FROM
    previous = {signum: signal.signal(signum, signal.SIG_IGN)
                for signum in (signal.SIGHUP, signal.SIGUSR1)}
    server_pids: list[int] = []
    real_start = ForkServerSpawner.start

    def start(self: ForkServerSpawner) -> bool:
        started = real_start(self)
        server_pids.append(self.server_pid)
        return started

    async def scenario() -> None:
        async with running(cfg) as sup:
            procs = sup.processes()
            await wait_for(lambda: all(p.state is S.RUNNING for p in procs))
            await wait_for(lambda: b"pdeathsig=" in sup.output_tail("pdeath"))
            assert server_pids
            assert all(server_pids)
            for p in sup.group("sleeper").processes.values():
                status = _status(p.pid)
                assert int(status["PPid"]) == os.getpid()
                assert {k: int(status[k], 16) for k in ("SigBlk", "SigIgn", "SigCgt")} == \
                    {"SigBlk": 0, "SigIgn": 0, "SigCgt": 0}
                assert sorted(int(fd) for fd in os.listdir(f"/proc/{p.pid}/fd")) == [0, 1, 2]
            assert sup.output_tail("pdeath").strip() == f"pdeathsig={signal.SIGKILL}".encode()
            # The autostart is over: the server was told to go, and it went.
            await wait_for(lambda: not alive(server_pids[0]))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ForkServerSpawner, "start", start)
        try:
            asyncio.run(scenario())
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def test_start_group_of_many_goes_through_the_fork_server(tmp_path: Path) -> None:
    """startProcessGroup with many processes: the server forks them, the results are as ever."""
    cfg = config(tmp_path, program("sleeper", "/bin/sleep 60", numprocs=MANY, startsecs=0,
                                   autostart=False),
                 program("nodir", "/bin/sleep 60", numprocs=MANY, startsecs=0, startretries=0,
                         autostart=False, directory="/no/such/dir"))
    servers: list[int] = []
    real_start = ForkServerSpawner.start

    def start(self: ForkServerSpawner) -> bool:
        servers.append(os.getpid())
        return real_start(self)

    async def scenario() -> None:
        async with running(cfg) as sup:
            results = await sup.start_group("sleeper")
            assert [r.error for r in results] == [None] * MANY
            assert all(p.state is S.RUNNING for p in sup.group("sleeper").processes.values())
            failed = await sup.start_group("nodir", wait=False)
            assert all(r.error is not None and r.error.fault == "SPAWN_ERROR" for r in failed)
            for p in sup.group("nodir").processes.values():
                assert p.state is S.FATAL
                assert p.spawnerr == "couldn't chdir to /no/such/dir: ENOENT " \
                                     "(No such file or directory)"

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ForkServerSpawner, "start", start)
        asyncio.run(scenario())
    assert len(servers) == 2


def _spawn_sleep(spawner: ForkServerSpawner) -> int:
    child_ = spawner.spawn(SpawnRequest("/bin/sleep", ("sleep", "30"), {}))
    for fd in (child_.stdin, child_.stdout, child_.stderr, child_.exec_status):
        if fd is not None:
            os.close(fd)
    return child_.pid


def _finish(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    _reap(pid)


def test_a_killed_fork_server_means_forking_in_process(caplog: pytest.LogCaptureFixture) -> None:
    spawner = ForkServerSpawner()
    assert spawner.start()
    assert spawner.start()  # already running: nothing more
    first = _spawn_sleep(spawner)
    assert int(_status(first)["PPid"]) == os.getpid()
    server = _status(spawner.server_pid)
    assert int(server["PPid"]) == os.getpid()
    assert int(server["SigBlk"], 16) == 0  # started blocked, it unblocked once ready
    os.kill(spawner.server_pid, signal.SIGKILL)
    _reap(spawner.server_pid)
    second = _spawn_sleep(spawner)  # forked here, the server being gone
    assert alive(second)
    assert int(_status(second)["PPid"]) == os.getpid()
    third = _spawn_sleep(spawner)
    assert alive(third)
    for pid in (first, second, third):
        _finish(pid)


def test_a_fork_server_that_does_not_answer_is_killed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mute = tmp_path / "mute"
    mute.write_text("#!/bin/sh\nexec sleep 30\n")
    mute.chmod(mute.stat().st_mode | stat.S_IEXEC)
    spawner = ForkServerSpawner(python=str(mute), reply_timeout=0.3)
    assert spawner.start()
    pid = _spawn_sleep(spawner)
    assert alive(pid)
    assert os.WTERMSIG(_reap(spawner.server_pid)) == signal.SIGKILL
    assert "the fork server failed" in caplog.text
    _finish(pid)


def test_an_idle_fork_server_exits_and_spawning_goes_on(tmp_path: Path) -> None:
    spawner = ForkServerSpawner(idle=0.2)
    assert spawner.start()
    pid = _spawn_sleep(spawner)
    assert os.WEXITSTATUS(_reap(spawner.server_pid)) == 0
    again = _spawn_sleep(spawner)
    assert alive(again)
    for child_pid in (pid, again):
        _finish(child_pid)
    spawner.close()
    spawner.close()


def test_no_fork_server_where_clone_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forkserver, "_SYS_CLONE", None)
    spawner = ForkServerSpawner()
    assert not spawner.start()
    pid = _spawn_sleep(spawner)
    assert alive(pid)
    _finish(pid)


def test_a_fork_server_that_cannot_start_means_forking_in_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(argv: list[str], sock_fd: int) -> int:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(spawn, "_fork_server", refuse)
    spawner = ForkServerSpawner()
    assert not spawner.start()
    assert "can't start the fork server" in caplog.text
    pid = _spawn_sleep(spawner)
    _finish(pid)


def test_a_failed_clone_means_forking_in_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The server's answer -errno: the daemon forks this child and the next ones itself."""
    spawner = ForkServerSpawner()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    theirs.send(forkserver.REPLY.pack(-errno.EPERM))
    monkeypatch.setattr(spawner, "_sock", ours)
    pid = _spawn_sleep(spawner)
    assert alive(pid)
    assert "its clone failed: Operation not permitted" in caplog.text
    message, ancillary, _, _ = theirs.recvmsg(1 << 16, socket.CMSG_SPACE(16))
    assert message
    assert ancillary  # the request went with the child's descriptors
    for fd in forkserver._received_fds(ancillary):
        os.close(fd)
    assert theirs.recv(8) == b""  # the daemon let the server go
    theirs.close()
    _finish(pid)


class TestServe:
    """The server's loop, in this process, on the requests that fork nothing."""

    def test_a_request_it_cannot_read_is_answered_einval(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        r, w = os.pipe()
        ours.sendmsg([b"not marshal"],
                     [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("2i", r, w))])
        ours.shutdown(socket.SHUT_WR)
        forkserver.serve(theirs, idle=5)
        assert forkserver.REPLY.unpack(ours.recv(8)) == (-errno.EINVAL,)
        for fd in (r, w):  # the server closed its copies; ours are still open
            os.close(fd)
        ours.close()
        theirs.close()

    def test_it_returns_at_end_of_file_and_when_idle(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.close()
        forkserver.serve(theirs, idle=5)
        theirs.close()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        started = time.monotonic()
        forkserver.serve(theirs, idle=0.05)
        assert time.monotonic() - started < 5
        ours.close()
        theirs.close()

    def test_an_answer_nobody_reads_ends_it(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.send(b"x")
        ours.close()
        forkserver.serve(theirs, idle=5)
        theirs.close()

    def test_supported_here(self) -> None:
        assert forkserver.supported() == (os.uname().machine in ("x86_64", "aarch64"))


class TestForkOne:
    """The server's fork of one child, run here (a plain fork standing in for the clone)."""

    def test_the_child_gets_its_descriptors_and_execs(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(forkserver, "clone_sibling", os.fork)
        stdin_r, stdin_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        message = forkserver.encode_request(
            "/bin/sh", ("sh", "-c", "echo out; echo err >&2; exit 3"), {"PATH": "/bin"},
            directory="/", umask=0o22, user=None, parent_pid=os.getpid())
        pid = forkserver._fork_one(message, [stdin_r, out_w, err_w])
        for fd in (stdin_r, out_w, err_w):
            os.close(fd)
        assert pid > 0
        assert os.WEXITSTATUS(_reap(pid)) == 3
        assert os.read(err_r, 100) == b""  # it exec'd
        assert os.read(out_r, 100) == b"out\nerr\n"  # no stderr pipe: stderr is stdout
        for fd in (stdin_w, out_r, err_r):
            os.close(fd)

    def test_a_refused_clone_is_answered_with_its_errno(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # CLONE_SIGHAND without CLONE_VM: the kernel refuses, nothing is forked.
        monkeypatch.setattr(forkserver, "_CLONE_PARENT", 0x00000800)
        with pytest.raises(OSError, match="Invalid argument"):
            forkserver.clone_sibling()
        message = forkserver.encode_request("/bin/true", ("true",), {}, directory=None,
                                            umask=None, user=None, parent_pid=os.getpid())
        assert forkserver._fork_one(message, [0, 1, 2, 2]) == -errno.EINVAL

    def test_a_refused_parent_death_signal_raises(self) -> None:
        with pytest.raises(OSError, match="Invalid argument"):
            forkserver.set_parent_death_signal(9999)
