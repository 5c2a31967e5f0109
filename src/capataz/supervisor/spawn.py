"""Starting a child: resolve the command, build its environment, fork and exec.

The ``Spawner`` protocol is the seam the process state machine uses; the real
one (``ForkExecSpawner``) forks and execs without ``subprocess`` because the
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
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import grp
import importlib
import os
import pwd
import shlex
import signal
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import NoReturn, Protocol

from capataz.supervisor import linux
from capataz.supervisor.errors import NoFileError, NotExecutableError, SpawnError

_MAX_FD = os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 65536
_ALL_SIGNALS = frozenset(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}
# signal.pthread_sigmask turns each number it returns into a Signals member,
# which for the full mask it returns after each fork cost more than the rest of
# the parent's bookkeeping; the C function under it (in _signal, the module
# signal is built on) returns plain numbers.
_set_sigmask: Callable[[int, Iterable[int]], set[int]] = importlib.import_module(
    "_signal").pthread_sigmask
_CHILD_EXIT = 127  # what Supervisor's child exits with when it cannot exec


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
    if "/" in program:
        candidates = [program]
    else:
        candidates = [os.path.join(d, program) for d in (path or os.defpath).split(os.pathsep)]
    for candidate in candidates:
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
        opened: list[int] = []
        try:
            for _ in range(3 if request.redirect_stderr else 4):
                opened.extend(os.pipe())
        except OSError as exc:
            _close(opened)
            raise SpawnError(
                f"couldn't make the pipes for the child: {exc.strerror}; too many open files? "
                "raise minfds (or ulimit -n)"
            ) from None
        stdin_r, stdin_w, stdout_r, stdout_w, err_r, err_w = opened[:6]
        stderr_r, stderr_w = (None, None) if request.redirect_stderr else opened[6:8]
        child_ends = [stdin_r, stdout_w, err_w] + ([stderr_w] if stderr_w is not None else [])
        parent_ends = [stdin_w, stdout_r] + ([stderr_r] if stderr_r is not None else [])
        # Blocked signals stay blocked in the child until its handlers are reset:
        # otherwise a signal landing between fork and exec would run the daemon's
        # own handler inside the child and write to the daemon's wakeup pipe.
        old_mask = _set_sigmask(signal.SIG_BLOCK, _ALL_SIGNALS)
        try:
            parent_pid = os.getpid()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child, which execs or _exits
                _become_child(request, stdin_r, stdout_w, stderr_w, err_w, parent_pid=parent_pid)
        except OSError as exc:
            _close([*child_ends, err_r, *parent_ends])
            raise SpawnError(f"couldn't fork: {exc.strerror}; the system is out of processes "
                             "or memory (check minprocs and ulimit -u)") from None
        finally:
            _set_sigmask(signal.SIG_SETMASK, old_mask)
        _close(child_ends)
        for fd in (*parent_ends, err_r):
            os.set_blocking(fd, False)
        return SpawnedChild(pid, stdin_w, stdout_r, stderr_r, exec_status=err_r)

    def kill(self, pid: int, signum: int) -> None:
        os.kill(pid, signum)


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


def _become_child(  # pragma: no cover - runs in the forked child (tested end to end)
    request: SpawnRequest,
    stdin_r: int,
    stdout_w: int,
    stderr_w: int | None,
    err_w: int,
    *,
    parent_pid: int,
) -> NoReturn:
    step = "prepare the child"
    try:
        for signum in _ALL_SIGNALS:
            # Only what is not SIG_DFL already: a call for each of the 62 signals
            # was most of the child's work before exec.
            if signal.getsignal(signum) is not signal.SIG_DFL:
                with contextlib.suppress(OSError, ValueError):
                    signal.signal(signum, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        os.setpgid(0, 0)
        os.dup2(stdin_r, 0)
        os.dup2(stdout_w, 1)
        os.dup2(stdout_w if stderr_w is None else stderr_w, 2)
        os.closerange(3, err_w)
        os.closerange(err_w + 1, _MAX_FD)
        if request.user is not None and request.user.uid != os.geteuid():
            step = f"setuid to {request.user.name}"
            os.setgroups(list(request.user.groups))
            os.setgid(request.user.gid)
            os.setuid(request.user.uid)
        # After setuid: changing credentials clears the parent-death signal.
        linux.set_parent_death_signal(signal.SIGKILL)
        if os.getppid() != parent_pid:
            os._exit(_CHILD_EXIT)  # the daemon died while we were starting
        if request.umask is not None:
            os.umask(request.umask)
        if request.directory:
            step = f"chdir to {request.directory}"
            os.chdir(request.directory)
        step = f"exec {request.executable}"
        _set_sigmask(signal.SIG_SETMASK, ())
        os.execve(  # noqa: S606 - a supervisor execs programs without a shell on purpose
            request.executable, list(request.argv), dict(request.env))
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        os.write(err_w, f"couldn't {step}: {name} ({exc.strerror})".encode())
    except BaseException as exc:  # nothing may escape a forked child
        os.write(err_w, f"couldn't {step}: {exc!r}".encode())
    os._exit(_CHILD_EXIT)
