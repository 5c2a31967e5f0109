"""``capataz``: the queue worker and the queue:* operator commands."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from capataz import exitcodes


def main(argv: Sequence[str] | None = None) -> int:
    del argv
    print("capataz: the queue worker is not built yet", file=sys.stderr)
    return exitcodes.NOT_BUILT
