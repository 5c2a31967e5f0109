"""Log files the daemon writes: one writer per path, shared by every process naming it.

The seed runs eight workers into one ``supervisor.log``. Supervisor gives each
process its own file object on that path, so lines interleave mid-line and
each writer rotates on its own, renaming the others' data away. Here a path has
exactly one ``LogFile``: it receives whole lines only (``OutputChannel`` keeps
each process's partial line until it ends), tracks the size itself and rotates
once. A write error (full disk, removed directory, no permission) is reported
once through ``on_error`` and the data dropped: the daemon keeps reading every
pipe, so no child ever blocks on a log.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

ErrorReporter = Callable[[str, OSError], None]


class LogFile:
    """An append-only file rotated by size; ``maxbytes`` 0 never rotates."""

    def __init__(
        self, path: str, maxbytes: int, backups: int, on_error: ErrorReporter | None = None
    ) -> None:
        self.path = path
        self.maxbytes = maxbytes
        self.backups = backups
        self._on_error = on_error
        self._fd: int | None = None
        self._size = 0
        self._failing = False
        self._seekable = False  # /dev/stdout and pipes are never rotated
        self.dropped_bytes = 0
        self._open()

    def _report(self, exc: OSError) -> None:
        if not self._failing and self._on_error is not None:
            self._on_error(self.path, exc)
        self._failing = True

    def _open(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            self._report(exc)
            return
        self._fd = fd
        try:
            self._size = os.fstat(fd).st_size
        except OSError:  # pragma: no cover - fstat on a descriptor just opened
            self._size = 0
        self._seekable = os.path.isfile(self.path)

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._fd is None:
            self._open()  # retry: the disk or directory may be back
            if self._fd is None:
                self.dropped_bytes += len(data)
                return
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
                self._size += written
        except OSError as exc:
            self.dropped_bytes += len(view)
            self._report(exc)
            return
        self._failing = False
        if self.maxbytes and self._seekable and self._size >= self.maxbytes:
            self.rotate()

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

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


class LogFiles:
    """The daemon's registry of open log files, reference-counted by path."""

    def __init__(self, on_error: ErrorReporter | None = None) -> None:
        self._on_error = on_error
        self._files: dict[str, tuple[LogFile, int]] = {}

    def acquire(self, path: str, maxbytes: int, backups: int) -> LogFile:
        path = os.path.abspath(path)
        if path in self._files:
            logfile, users = self._files[path]
            self._files[path] = (logfile, users + 1)
            return logfile
        logfile = LogFile(path, maxbytes, backups, self._on_error)
        self._files[path] = (logfile, 1)
        return logfile

    def release(self, logfile: LogFile) -> None:
        entry = self._files.get(logfile.path)
        if entry is None:
            return
        if entry[1] <= 1:
            del self._files[logfile.path]
            logfile.close()
        else:
            self._files[logfile.path] = (logfile, entry[1] - 1)

    def reopen_all(self) -> None:
        for logfile, _ in self._files.values():
            logfile.reopen()

    def close_all(self) -> None:
        for logfile, _ in self._files.values():
            logfile.close()
        self._files.clear()

    def __len__(self) -> int:
        return len(self._files)
