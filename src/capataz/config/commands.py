"""Where a process's program is looked for: one rule for the daemon that spawns it and for
the check that warns before it does.

As in Supervisor: a program written with a slash is taken as written; a bare name is
looked for in each directory of the PATH the process would get (its own
``environment=``, else ``[supervisord] environment=``, else the daemon's own).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping


def lookup_path(program_env: Iterable[tuple[str, str]], daemon_env: Iterable[tuple[str, str]],
                environ: Mapping[str, str]) -> str:
    """The PATH a bare program name is looked up in."""
    return (dict(program_env).get("PATH") or dict(daemon_env).get("PATH")
            or environ.get("PATH") or os.defpath)


def candidates(program: str, path: str) -> list[str]:
    """The files ``program`` may be, in the order they are tried."""
    if "/" in program:
        return [program]
    return [os.path.join(place, program) for place in path.split(os.pathsep)]
