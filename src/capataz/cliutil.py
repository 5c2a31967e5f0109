"""What every console script shares."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence

from capataz import exitcodes

Main = Callable[[Sequence[str] | None], int]


def survives_closed_stdout(main: Main) -> Main:
    """Make ``capatazctl status | head -1`` end quietly instead of with a traceback.

    When the reader of our output goes away, the rest of the output has nowhere to
    go; that is the reader's choice, not an error of ours. Output is flushed inside
    the guard so that a pipe closed before the final flush is caught too.
    """

    @functools.wraps(main)
    def guarded(argv: Sequence[str] | None = None) -> int:
        try:
            status = main(argv)
            sys.stdout.flush()
        except BrokenPipeError:
            # Python would flush stdout again at exit and print a second error.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            return exitcodes.OK
        return status

    return guarded
