"""Starting a child: resolve the command, build its environment, fork and exec.

The ``Spawner`` protocol is the seam the process state machine uses; the real
ones fork and exec without ``subprocess`` because the
child needs things ``subprocess`` cannot give in one go: a parent-death signal
set *after* dropping privileges, its own process group, every inherited
descriptor closed, and exact error messages for the ``spawnerr`` a client sees.
Everything that can fail is checked in the parent first (command, user), and
what can only fail in the child (``directory``, ``setuid``, ``exec``) comes
back through a close-on-exec pipe: end of file without a word means the child
has exec'd, a message means it could not and is exiting. ``spawn()`` returns as
soon as the child is forked, and ``ExecWatch`` reads that pipe from the event
loop, so the daemon forks the next child while this one is still on its way to
``exec``: starting many processes is not serialized on each child being
scheduled.

``ForkExecSpawner`` forks in the daemon. ``ForkServerSpawner`` (the daemon's)
has a small fork server fork instead, as a child of the daemon all the same
(see ``forkserver``): forking the daemon's own ~25 MB heap was most of what a
spawn cost, on both sides of the fork. The child runs the same code either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import grp
import logging
import os
import pwd
import shlex
import signal
import socket
import stat
import struct
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from capataz.config.commands import candidates
from capataz.supervisor import forkserver
from capataz.supervisor.errors import NoFileError, NotExecutableError, SpawnError

log = logging.getLogger("capataz.supervisor")
_ALL_SIGNALS = forkserver.ALL_SIGNALS
_set_sigmask = forkserver.set_sigmask


@dataclass(frozen=True, slots=True)
class UserIds:
    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str


@dataclass(frozen=True, slots=True)
class SpawnRequest:
    executable: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    directory: str | None = None
    umask: int | None = None
    user: UserIds | None = None
    redirect_stderr: bool = False


@dataclass(frozen=True, slots=True)
class SpawnedChild:
    """The parent's side of a new child; fds are non-blocking pipe ends (None: not piped).

    ``exec_status`` is the read end of the child's exec-status pipe (see
    ``ExecWatch``); None when the spawner knows the child has exec'd already.
    """

    pid: int
    stdin: int | None = None
    stdout: int | None = None
    stderr: int | None = None
    exec_status: int | None = None


class Spawner(Protocol):
    def spawn(self, request: SpawnRequest) -> SpawnedChild:
        """Start the child or raise ``SpawnError`` with the reason the parent can see."""

    def kill(self, pid: int, signum: int) -> None:
        """Send a signal; ``pid`` < 0 means a process group. Raises ``OSError``."""


def resolve_command(command: str, path: str | None) -> tuple[str, tuple[str, ...]]:
    """Split ``command`` as Supervisor does (shlex, no shell) and find the program.

    Returns the executable's path and argv (argv[0] stays as written).
    """
    try:
        argv = _split_command(command)
    except ValueError as exc:
        raise NotExecutableError(f"can't parse command {command!r}: {exc}") from None
    if not argv:
        raise NotExecutableError("command is empty; give the program to run in command=")
    program = argv[0]
    for candidate in candidates(program, path or os.defpath):
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            raise NotExecutableError(f"command at {candidate!r} is a directory")
        if not os.access(candidate, os.X_OK):
            raise NotExecutableError(f"command at {candidate!r} is not executable")
        return candidate, argv
    raise NoFileError(f"can't find command {program!r}")  # Supervisor's words, shown in status


@functools.lru_cache(maxsize=4096)
def _split_command(command: str) -> tuple[str, ...]:
    # Every spawn checks the command again; splitting the same text is the same.
    return tuple(shlex.split(command))


def lookup_user(name: str) -> UserIds:
    try:
        entry = pwd.getpwnam(name) if not name.isdigit() else pwd.getpwuid(int(name))
    except KeyError:
        raise SpawnError(f"can't find user {name!r}; create it or fix user=") from None
    groups = {g.gr_gid for g in grp.getgrall() if entry.pw_name in g.gr_mem}
    groups.add(entry.pw_gid)
    return UserIds(entry.pw_name, entry.pw_uid, entry.pw_gid, tuple(sorted(groups)), entry.pw_dir)


def build_environment(
    base: Mapping[str, str],
    daemon_env: tuple[tuple[str, str], ...],
    program_env: tuple[tuple[str, str], ...],
    *,
    process_name: str,
    group_name: str,
    server_url: str | None,
    user: UserIds | None,
) -> dict[str, str]:
    """The child's environment, later layers winning: as Supervisor merges it.

    With ``user=`` we also set HOME, USER and LOGNAME (Supervisor leaves the
    daemon's, which sends programs looking in root's home); ``environment=``
    still overrides them.
    """
    env = dict(base)
    env.update(daemon_env)
    if user is not None:
        env.update(HOME=user.home, USER=user.name, LOGNAME=user.name)
    env.update(program_env)
    env["SUPERVISOR_ENABLED"] = "1"
    env["SUPERVISOR_PROCESS_NAME"] = process_name
    env["SUPERVISOR_GROUP_NAME"] = group_name
    if server_url:
        env["SUPERVISOR_SERVER_URL"] = server_url
    return env


class ForkExecSpawner:
    """Fork in the calling thread; the child execs on its own, the parent does not wait."""

    def spawn(self, request: SpawnRequest) -> SpawnedChild:
        _make_room_for_a_child()
        pipes = _ChildPipes(request.redirect_stderr)
        try:
            pid = self._start(request, pipes)
        except BaseException:
            pipes.close_all()
            raise
        return pipes.hand_over(pid)

    def _start(self, request: SpawnRequest, pipes: _ChildPipes) -> int:
        return _fork_here(request, pipes)

    def kill(self, pid: int, signum: int) -> None:
        os.kill(pid, signum)


class ForkServerSpawner(ForkExecSpawner):
    """Children forked by a fork server (``forkserver``) while one runs, else in-process.

    The server is for starting many processes at once (``start()`` before,
    ``close()`` after): it takes a Python start-up to launch, and it shows as
    one more child of the daemon while it runs. ``start()`` does not wait for
    it: a request sent before it is up waits in its socket. If the server fails
    (killed, or gone idle), the spawn in hand and the next ones fork in-process.
    """

    def __init__(self, *, python: str | None = None, idle: float = forkserver.IDLE_SECONDS,
                 reply_timeout: float = 10.0) -> None:
        self._python = python or sys.executable
        self._idle = idle
        self._reply_timeout = reply_timeout
        self._sock: socket.socket | None = None
        self.server_pid = 0

    def start(self) -> bool:
        """Launch a fork server unless one runs; False if none can run here."""
        if self._sock is not None:
            return True
        if not forkserver.supported():
            return False
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [self._python, "-I", "-S", forkserver.__file__, str(theirs.fileno()),
                str(os.getpid()), repr(self._idle)]
        try:
            self.server_pid = _fork_server(argv, theirs.fileno())
        except OSError as exc:
            ours.close()
            log.warning("can't start the fork server (%s); forking in the daemon", exc)
            return False
        finally:
            theirs.close()
        ours.settimeout(self._reply_timeout)
        self._sock = ours
        return True

    def close(self) -> None:
        """Let the server go (it exits when its socket closes)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _start(self, request: SpawnRequest, pipes: _ChildPipes) -> int:
        sock = self._sock
        if sock is None:
            return _fork_here(request, pipes)
        message = forkserver.encode_request(
            request.executable, request.argv, request.env, directory=request.directory,
            umask=request.umask, parent_pid=os.getpid(), user=_user_spec(request),
        )
        try:
            sock.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                      struct.pack(f"{len(pipes.child_ends)}i", *pipes.child_ends))])
            reply = sock.recv(forkserver.REPLY.size)
            (pid,) = forkserver.REPLY.unpack(reply)
        except (OSError, struct.error) as exc:
            self._lost(exc)
            return _fork_here(request, pipes)
        if pid < 0:
            # Out of processes or memory, or a clone this system refuses (a seccomp
            # filter, say): the daemon's own fork tells which, with its own error.
            self._lost(OSError(-pid, f"its clone failed: {os.strerror(-pid)}"))
            return _fork_here(request, pipes)
        return int(pid)

    def _lost(self, exc: Exception) -> None:
        # An empty reply is the server gone idle (or killed): not worth a warning.
        if not isinstance(exc, struct.error):
            log.warning("the fork server failed (%s); forking in the daemon", exc)
        if isinstance(exc, TimeoutError) and self.server_pid:
            with contextlib.suppress(OSError):
                os.kill(self.server_pid, signal.SIGKILL)
        self.close()


