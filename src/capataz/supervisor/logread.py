"""Reading log files for clients, with Supervisor's offset and length rules."""

from __future__ import annotations

import os

from capataz.supervisor.errors import BadArgumentsError, NoFileError


def read_file(path: str | None, offset: int, length: int) -> bytes:
    """``readLog`` semantics: offset<0 reads the last -offset bytes (length must be 0);
    length 0 reads to the end."""
    if offset < 0 and length != 0:
        raise BadArgumentsError("a negative offset needs length 0")
    if length < 0:
        raise BadArgumentsError("length must not be negative")
    try:
        with open(_must(path), "rb") as f:
            if offset < 0:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(size + offset, 0))
                return f.read(-offset)
            f.seek(offset)
            return f.read(length) if length else f.read()
    except OSError as exc:
        raise NoFileError(f"{path}: {exc.strerror}") from None


def tail_file(path: str | None, offset: int, length: int) -> tuple[bytes, int, bool]:
    """``tailProcessLog`` semantics, as Supervisor's ``tailFile``: (data, new offset, overflow).

    The data is the last ``length`` bytes of the file (nothing when ``offset``
    is already at the end); overflow says the file grew past ``offset+length``,
    so bytes were skipped. No file (``NONE``, or missing) gives ``(b"", 0, False)``,
    as in Supervisor.
    """
    if path is None:
        return b"", 0, False
    if offset < 0 or length < 0:
        raise BadArgumentsError("offset and length must not be negative")
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            overflow = size > offset + length
            if offset >= size and not overflow:
                return b"", size, False
            f.seek(max(size - length, 0))
            return f.read(length), size, overflow
    except OSError:
        return b"", 0, False


def clear_file(path: str | None) -> None:
    try:
        os.truncate(_must(path), 0)
    except OSError as exc:
        raise NoFileError(f"{path}: {exc.strerror}") from None


def _must(path: str | None) -> str:
    if path is None:
        raise NoFileError("no log file configured (NONE)")
    return path
