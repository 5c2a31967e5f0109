"""Named SQL blocks: each backend keeps its SQL in one ``.sql`` file, read once.

A block starts at a ``-- name: <name>`` line and runs to the next one; comment
lines are dropped. Keeping SQL out of Python lets a reviewer read every
statement a store runs in one place, and lets each be tried in a SQL shell.
"""

from __future__ import annotations

import re
from importlib.resources import files

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$")


def parse_blocks(text: str) -> dict[str, str]:
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = _NAME.match(line)
        if match:
            current = blocks.setdefault(match.group(1), [])
        elif current is not None and not line.lstrip().startswith("--"):
            current.append(line)
    return {name: "\n".join(lines).strip() for name, lines in blocks.items()}


def load_queries(filename: str) -> dict[str, str]:
    return parse_blocks(files("capataz.queue.backends").joinpath(filename).read_text("utf-8"))


def split_statements(block: str) -> list[str]:
    """Statements of a block, split at ';' ending a line (the only place our SQL puts them)."""
    return [s.strip() for s in re.split(r";\s*$", block, flags=re.MULTILINE) if s.strip()]