def _fork_server(argv: list[str], sock_fd: int) -> int:
    """Fork and exec the fork server with ``sock_fd`` as its only descriptor past 2.

    Not ``posix_spawn``: glibc's leaves its two internal signals ignored in the
    new process, and an ignored signal is inherited through every later fork
    and exec, so each child would start with them ignored.
    """
    old_mask = _set_sigmask(signal.SIG_BLOCK, _ALL_SIGNALS)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which execs or _exits
            try:
                os.setsid()  # a terminal's ^C is for the daemon, not for its fork server
                os.closerange(3, sock_fd)
                os.closerange(sock_fd + 1, forkserver.MAX_FD)
                os.set_inheritable(sock_fd, True)
                # Still all blocked: the server unblocks them once its handlers are set.
                os.execv(argv[0], argv)  # noqa: S606 - our own interpreter, no shell
            finally:
                os._exit(127)
    finally:
        _set_sigmask(signal.SIG_SETMASK, old_mask)
    return pid


class _ChildPipes:
    """The pipes of one child: its ends go to the child, the parent keeps the others."""

    def __init__(self, redirect_stderr: bool) -> None:
        opened: list[int] = []
        try:
            for _ in range(3 if redirect_stderr else 4):
                opened.extend(os.pipe())
        except OSError as exc:
            _close(opened)
            raise SpawnError(
                f"couldn't make the pipes for the child: {exc.strerror}; too many open files? "
                "raise minfds (or ulimit -n)"
            ) from None
        self.stdin_r, self.stdin_w, self.stdout_r, self.stdout_w, self.err_r, self.err_w = \
            opened[:6]
        self.stderr_r, self.stderr_w = (opened[6], opened[7]) if len(opened) == 8 else (-1, -1)
        #: What the child gets: stdin, stdout, stderr (unless redirected), exec status.
        self.child_ends = [self.stdin_r, self.stdout_w,
                           *([self.stderr_w] if self.stderr_w >= 0 else []), self.err_w]
        self._parent_ends = [self.stdin_w, self.stdout_r,
                             *([self.stderr_r] if self.stderr_r >= 0 else []), self.err_r]

    def close_all(self) -> None:
        _close([*self.child_ends, *self._parent_ends])

    def hand_over(self, pid: int) -> SpawnedChild:
        """The child has its ends: close ours of them, keep the rest (non-blocking)."""
        _close(self.child_ends)
        for fd in self._parent_ends:
            os.set_blocking(fd, False)
        return SpawnedChild(pid, self.stdin_w, self.stdout_r,
                            self.stderr_r if self.stderr_r >= 0 else None, exec_status=self.err_r)


