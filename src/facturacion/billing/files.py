"""Writing files that other processes read: all or nothing."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a private temporary name, then rename: a reader never sees half a file.

    The temporary name carries the pid, so two workers running the same job after a
    lease expiry do not write into each other's file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    partial.replace(path)
