"""A small process that forks the daemon's children for it, and a child's last steps.

Forking copies the forking process's page tables and leaves both sides to
copy, page by page, whatever either writes before the child execs. For a
daemon of ~25 MB of Python heap that was most of what starting a process
cost, in the daemon and in each child. ``posix_spawn`` (vfork) avoids the
copy but runs no code in the child, and the child must set its parent-death
signal itself (the kernel offers no other way), so it cannot be used.

This module is that small process instead. It runs with a bare interpreter
(``python -I -S`` on this file: the standard library only, a few MB) and
forks each child with ``clone(CLONE_PARENT)``, which makes the new process a
child of the daemon, not of the fork server: the daemon reaps it, signals
it, and is the parent its parent-death signal watches. The child then runs
``become_child``, the same code as a child the daemon forks itself.

The daemon sends one request per child over a ``SOCK_SEQPACKET`` socket:
the marshalled ``(executable, argv, env, directory, umask, user,
parent_pid)`` with the child's descriptors (stdin, stdout, stderr unless it
goes to stdout, the exec-status pipe) passed as ``SCM_RIGHTS``. The answer is
the pid, or minus the errno of a failed clone (the daemon then forks that
child itself). The server dies with the daemon (its own parent-death signal)
and exits by itself after ``IDLE_SECONDS`` without a request; the daemon
then forks in-process until it starts another.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import importlib
import marshal
import os
import signal
import socket
import struct
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import NoReturn

#: A fork server with nothing to do for this long exits (the daemon starts another).
IDLE_SECONDS = 10.0
REPLY = struct.Struct("=q")
MAX_REQUEST = 1 << 20  # argv and environment of one child
_FDS_PER_REQUEST = 4
_CLONE_PARENT = 0x00008000
#: clone's syscall number where its first two arguments are (flags, stack).
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}.get(os.uname().machine)
_PR_SET_PDEATHSIG = 1
_CHILD_EXIT = 127  # what Supervisor's child exits with when it cannot exec

MAX_FD = os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 65536
ALL_SIGNALS = frozenset(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}
# signal.pthread_sigmask turns each number it returns into a Signals member,
# which for the full mask costs more than the rest of a spawn's bookkeeping;
# the C function under it (in _signal, the module signal is built on) returns
# plain numbers.
set_sigmask: Callable[[int, Iterable[int]], set[int]] = importlib.import_module(
    "_signal").pthread_sigmask
# PyDLL: the call keeps the GIL, so a clone made inside it leaves the child's
# interpreter exactly as the parent's was (one thread, holding the GIL).
_libc = ctypes.PyDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

UserSpec = tuple[str, int, int, tuple[int, ...]]  # name, uid, gid, groups


def supported() -> bool:
    """A fork server can run here: Linux, on an architecture whose clone we know."""
    return sys.platform.startswith("linux") and _SYS_CLONE is not None


def set_parent_death_signal(signum: int) -> None:
    if _libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def clone_sibling() -> int:
    """Fork, the new process a child of our parent; 0 in the child. Raises ``OSError``."""
    assert _SYS_CLONE is not None  # noqa: S101 - callers check supported()
    flags = ctypes.c_long(_CLONE_PARENT | signal.SIGCHLD)
    zero = ctypes.c_long(0)
    pid: int = _libc.syscall(ctypes.c_long(_SYS_CLONE), flags, zero, zero, zero, zero)
    if pid < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return pid


def become_child(  # pragma: no cover - runs in the new child, which execs or _exits
    executable: str,
    argv: Iterable[str],
    env: Mapping[str, str],
    fds: tuple[int, int, int, int],
    *,
    directory: str | None,
    umask: int | None,
    user: UserSpec | None,
    parent_pid: int,
) -> NoReturn:
    """Set the new child up and exec it; any failure is written to the exec-status pipe.

    ``fds`` are the child's ends: stdin, stdout, stderr (-1: stdout's), exec status.
    Signals are all blocked on entry, so none can run the parent's handlers here.
    """
    stdin_r, stdout_w, stderr_w, err_w = fds
    step = "prepare the child"
    try:
        for signum in ALL_SIGNALS:
            # Only what is not SIG_DFL already: a call for each of the 62 signals
            # was most of the child's work before exec.
            if signal.getsignal(signum) is not signal.SIG_DFL:
                with contextlib.suppress(OSError, ValueError):
                    signal.signal(signum, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        os.setpgid(0, 0)
        os.dup2(stdin_r, 0)
        os.dup2(stdout_w, 1)
        os.dup2(stdout_w if stderr_w < 0 else stderr_w, 2)
        os.closerange(3, err_w)
        os.closerange(err_w + 1, MAX_FD)
        if user is not None and user[1] != os.geteuid():
            name, uid, gid, groups = user
            step = f"setuid to {name}"
            os.setgroups(list(groups))
            os.setgid(gid)
            os.setuid(uid)
        # After setuid: changing credentials clears the parent-death signal.
        set_parent_death_signal(signal.SIGKILL)
        if os.getppid() != parent_pid:
            os._exit(_CHILD_EXIT)  # the daemon died while we were starting
        if umask is not None:
            os.umask(umask)
        if directory:
            step = f"chdir to {directory}"
            os.chdir(directory)
        step = f"exec {executable}"
        set_sigmask(signal.SIG_SETMASK, ())
        os.execve(  # noqa: S606 - a supervisor execs programs without a shell on purpose
            executable, list(argv), dict(env))
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        os.write(err_w, f"couldn't {step}: {name} ({exc.strerror})".encode())
    except BaseException as exc:  # nothing may escape a forked child
        os.write(err_w, f"couldn't {step}: {exc!r}".encode())
    os._exit(_CHILD_EXIT)


def encode_request(
    executable: str, argv: tuple[str, ...], env: Mapping[str, str], *,
    directory: str | None, umask: int | None, user: UserSpec | None, parent_pid: int,
) -> bytes:
    return marshal.dumps((executable, argv, dict(env), directory, umask, user, parent_pid))


def serve(sock: socket.socket, idle: float = IDLE_SECONDS) -> None:
    """Answer requests until the daemon closes its end or ``idle`` seconds pass without one."""
    sock.settimeout(idle)
    fd_space = socket.CMSG_SPACE(_FDS_PER_REQUEST * 4)
    while True:
        try:
            # Close-on-exec like the daemon's own pipes: the exec-status pipe's
            # end must close when the child execs, or the daemon never hears of it.
            message, ancillary, _flags, _addr = sock.recvmsg(MAX_REQUEST, fd_space,
                                                             socket.MSG_CMSG_CLOEXEC)
        except (TimeoutError, OSError):
            return
        fds = _received_fds(ancillary)
        if not message:
            _close(fds)
            return
        try:
            answer = _fork_one(message, fds)
        finally:
            _close(fds)
        try:
            sock.send(REPLY.pack(answer))
        except OSError:
            return


def _fork_one(message: bytes, fds: list[int]) -> int:
    """The new child's pid, or minus the errno of why there is none."""
    try:
        # From the daemon alone: a socketpair made before this process started.
        request = marshal.loads(message)  # noqa: S302
        executable, argv, env, directory, umask, user, parent_pid = request
        stdin_r, stdout_w, stderr_w, err_w = fds if len(fds) == 4 else (*fds[:2], -1, *fds[2:])
    except (ValueError, TypeError, EOFError):
        return -errno.EINVAL
    old_mask = set_sigmask(signal.SIG_BLOCK, ALL_SIGNALS)
    try:
        pid = clone_sibling()
        if pid == 0:  # pragma: no cover - the new child
            become_child(executable, argv, env, (stdin_r, stdout_w, stderr_w, err_w),
                         directory=directory, umask=umask, user=user, parent_pid=parent_pid)
    except OSError as exc:
        return -(exc.errno or errno.EAGAIN)
    finally:
        set_sigmask(signal.SIG_SETMASK, old_mask)
    return pid


def _received_fds(ancillary: list[tuple[int, int, bytes]]) -> list[int]:
    fds: list[int] = []
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(data) - len(data) % 4
            fds.extend(struct.unpack(f"{usable // 4}i", data[:usable]))
    return fds


def _close(fds: Iterable[int]) -> None:
    for fd in fds:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def main(argv: list[str]) -> int:  # pragma: no cover - the fork server's own process
    """``forkserver.py SOCKET_FD DAEMON_PID [IDLE_SECONDS]``: serve the daemon that started us."""
    sock_fd, daemon_pid = int(argv[1]), int(argv[2])
    idle = float(argv[3]) if len(argv) > 3 else IDLE_SECONDS
    set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != daemon_pid:
        return 1  # the daemon is gone already
    # Only the daemon tells us to stop; a terminal's ^C or a stray signal must not.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_IGN)
    set_sigmask(signal.SIG_SETMASK, ())  # the daemon started us with every signal blocked
    serve(socket.socket(fileno=sock_fd), idle)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv))
