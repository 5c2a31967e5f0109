"""What every console script shares."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Sequence

import capataz
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


class PrintVersion(argparse.Action):
    """``--version``: print the version and exit; it is looked up only then.

    Reading it costs importlib.metadata (zipfile, csv, email: ~15 ms), which every
    worker and daemon start would otherwise pay for a flag it is not given.
    """

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(capataz.__version__)
        parser.exit()
