"""Child output: read each pipe as it becomes readable, keep a tail, write the log.

One ``OutputChannel`` per process and channel (stdout, stderr) lives as long as
the process object, across restarts, so its tail shows the last output even
after the child died. ``PipeReader`` is the event-loop side: one ``add_reader``
per pipe, never a thread.

How bytes reach the file depends on who else needs them:

* A log file of its own (one process, one pipe, a regular file) and nobody
  wanting lines in the daemon (no ``PROCESS_LOG`` events, no ``loglevel=debug``
  copy, no ANSI stripping): the pipe is ``splice``d into the file in the kernel
  and the bytes never enter the daemon. Partial lines reach the file as they
  come, as with Supervisor; a child that exits mid-line gets its line ended.
* A shared file, or lines wanted in the daemon: the bytes are read, and the file
  gets whole lines only, so lines of different processes never mix.

A busy writer is not answered write by write: after a small read the reader
rests up to ``COALESCE_DELAY`` before reading again, so one wake-up takes many
lines, and a pipe that keeps up is enlarged (``F_SETPIPE_SZ``) so the child
does not block meanwhile. Output therefore reaches the file at most
``COALESCE_DELAY`` later than it was written. A writer that pauses longer than
``BUSY_GAP`` between writes is read at once, with no delay at all, and so is
an event listener's stdout (a request and its answer, never a stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import mmap
import os
import re
from collections.abc import Callable
from typing import Protocol

from capataz.supervisor.logfiles import SPLICE_CHUNK, Buffer, LogFile

READ_SIZE = 1024 * 1024  # a whole enlarged pipe in one read
TAIL_BYTES = 16 * 1024  # per channel: 32 MiB at most for 1,000 processes
#: A "line" longer than this is written out with a newline added, so one child
#: that never prints a newline cannot hold memory or the shared file hostage.
MAX_PARTIAL_LINE = 64 * 1024
#: The longest a read is put off to gather more output of a busy writer: the
#: most output waits before it reaches the file (or a listener).
COALESCE_DELAY = 0.010
#: Reads further apart than this are of a writer at rest: no delay for it.
BUSY_GAP = 0.050
#: Delays shorter than this are not worth a timer (the loop's clock is in ms).
MIN_DELAY = 0.001
#: A busy pipe is enlarged to this, within ``PipeBudget``.
LARGE_PIPE = 1024 * 1024
DEFAULT_PIPE = 64 * 1024
#: A read or splice this big may have left more behind: take it in the same turn.
SPLICE_STREAK = SPLICE_CHUNK
#: Reads in a row when catching up or draining: a child still writing cannot hold us.
_MOST_READS = 64

_ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
#: ``echo`` copies output to the daemon's log only at DEBUG level: above it no
#: line has to be cut out for it.
_DAEMON_LOG = logging.getLogger("capataz.supervisor")

Searchable = bytes | bytearray | mmap.mmap


class OutputChannel:
    """One stream of one process: to its log file, the latest bytes kept.

    ``echo`` is the copy of each line batch for the daemon's own log: called
    only while that log is at debug level. ``on_lines`` gets every batch.
    """

    def __init__(
        self,
        logfile: LogFile | None,
        *,
        strip_ansi: bool = False,
        echo: Callable[[bytes], None] | None = None,
        tail_bytes: int = TAIL_BYTES,
    ) -> None:
        self.logfile = logfile
        self._strip_ansi = strip_ansi
        self._echo = echo
        self._tail_bytes = tail_bytes
        self._partial = bytearray()
        self._tail = bytearray()
        #: Of the tail, how many of the latest bytes went to the file by splice only.
        self._tail_in_file = 0
        #: Bytes received since the tail was last cleared: the offset of the tail's end.
        self.received = 0
        #: Pipes being read into this channel now (an old grandchild may hold one).
        self.pipes = 0
        #: Called with each batch of whole lines (PROCESS_LOG_* events when enabled).
        self.on_lines: Callable[[bytes], None] | None = None

    # ------------------------------------------------------------ modes
    def _wants_lines(self) -> bool:
        return self.on_lines is not None or self._echoing()

    def _echoing(self) -> bool:
        return self._echo is not None and _DAEMON_LOG.isEnabledFor(logging.DEBUG)

    def _raw_file(self) -> LogFile | None:
        """The file, when it may take bytes as they come rather than whole lines."""
        logfile = self.logfile
        if (logfile is None or not logfile.takes_raw_bytes or self.pipes > 1
                or self._wants_lines()):
            return None
        return logfile

    # ------------------------------------------------------------ input
    def splice_from(self, fd: int, partial: bytearray) -> int | None:
        """Move the pipe's bytes to the file in the kernel: the count (0 at EOF).

        None when the bytes must be read instead (``feed``). Raises
        ``BlockingIOError`` when the pipe is empty.
        """
        logfile = self._raw_file()
        if logfile is None or self._strip_ansi or not logfile.can_splice:
            return None
        if partial:  # a line begun while lines were kept whole: before what follows
            logfile.write_raw(partial, partial)
            partial.clear()
        moved = logfile.splice_from(fd, partial)
        if moved:
            self.received += moved
            self._tail_in_file = min(self._tail_in_file + moved, self._tail_bytes)
        return moved

    def feed(self, data: Buffer, partial: bytearray | None = None) -> None:
        """Take bytes read from a pipe; ``partial`` is that pipe's unfinished line.

        Each pipe has its own: a grandchild still holding the previous child's
        stdout must not splice its half lines into the new child's.
        """
        if isinstance(data, memoryview):
            data = data.tobytes()
        self.feed_from(data, len(data), partial)

    def feed_from(self, buffer: Searchable, length: int, partial: bytearray | None = None
                  ) -> None:
        """``feed`` the first ``length`` bytes of a buffer the caller reuses."""
        if partial is None:
            partial = self._partial
        if self._strip_ansi:
            buffer = _ANSI.sub(b"", memoryview(buffer)[:length])
            length = len(buffer)
        view = memoryview(buffer)[:length]
        self._remember(view)
        logfile = self._raw_file()
        if logfile is not None:
            if partial:
                logfile.write_raw(partial, partial)
                partial.clear()
            logfile.write_raw(view, partial)
            return
        cut = buffer.rfind(b"\n", 0, length)
        if cut < 0:
            partial += view
        else:
            whole = view[: cut + 1]
            self._write((partial, whole) if partial else (whole,), partial)
            partial[:] = view[cut + 1:]
        if len(partial) > MAX_PARTIAL_LINE:
            self.flush(partial)

    def _remember(self, view: memoryview) -> None:
        """Count the bytes and keep the last ``tail_bytes`` of them."""
        self._fetch_tail()
        self.received += len(view)
        keep = self._tail_bytes
        if len(view) >= keep:
            self._tail[:] = view[len(view) - keep:]
        else:
            self._tail += view
            if len(self._tail) > keep:
                del self._tail[: len(self._tail) - keep]

    def _fetch_tail(self) -> None:
        """Bring spliced tail bytes, in the file only so far, into memory."""
        if self._tail_in_file:
            self._tail[:] = self.tail
            self._tail_in_file = 0

    def flush(self, partial: bytearray | None = None) -> None:
        """End a pending partial line with a newline (its pipe is closed)."""
        if partial is None:
            partial = self._partial
        if partial:
            self._write((bytes(partial) + b"\n",), partial)
            partial.clear()
        elif self.logfile is not None:
            self._fetch_tail()  # the newline ending the line is the file's, not the tail's
            self.logfile.end_line(partial)

    # ------------------------------------------------------------ tail
    @property
    def tail(self) -> bytes:
        """The latest ``tail_bytes`` received; spliced ones are read back from the file."""
        if not self._tail_in_file or self.logfile is None:
            return bytes(self._tail)
        from_file = self.logfile.read_end(self._tail_in_file)
        keep = self._tail_bytes - len(from_file)
        return bytes(self._tail[max(len(self._tail) - keep, 0):] if keep > 0 else b"") + from_file

    def clear(self) -> None:
        self._tail.clear()
        self._tail_in_file = 0
        self.received = 0

    def _write(self, parts: tuple[Buffer, ...], writer: bytearray) -> None:
        if self.logfile is not None:
            self.logfile.write_parts(parts, writer)
        echoing = self._echoing()
        if not echoing and self.on_lines is None:
            return  # nobody else wants the lines: no copy of them
        lines = b"".join(parts)
        if echoing and self._echo is not None:
            self._echo(lines)
        if self.on_lines is not None:
            self.on_lines(lines)


class OutputSink(Protocol):
    """Where a pipe's bytes go: an ``OutputChannel``, or an event listener's protocol."""

    def feed(self, data: bytes, partial: bytearray | None = None) -> None: ...

    def flush(self, partial: bytearray | None = None) -> None: ...


class PipeBudget:
    """How much pipe capacity the daemon may add by ``F_SETPIPE_SZ``.

    Without CAP_SYS_RESOURCE the kernel counts every pipe page of a user against
    ``fs.pipe-user-pages-soft``; past it, each new pipe of that user (the next
    children's too) gets 8 KiB instead of 64 KiB. Enlarged pipes therefore take
    at most a quarter of that limit, and only busy pipes are enlarged.
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit  # None: no limit
        self.used = 0

    @classmethod
    def from_system(cls) -> PipeBudget:
        try:
            with open("/proc/sys/fs/pipe-user-pages-soft") as f:
                pages = int(f.read())
        except (OSError, ValueError):
            return cls(0)  # unknown: enlarge nothing
        return cls(None if pages == 0 else pages * mmap.PAGESIZE // 4)

    def take(self, extra: int) -> bool:
        if self.limit is not None and self.used + extra > self.limit:
            return False
        self.used += extra
        return True

    def give_back(self, extra: int) -> None:
        self.used = max(self.used - extra, 0)


_budget: PipeBudget | None = None
_read_buffer: mmap.mmap | None = None


def pipe_budget() -> PipeBudget:
    global _budget  # noqa: PLW0603 - one budget per daemon, made when first needed
    if _budget is None:
        _budget = PipeBudget.from_system()
    return _budget


def _buffer() -> mmap.mmap:
    """One read buffer for every pipe: anonymous pages, resident only once used."""
    global _read_buffer  # noqa: PLW0603 - shared by all readers of the one loop
    if _read_buffer is None:
        _read_buffer = mmap.mmap(-1, READ_SIZE)
        # Children exec at once: they never need it, and each fork would otherwise
        # copy its page tables and make every later read fault on copy-on-write.
        with contextlib.suppress(AttributeError, OSError):
            _read_buffer.madvise(mmap.MADV_DONTFORK)
    return _read_buffer


class PipeReader:
    """Feeds a non-blocking pipe into a channel until EOF, then closes it."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        fd: int,
        channel: OutputSink,
        on_eof: Callable[[PipeReader], None] | None = None,
    ) -> None:
        self._loop = loop
        self.fd = fd
        self._channel = channel
        self._output = channel if isinstance(channel, OutputChannel) else None
        self._on_eof = on_eof
        self._partial = bytearray()
        self.closed = False
        self.capacity = _pipe_size(fd)
        self._added = 0  # capacity bought from the budget
        self._last_read = loop.time() - BUSY_GAP  # the first read is never put off
        self._resume: asyncio.TimerHandle | None = None
        if self._output is not None:
            self._output.pipes += 1
        loop.add_reader(fd, self._readable)

    # ------------------------------------------------------------ reading
    def _readable(self) -> None:
        try:
            moved = self._take()
        except (BlockingIOError, InterruptedError):  # pragma: no cover - spurious wakeup
            return
        if not moved:
            self.close()
            return
        now = self._loop.time()
        delay = self._delay_after(moved, now)
        self._last_read = now
        if delay:
            self._loop.remove_reader(self.fd)
            self._resume = self._loop.call_later(delay, self._wake)

    def _wake(self) -> None:
        """The rest is over: read what came meanwhile, then rest again or listen."""
        self._resume = None
        try:
            moved = self._take()
        except (BlockingIOError, InterruptedError):
            moved = -1  # nothing came: wait for the pipe
        if not moved:
            self.close()
            return
        if moved > 0:
            now = self._loop.time()
            delay = self._delay_after(moved, now)
            self._last_read = now
            if delay:
                self._resume = self._loop.call_later(delay, self._wake)
                return
        self._loop.add_reader(self.fd, self._readable)

    def _take(self) -> int:
        """``_move``, again while each move is a whole chunk: the pipe is then emptied
        (its writer, woken after each, writes on meanwhile) before any rest is decided."""
        moved = self._move()
        if moved < SPLICE_STREAK:
            return moved
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while moved < self.capacity * 4:
                more = self._move()
                moved += more
                if more < SPLICE_STREAK:
                    break
        return moved

    def _move(self) -> int:
        """Take what the pipe holds: the byte count, 0 at EOF; BlockingIOError if none."""
        if self._output is not None:
            spliced = self._output.splice_from(self.fd, self._partial)
            if spliced is not None:
                return spliced
        buffer = _buffer()
        try:
            count = os.readv(self.fd, [buffer])
        except (BlockingIOError, InterruptedError):
            raise
        except OSError:
            return 0
        if count:
            if self._output is not None:
                self._output.feed_from(buffer, count, self._partial)
            else:
                self._channel.feed(buffer[:count], self._partial)
        return count

    def _delay_after(self, moved: int, now: float) -> float:
        """How long to let a busy writer fill the pipe before the next read."""
        interval = now - self._last_read
        half = self.capacity // 2
        if moved >= half:
            self._grow()  # the writer outpaces the pipe: give it room
            return 0.0  # and read again at once
        if interval > BUSY_GAP or self._output is None:
            return 0.0  # a writer at rest, or an event listener waiting for its answer
        # The pipe never filled meanwhile, so this is the writer's own pace; rest
        # until it has filled about a quarter of the pipe (timers fire late on a
        # busy machine: the rest of the pipe is the margin that keeps it writing).
        rate = moved / max(interval, 1e-6)
        if rate * COALESCE_DELAY > self.capacity // 4:
            self._grow()
        delay = min(COALESCE_DELAY, self.capacity / 4 / rate)
        return delay if delay >= MIN_DELAY else 0.0

    def _grow(self) -> bool:
        """Enlarge the pipe so a busy writer fits a whole delay; quietly not if refused."""
        extra = LARGE_PIPE - self.capacity
        if extra <= 0 or self._added or not pipe_budget().take(extra):
            return False
        try:
            fcntl.fcntl(self.fd, fcntl.F_SETPIPE_SZ, LARGE_PIPE)
        except OSError:  # over the user's limit, or not a pipe: keep what it has
            pipe_budget().give_back(extra)
            self._added = -1  # do not try again
            return False
        self._added = extra
        self.capacity = LARGE_PIPE
        return True

    def catch_up(self) -> None:
        """Read what the pipe holds now, rest or not (its child was just reaped).

        A process is EXITED only once the output it wrote before exiting is in
        its log, as if no read had been put off.
        """
        if self.closed:
            return
        try:
            for _ in range(_MOST_READS):
                if not self._move():
                    self.close()
                    return
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:  # pragma: no cover - _move reports read errors as EOF
            return

    # ------------------------------------------------------------ ending
    def close(self) -> None:
        if self.closed:
            return
        self._drain()
        self.closed = True
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        else:
            self._loop.remove_reader(self.fd)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        if self._added > 0:
            pipe_budget().give_back(self._added)
        if self._output is not None:
            self._output.pipes -= 1
        self._channel.flush(self._partial)
        if self._on_eof is not None:
            self._on_eof(self)

    def _drain(self) -> None:
        """Closed before EOF (its process is removed): keep what the pipe still holds."""
        with contextlib.suppress(OSError):
            for _ in range(_MOST_READS):
                if not self._move():
                    return


def catch_up(readers: list[PipeReader]) -> None:
    """``PipeReader.catch_up`` for each of a process's readers (some may close)."""
    for reader in list(readers):
        reader.catch_up()


def _pipe_size(fd: int) -> int:
    try:
        return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    except OSError:
        return DEFAULT_PIPE


class StdinPipe:
    """The write end of a child's stdin: what the pipe cannot take now waits in memory.

    ``sendProcessStdin`` must not block the daemon when a child does not read,
    nor fail half-way; the rest is written when the pipe has room again.
    """

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd
        self._pending = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def write(self, data: bytes) -> None:
        """Queue ``data``; raises ``OSError`` if the child closed its stdin."""
        if self.fd is None:
            raise BrokenPipeError("the process has no stdin open")
        if self._pending:
            self._pending += data
            return
        try:
            written = os.write(self.fd, data)
        except BlockingIOError:
            written = 0
        if written < len(data):
            self._pending += data[written:]
            self._loop = asyncio.get_running_loop()
            self._loop.add_writer(self.fd, self._flush)

    def _flush(self) -> None:
        assert self.fd is not None  # noqa: S101 - the writer is removed before closing
        try:
            written = os.write(self.fd, self._pending)
        except BlockingIOError:  # pragma: no cover - woken while still full
            return
        except OSError:
            written = len(self._pending)  # the child is gone: nobody will read it
        del self._pending[:written]
        if not self._pending:
            self._stop_writer()

    def _stop_writer(self) -> None:
        if self._loop is not None and self.fd is not None:
            self._loop.remove_writer(self.fd)
        self._loop = None

    def close(self) -> None:
        self._stop_writer()
        self._pending.clear()
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
