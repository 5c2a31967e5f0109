"""Writing files that other processes read (all or nothing), and Lima's date."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Final

#: Peru has no daylight saving time: UTC-5 all year. Receipts are dated in Lima.
LIMA: Final = dt.timezone(dt.timedelta(hours=-5), "America/Lima")


def lima_today() -> dt.date:
    """Today's date in Lima, whatever the server's time zone (issue dates are Lima's)."""
    return dt.datetime.now(LIMA).date()


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a private temporary name, then rename: a reader never sees half a file.

    The temporary name carries the pid, so two workers running the same job after a
    lease expiry do not write into each other's file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    partial.replace(path)