def _user_spec(request: SpawnRequest) -> forkserver.UserSpec | None:
    user = request.user
    return None if user is None else (user.name, user.uid, user.gid, user.groups)


def _fork_here(request: SpawnRequest, pipes: _ChildPipes) -> int:
    # Blocked signals stay blocked in the child until its handlers are reset:
    # otherwise a signal landing between fork and exec would run the daemon's
    # own handler inside the child and write to the daemon's wakeup pipe.
    old_mask = _set_sigmask(signal.SIG_BLOCK, _ALL_SIGNALS)
    try:
        parent_pid = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which execs or _exits
            forkserver.become_child(
                request.executable, request.argv, request.env,
                (pipes.stdin_r, pipes.stdout_w, pipes.stderr_w, pipes.err_w),
                directory=request.directory, umask=request.umask, parent_pid=parent_pid,
                user=_user_spec(request),
            )
    except OSError as exc:
        raise SpawnError(f"couldn't fork: {exc.strerror}; the system is out of processes "
                         "or memory (check minprocs and ulimit -u)") from None
    finally:
        _set_sigmask(signal.SIG_SETMASK, old_mask)
    return pid


#: At most this many children are on their way to exec at once. Each holds its
#: exec-status pipe open in the daemon; a daemon near its descriptor limit
#: (minfds) must not run out of descriptors because children are slow to be
#: scheduled, so past this many the next fork first waits for the oldest exec.
MAX_EXECS_IN_FLIGHT = 64


class ExecWatch:
    """Learn from a child's exec-status pipe, without blocking, whether it exec'd.

    ``on_result(None)`` once the pipe ends with nothing written (the child has
    exec'd: close-on-exec closed its end); ``on_result(reason)`` when it wrote
    why it could not before exiting. The child's exit may be reaped before the
    loop gets to the pipe: ``settle()`` then reads what the dead child left and
    returns the outcome at once, without calling back.
    """

    def __init__(self, fd: int, on_result: Callable[[str | None], None]) -> None:
        self._fd = fd
        self._on_result = on_result
        self._message = bytearray()
        self._delivered = False
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(fd, self._readable)
        _IN_FLIGHT[self] = None

    def _readable(self) -> None:
        if self._read_to_end():
            self._deliver()

    def _deliver(self) -> None:
        if not self._delivered:
            self._delivered = True
            self._on_result(self._finish())

    def wait(self) -> None:
        """Block until the child has exec'd or said why not; the result follows from the loop."""
        os.set_blocking(self._fd, True)
        self._read_to_end()
        self._finish()
        self._loop.call_soon(self._deliver)

    def settle(self) -> str | None:
        """The outcome now: the child has exited, so all it wrote is in the pipe."""
        if self._fd >= 0:
            self._read_to_end()
        self._delivered = True
        return self._finish()

    def cancel(self) -> None:
        self._delivered = True
        self._finish()

    def _read_to_end(self) -> bool:
        """Read what is there; True once the pipe has ended (or cannot be read)."""
        try:
            while chunk := os.read(self._fd, 4096):
                self._message += chunk
        except BlockingIOError:
            return False
        except OSError:
            pass  # not expected from a pipe; what was read is all there is
        return True

    def _finish(self) -> str | None:
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1
            del _IN_FLIGHT[self]
        return self._message.decode("utf-8", "replace") if self._message else None


#: The watches of children not known to have exec'd yet, oldest first.
_IN_FLIGHT: dict[ExecWatch, None] = {}


def _make_room_for_a_child() -> None:
    while len(_IN_FLIGHT) >= MAX_EXECS_IN_FLIGHT:
        next(iter(_IN_FLIGHT)).wait()


def _close(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
