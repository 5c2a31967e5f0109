"""argparse with environment-variable twins: every flag can be set as ``CAPATAZ_<FLAG>``.

Under a supervisor, flags live in a config file while environment variables
come from the container or the unit; both must work. The flag wins over the
variable, the variable over the default, and ``--help`` shows each variable.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


class UsageError(Exception):
    """Bad command-line input (flags or their environment variables)."""


def env_name(flag: str) -> str:
    return "CAPATAZ_" + flag.lstrip("-").upper().replace("-", "_")


def add(
    parser: argparse.ArgumentParser,
    *flags: str,
    help: str,
    type: Callable[[str], Any] = str,
    default: Any = None,
    env: str | None = None,
    switch: bool = False,
    repeat: bool = False,
    metavar: str | None = None,
) -> None:
    """Add a flag whose default comes from its environment variable when that is set."""
    variable = env or env_name(next(f for f in flags if f.startswith("--")))
    raw = os.environ.get(variable)
    if raw is not None:
        default = _parse_env(variable, raw, bool if switch else type)
    text = f"{help} [env: {variable}]"
    if default not in (None, False, ""):
        text += f" (default: {_show(default)})"
    dest = next(f for f in flags if f.startswith("--")).lstrip("-").replace("-", "_")
    if switch:
        parser.add_argument(*flags, dest=dest, action="store_true", default=default, help=text)
    elif repeat:  # each use adds the items its type returns (a list)
        parser.add_argument(
            *flags, dest=dest, type=type, action="extend", default=list(default or []),
            help=text, metavar=metavar,
        )
    else:
        parser.add_argument(
            *flags, dest=dest, type=type, default=default, help=text, metavar=metavar
        )


def _show(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ",".join(_show(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_env(variable: str, raw: str, kind: Callable[[str], Any]) -> Any:
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise UsageError(f"{variable}={raw!r} is not a yes/no value; use 1 or 0")
    try:
        return kind(raw)
    except (ValueError, argparse.ArgumentTypeError) as exc:
        raise UsageError(f"{variable}={raw!r} is not valid: {exc}") from None


# -- value types with messages that say what is expected ------------------------
def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number, 0 or more")
    return value


def positive_float(text: str) -> float:
    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def seconds_list(text: str) -> tuple[float, ...]:
    """``10,60,300``: one delay per attempt, the last one repeating."""
    parts = [p.strip() for p in text.split(",")]
    if not parts or any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of seconds")
    return tuple(non_negative_float(p) for p in parts)


def name_list(text: str) -> tuple[str, ...]:
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r} names no queue")
    return names


def id_ranges(text: str) -> list[tuple[int, int]]:
    """``1-5,8-10``: inclusive ranges of failed job ids."""
    ranges = []
    for part in text.split(","):
        first, sep, last = part.strip().partition("-")
        if not (sep and first.strip().isdigit() and last.strip().isdigit()):
            raise argparse.ArgumentTypeError(f"{part.strip()!r} is not FIRST-LAST, e.g. 1-50")
        low, high = sorted((int(first), int(last)))
        ranges.append((low, high))
    return ranges
