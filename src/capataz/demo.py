"""The main job a new user runs first (``./dev demo``): the seed's setup, running for real.

It sets up a work directory (``var/demo/`` by default: a certificate, the example
``supervisor.conf`` with its paths moved there, the stores), starts capatazd with
that configuration (8 queue workers, the local SUNAT simulator and a mail server),
dispatches a day of receipts with some scripted SUNAT rejections, observations and
faults, shows progress until every receipt has its final answer, PDF and e-mail, and
prints where everything is. Ctrl-C stops it cleanly; ``--resume`` picks it up again.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from capataz import exitcodes


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def _not_negative(text: str) -> int:
    if text.strip() == "0":
        return 0
    return _positive(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="./dev demo", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--receipts", type=_positive, default=500, metavar="N",
                        help="how many receipts to issue (default 500)")
    parser.add_argument("--workdir", type=Path, default=Path("var/demo"), metavar="DIR",
                        help="where everything is set up; cleaned at each run (default var/demo)")
    parser.add_argument("--keep-running", action="store_true",
                        help="after the summary, keep everything up to explore until Ctrl-C")
    parser.add_argument("--resume", action="store_true",
                        help="pick up a stopped run in --workdir instead of starting a new one")
    parser.add_argument("--kill-workers", type=_not_negative, default=0, metavar="N",
                        help="SIGKILL N workers during the run, to watch nothing get lost")
    parser.add_argument("--seed", type=int, default=7, help="seed of the random batch")
    parser.add_argument("--timeout", type=float, default=900.0, metavar="SECONDS",
                        help="give up waiting for the batch after this long (default 900)")
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else exitcodes.USAGE
    try:
        from facturacion.billing.demo.run import DemoOptions, run_demo
    except ImportError as error:  # pragma: no cover - only without the facturacion extra
        print(f"demo: {error}; install the project with ./dev (pip install -e '.[dev]')",
              file=sys.stderr)  # fmt: skip
        return exitcodes.FAILURE
    options = DemoOptions(
        receipts=args.receipts, workdir=args.workdir, keep_running=args.keep_running,
        kill_workers=args.kill_workers, seed=args.seed, timeout=args.timeout,
        resume=args.resume,
    )  # fmt: skip
    return run_demo(options)


if __name__ == "__main__":
    raise SystemExit(main())
