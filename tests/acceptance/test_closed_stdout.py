"""Console scripts whose reader went away (``| head``) end quietly, never with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
SEED = Path(__file__).parents[2] / "examples" / "seed-supervisor.conf"


@pytest.mark.parametrize(
    "command",
    [
        ["capatazctl", "help"],
        ["capataz", "--help"],
        ["capataz", "queue:stats", "--url", "memory://"],
        ["capatazd", "-c", str(SEED), "--check"],
    ],
    ids=" ".join,
)
def test_output_into_a_closed_pipe_is_not_an_error(command: list[str]) -> None:
    """Every write meets a pipe whose reader has closed: exit 0 and stderr stays clean."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte is written
    try:
        done = subprocess.run(
            [str(BIN / command[0]), *command[1:]],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
    assert done.returncode == 0, done.stderr
