"""The shared console-script guard."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import pytest

from capataz import exitcodes
from capataz.cliutil import survives_closed_stdout


def test_the_status_of_main_passes_through() -> None:
    """A main that returns normally keeps its own exit status and sees its arguments."""
    seen: list[Sequence[str] | None] = []

    @survives_closed_stdout
    def main(argv: Sequence[str] | None = None) -> int:
        seen.append(argv)
        return 3

    assert main(["status"]) == 3
    assert seen == [["status"]]
    assert main.__name__ == "main"


def test_a_broken_pipe_is_a_quiet_success(monkeypatch: pytest.MonkeyPatch) -> None:
    """BrokenPipeError means the reader left: exit OK, and stdout now goes to /dev/null."""
    read_end, write_end = os.pipe()
    stdout = os.fdopen(write_end, "w")
    monkeypatch.setattr(sys, "stdout", stdout)

    @survives_closed_stdout
    def main(argv: Sequence[str] | None = None) -> int:
        raise BrokenPipeError

    try:
        assert main(None) == exitcodes.OK
        assert os.readlink(f"/proc/self/fd/{write_end}") == os.devnull
    finally:
        stdout.close()
        os.close(read_end)
