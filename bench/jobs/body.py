"""The job bodies every queue runs, so only the queue's own cost differs.

Standard library only: this module is imported by workers in bench/.venv (the
peers) and in the project's .venv (capataz).
"""

from __future__ import annotations

import os
import time

PICKUP_FILE_ENV = "BENCH_PICKUP_FILE"


def noop() -> None:
    """Do nothing: throughput then measures dispatch, claim and acknowledgement alone."""


def record_pickup(sent_at: float) -> None:
    """Append how long after ``sent_at`` (time.time() at dispatch) this job started.

    One short O_APPEND write per job is atomic, so eight workers can share the file.
    """
    waited = time.time() - sent_at
    path = os.environ[PICKUP_FILE_ENV]
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{waited:.6f}\n".encode())
    finally:
        os.close(fd)
