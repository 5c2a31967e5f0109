"""Child output: read each pipe as it becomes readable, keep whole lines, keep a tail.

One ``OutputChannel`` per process and channel (stdout, stderr) lives as long as
the process object, across restarts, so its tail buffer shows the last output
even after the child died. ``PipeReader`` is the event-loop side: one
``add_reader`` per pipe, 128 KiB per read like Supervisor, never a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Callable
from typing import Protocol

from capataz.supervisor.logfiles import LogFile

READ_SIZE = 128 * 1024
TAIL_BYTES = 16 * 1024  # per channel: 32 MiB at most for 1,000 processes
#: A "line" longer than this is written out with a newline added, so one child
#: that never prints a newline cannot hold memory or the shared file hostage.
MAX_PARTIAL_LINE = 64 * 1024

_ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


class OutputChannel:
    """One stream of one process: whole lines to its log file, the latest bytes kept."""

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
        self.tail = bytearray()
        #: Bytes received since the tail was last cleared: the offset of the tail's end.
        self.received = 0
        #: Called with each batch of whole lines (PROCESS_LOG_* events when enabled).
        self.on_lines: Callable[[bytes], None] | None = None

    def feed(self, data: bytes, partial: bytearray | None = None) -> None:
        """Take bytes read from a pipe; ``partial`` is that pipe's unfinished line.

        Each pipe has its own: a grandchild still holding the previous child's
        stdout must not splice its half lines into the new child's.
        """
        if partial is None:
            partial = self._partial
        if self._strip_ansi:
            data = _ANSI.sub(b"", data)
        self.received += len(data)
        self.tail += data
        if len(self.tail) > self._tail_bytes:
            del self.tail[: len(self.tail) - self._tail_bytes]
        partial += data
        cut = partial.rfind(b"\n")
        if cut >= 0:
            self._write(bytes(partial[: cut + 1]))
            del partial[: cut + 1]
        if len(partial) > MAX_PARTIAL_LINE:
            self.flush(partial)

    def flush(self, partial: bytearray | None = None) -> None:
        """Write a pending partial line, ended with a newline (its pipe is closed)."""
        if partial is None:
            partial = self._partial
        if partial:
            self._write(bytes(partial) + b"\n")
            partial.clear()

    def clear(self) -> None:
        self.tail.clear()
        self.received = 0

    def _write(self, lines: bytes) -> None:
        if self.logfile is not None:
            self.logfile.write(lines)
        if self._echo is not None:
            self._echo(lines)
        if self.on_lines is not None:
            self.on_lines(lines)


class OutputSink(Protocol):
    """Where a pipe's bytes go: an ``OutputChannel``, or an event listener's protocol."""

    def feed(self, data: bytes, partial: bytearray | None = None) -> None: ...

    def flush(self, partial: bytearray | None = None) -> None: ...


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
        self._on_eof = on_eof
        self._partial = bytearray()
        self.closed = False
        loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, READ_SIZE)
        except (BlockingIOError, InterruptedError):  # pragma: no cover - spurious wakeup
            return
        except OSError:
            data = b""
        if data:
            self._channel.feed(data, self._partial)
        else:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._loop.remove_reader(self.fd)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self._channel.flush(self._partial)
        if self._on_eof is not None:
            self._on_eof(self)


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
