"""Log files the daemon writes: one writer per path, shared by every process naming it.

The seed runs eight workers into one ``supervisor.log``. Supervisor gives each
process its own file object on that path, so lines interleave mid-line and
each writer rotates on its own, renaming the others' data away. Here a path has
exactly one ``LogFile``: a file shared by several processes receives whole lines
only (``OutputChannel`` keeps each process's partial line until it ends), tracks
the size itself and rotates once. A file written by one process alone takes
its bytes as they come, as Supervisor's does, and may be fed by ``splice`` from
the child's pipe without the bytes entering the daemon at all. Those bytes pass
through the daemon's one relay pipe (``Relay``), so the child's pipe is held only
while its pages change pipes, never while the file system takes them.

A write error (full disk, removed directory, no permission) is reported once
through ``on_error`` and the data dropped: the daemon keeps reading every pipe,
so no child ever blocks on a log.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from collections.abc import Callable, Sequence

from capataz.supervisor import mainlog

ErrorReporter = Callable[[str, OSError], None]
Buffer = bytes | bytearray | memoryview

#: The most one ``splice`` moves: a whole enlarged pipe. Through the ``Relay`` the
#: child's pipe is free again once its pages have moved, so its writer refills
#: it while the relay goes to the file; one move per wake is the least work.
SPLICE_CHUNK = 1024 * 1024
#: ``splice`` errors meaning "this file cannot take splice at all": read instead, for good.
_SPLICE_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF, errno.EXDEV}
#: The relay's size: as many slots as the largest pipe a child gets (``LARGE_PIPE``),
#: so one move can take all that pipe holds.
RELAY_SIZE = 1024 * 1024


class Relay:
    """The pipe every splice into a log file passes through: pipe to relay to file.

    ``splice`` from a pipe straight into a file holds the pipe's lock while the
    file system takes the bytes, and a child writing meanwhile spins on that lock:
    a child writing 100-byte lines lost about a twentieth of its time so. Moving
    the pages to the relay first (by reference, not copied) holds the child's
    pipe only for that move; the relay, which nobody else writes, then goes to
    the file. The relay is empty between calls. Its ``RELAY_SIZE`` counts once
    against the user's pipe pages (``fs.pipe-user-pages-soft``).
    """

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd

    @classmethod
    def open(cls) -> Relay | None:
        """A new relay; None when no pipe of ``RELAY_SIZE`` can be had (splice directly)."""
        try:
            read_fd, write_fd = os.pipe()  # close-on-exec: children never hold it
        except OSError:
            return None
        relay = cls(read_fd, write_fd)
        try:
            fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, RELAY_SIZE)
        except OSError:  # over the user's pipe limit: a smaller relay would split moves
            relay.close()
            return None
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        return relay

    def take(self, pipe_fd: int, count: int) -> int:
        """Move up to ``count`` bytes of the pipe here: the count, 0 at EOF.

        Raises ``BlockingIOError`` when the pipe is empty.
        """
        return os.splice(pipe_fd, self.write_fd, count, flags=os.SPLICE_F_NONBLOCK)

    def drain(self, count: int) -> bytes:
        """Read back ``count`` bytes a file did not take: the relay is empty again."""
        parts = []
        with contextlib.suppress(BlockingIOError):
            while count > 0:
                part = os.read(self.read_fd, count)
                if not part:  # pragma: no cover - the bytes were moved here just before
                    break
                parts.append(part)
                count -= len(part)
        return b"".join(parts)

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


_relay: Relay | None = None
_relay_refused = False


def relay() -> Relay | None:
    """The daemon's relay, opened when first needed; None if it cannot be had."""
    global _relay, _relay_refused  # noqa: PLW0603 - one relay per daemon, like its read buffer
    if _relay is None and not _relay_refused:
        _relay = Relay.open()
        _relay_refused = _relay is None
    return _relay


def close_relay() -> None:
    """Close the relay (the daemon's logs are closed); the next splice opens a new one."""
    global _relay, _relay_refused
    if _relay is not None:
        _relay.close()
    _relay, _relay_refused = None, False


