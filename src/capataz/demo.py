"""The main job a new user runs first (``./dev demo``).

It grows with the project. Today it validates the seed's supervisor.conf with
``capatazd --check`` and says plainly which parts are still to come.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from capataz.supervisor.cli import main as capatazd

SEED_CONFIG = Path("examples/seed-supervisor.conf")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev demo", description=__doc__)
    parser.add_argument("-c", "--config", type=Path, default=SEED_CONFIG)
    args = parser.parse_args(argv)
    print(f"==> capatazd -c {args.config} --check")
    status = capatazd(["-c", str(args.config), "--check"])
    print(
        "\nThe billing batch demo (the daemon with 8 workers sending receipts to a local "
        "SUNAT simulator) is not built yet; this run only validated the configuration."
    )
    return status


if __name__ == "__main__":
    raise SystemExit(main())