class LogFile:
    """An append-only file rotated by size; ``maxbytes`` 0 never rotates.

    Whole-line writers (``write``) and raw writers (``write_raw``, ``splice_from``)
    may meet in one file when it becomes shared; a raw writer that stopped
    mid-line is remembered by its ``writer`` token, and the next line from anyone
    else starts on a line of its own.
    """

    def __init__(
        self, path: str, maxbytes: int, backups: int, on_error: ErrorReporter | None = None
    ) -> None:
        self.path = path
        self.maxbytes = maxbytes
        self.backups = backups
        #: Channels writing here (kept by ``LogFiles``): more than one means whole lines only.
        self.users = 1
        self._on_error = on_error
        self._fd: int | None = None
        self._splice_fd: int | None = None
        self._splice_refused = not hasattr(os, "splice")  # Linux only
        self._size = 0
        self._failing = False
        self._regular = False  # /dev/stdout and pipes are never rotated nor spliced
        self._daemon_log = False
        #: The raw writer whose line the file ends in the middle of (None: at a line start).
        self._open_line_by: object | None = None
        self._open_line_unsure = False  # spliced bytes: look at the last byte to know
        self.dropped_bytes = 0
        self._open()

    @property
    def takes_raw_bytes(self) -> bool:
        """One user and a regular file: bytes may go in as they come, partial lines too."""
        return self.users <= 1 and self._regular and not self._daemon_log

    @property
    def can_splice(self) -> bool:
        return (self._fd is not None and self.takes_raw_bytes and not self._failing
                and not self._splice_refused)

    def _report(self, exc: OSError) -> None:
        if not self._failing and self._on_error is not None:
            self._on_error(self.path, exc)
        self._failing = True

    def _open(self) -> None:
        flags = os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        try:
            # Read access lets the tail and the line-end check use pread on this fd.
            try:
                fd = os.open(self.path, flags | os.O_RDWR, 0o644)
            except PermissionError:
                fd = os.open(self.path, flags | os.O_WRONLY, 0o644)
        except OSError as exc:
            self._report(exc)
            return
        self._fd = fd
        try:
            info = os.fstat(fd)
        except OSError:  # pragma: no cover - fstat on a descriptor just opened
            self._size, self._regular = 0, False
        else:
            self._size, self._regular = info.st_size, stat.S_ISREG(info.st_mode)
        # The daemon's own log lines go there too: the file is shared with them.
        self._daemon_log = mainlog.writes_to(self.path)
        self._open_line_by = None

    def _ensure_open(self) -> int | None:
        if self._fd is None:
            self._open()  # retry: the disk or directory may be back
        return self._fd

    # ------------------------------------------------------------ whole lines
    def write(self, data: Buffer, writer: object = None) -> None:
        """Append whole lines (or anything, for a caller that does not care)."""
        self.write_parts((data,), writer)

    def write_parts(self, parts: Sequence[Buffer], writer: object = None) -> None:
        """Append ``parts`` in one system call; the file is rotated after, never between."""
        total = sum(len(part) for part in parts)
        if not total:
            return
        fd = self._ensure_open()
        if fd is None:
            self.dropped_bytes += total
            return
        if self._open_line_by not in (None, writer) and self._ends_mid_line():
            parts = (b"\n", *parts)  # another writer's line is open: do not join it
            total += 1
        if self.maxbytes and self._regular and self._size + total > self.maxbytes:
            self._write_across_rotations(b"".join(parts))
        elif self._append(fd, parts, total):
            self._open_line_by = None
            self._rotate_if_full()

    def _write_across_rotations(self, data: bytes) -> None:
        """Whole lines up to ``maxbytes``, rotate, and so on: no line spans two files."""
        start = 0
        while start < len(data):
            self._rotate_if_full()
            fd = self._ensure_open()
            if fd is None:
                self.dropped_bytes += len(data) - start
                return
            room = self.maxbytes - self._size
            end = len(data)
            if end - start > room:
                cut = data.rfind(b"\n", start, start + max(room, 0))
                if cut < 0:  # one line longer than the room: whole, in this file
                    cut = data.find(b"\n", start)
                end = len(data) if cut < 0 else cut + 1
            if not self._append(fd, (memoryview(data)[start:end],), end - start):
                return
            self._open_line_by = None
            if end < len(data):
                self.rotate()  # the next line does not fit
            start = end
        self._rotate_if_full()

    def _append(self, fd: int, parts: Sequence[Buffer], total: int) -> bool:
        try:
            written = os.writev(fd, parts) if len(parts) > 1 else os.write(fd, parts[0])
            self._size += written
            if written < total:  # a short write: the rest, plainly
                rest = memoryview(b"".join(parts))[written:]
                while rest:
                    written = os.write(fd, rest)
                    rest = rest[written:]
                    self._size += written
        except OSError as exc:
            self.dropped_bytes += total  # approximate on a failed short write; reported once
            self._report(exc)
            return False
        self._failing = False
        return True

    # ------------------------------------------------------------ raw bytes
    def write_raw(self, data: Buffer, writer: object) -> None:
        """Append bytes as they came, rotating exactly at ``maxbytes`` (a line may span files)."""
        view = memoryview(data)
        while view:
            self._rotate_if_full()  # a file found already full when opened
            fd = self._ensure_open()
            if fd is None:
                self.dropped_bytes += len(view)
                return
            piece = view[: self._room(len(view))]
            if not self._append(fd, (piece,), len(piece)):
                return
            self._open_line_by = None if piece[-1] == 0x0A else writer
            self._open_line_unsure = False
            view = view[len(piece):]
            self._rotate_if_full()

    def splice_from(self, pipe_fd: int, writer: object) -> int | None:
        """Move what the pipe holds into the file in the kernel; the count, 0 at EOF.

        None means "read it instead" (the file cannot take splice, or the write
        failed: the read path then reports it and drops the bytes). Raises
        ``BlockingIOError`` when the pipe is empty. Never crosses ``maxbytes``:
        the file rotates exactly there. The bytes go through the ``Relay`` when
        there is one.
        """
        fd = self._splice_target()
        if fd is None:
            return None
        through = relay()
        try:
            end = os.fstat(fd).st_size  # follows an outside truncation (copytruncate)
            wanted = self._room(SPLICE_CHUNK, end)
            if through is None:
                moved = os.splice(pipe_fd, fd, wanted, offset_dst=end)
            else:
                moved = through.take(pipe_fd, wanted)
        except BlockingIOError:
            raise
        except OSError as exc:
            self._refuse_splice_if(exc)
            return None
        self._size = end
        if through is not None and moved:
            self._from_relay(through, fd, moved, writer)
        else:
            self._size += moved
        if moved:
            self._open_line_by, self._open_line_unsure = writer, True
            self._rotate_if_full()
        return moved

    def _from_relay(self, through: Relay, fd: int, count: int, writer: object) -> None:
        """Splice ``count`` bytes from the relay to the end of the file; what the file
        refuses is read back and written plainly (``write_raw`` reports and drops it)."""
        try:
            while count:
                done = os.splice(through.read_fd, fd, count, offset_dst=self._size)
                if not done:  # pragma: no cover - the relay holds the bytes: never at EOF
                    break
                self._size += done
                count -= done
        except OSError as exc:
            self._refuse_splice_if(exc)
        if count:
            self.write_raw(through.drain(count), writer)

    def _refuse_splice_if(self, exc: OSError) -> None:
        if exc.errno in _SPLICE_UNSUPPORTED:
            self._splice_refused = True
            self._close_splice_fd()

    def _splice_target(self) -> int | None:
        """A second descriptor without O_APPEND (splice refuses O_APPEND), at the file."""
        if not self.can_splice:
            return None
        if self.maxbytes and self._size >= self.maxbytes:
            self.rotate()
            if self._fd is None:
                return None
        if self._splice_fd is None:
            try:
                self._splice_fd = os.open(f"/proc/self/fd/{self._fd}",
                                          os.O_WRONLY | os.O_CLOEXEC)
            except OSError:
                self._splice_refused = True
                return None
        return self._splice_fd

    def _room(self, wanted: int, size: int | None = None) -> int:
        if not (self.maxbytes and self._regular):
            return wanted
        left = self.maxbytes - (self._size if size is None else size)
        return max(1, min(wanted, left))

    def _rotate_if_full(self) -> None:
        if self.maxbytes and self._regular and self._size >= self.maxbytes:
            self.rotate()

    # ------------------------------------------------------------ line ends
    def end_line(self, writer: object) -> None:
        """``writer``'s pipe closed: end the line it left open, as a partial line is ended."""
        if self._open_line_by is writer and writer is not None:
            if self._ends_mid_line():
                self.write(b"\n", writer)
            self._open_line_by = None

    def _ends_mid_line(self) -> bool:
        if not self._open_line_unsure:
            return self._open_line_by is not None
        self._open_line_unsure = False
        last = self._pread_end(1)
        if last == b"\n" or (not last and self._size == 0):
            self._open_line_by = None
            return False
        return True

    def read_end(self, count: int) -> bytes:
        """The last ``count`` bytes written, from the backup too after a rotation."""
        data = self._pread_end(count)
        if len(data) < count and self.backups > 0:
            with contextlib.suppress(OSError), open(f"{self.path}.1", "rb") as older:
                size = older.seek(0, os.SEEK_END)
                older.seek(max(size - (count - len(data)), 0))
                data = older.read() + data
        return data

    def _pread_end(self, count: int) -> bytes:
        if self._fd is None or count <= 0:
            return b""
        try:
            size = os.fstat(self._fd).st_size
            return os.pread(self._fd, min(count, size), max(size - count, 0))
        except OSError:
            return b""  # opened write-only: nothing to show

    # ------------------------------------------------------------ whole file
    def rotate(self) -> None:
        """Shift ``path.N-1`` to ``path.N`` ... ``path`` to ``path.1`` and start empty."""
        self.close()
        try:
            if self.backups > 0:
                for n in range(self.backups - 1, 0, -1):
                    older = f"{self.path}.{n}"
                    if os.path.exists(older):
                        os.replace(older, f"{self.path}.{n + 1}")
                os.replace(self.path, f"{self.path}.1")
            else:
                os.truncate(self.path, 0)
        except OSError as exc:
            self._report(exc)
        self._open()

    def clear(self) -> None:
        """Empty the file (``clearProcessLogs``); raises ``OSError`` if it cannot be."""
        self.close()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_TRUNC | os.O_CREAT | os.O_CLOEXEC, 0o644)
            os.close(fd)
        finally:
            self._open()

    def reopen(self) -> None:
        """Close and open again (after an outside rotation, on SIGUSR2)."""
        self.close()
        self._open()

    def _close_splice_fd(self) -> None:
        if self._splice_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._splice_fd)
            self._splice_fd = None

    def close(self) -> None:
        self._close_splice_fd()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


class LogFiles:
    """The daemon's registry of open log files, reference-counted by path."""

    def __init__(self, on_error: ErrorReporter | None = None) -> None:
        self._on_error = on_error
        self._files: dict[str, LogFile] = {}

    def acquire(self, path: str, maxbytes: int, backups: int) -> LogFile:
        path = os.path.abspath(path)
        logfile = self._files.get(path)
        if logfile is not None:
            logfile.users += 1
            return logfile
        logfile = LogFile(path, maxbytes, backups, self._on_error)
        self._files[path] = logfile
        return logfile

    def release(self, logfile: LogFile) -> None:
        if self._files.get(logfile.path) is not logfile:
            return
        if logfile.users <= 1:
            del self._files[logfile.path]
            logfile.close()
        else:
            logfile.users -= 1

    def reopen_all(self) -> None:
        for logfile in self._files.values():
            logfile.reopen()

    def close_all(self) -> None:
        for logfile in self._files.values():
            logfile.close()
        self._files.clear()
        close_relay()

    def __len__(self) -> int:
        return len(self._files)
