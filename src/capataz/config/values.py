"""Value syntax of supervisor.conf: each converter takes the text, returns the value.

Every converter accepts exactly what Supervisor's ``supervisor/datatypes.py``
accepts (including its quirks: ``int()`` takes ``1_000``, sizes take ``50 MB``,
a signal may be written ``TERM``, ``SIGTERM``, ``sigterm`` or ``15``) and raises
:class:`BadValue` saying what was expected; the reader adds the location.
"""

from __future__ import annotations

import shlex
import signal
from collections.abc import Callable
from typing import Any

from capataz.config.model import AUTO, AutoRestart, LogFile

TRUTHY = ("yes", "true", "on", "1")
FALSY = ("no", "false", "off", "0")
_SIZE_SUFFIXES = {"kb": 1024, "mb": 1024 * 1024, "gb": 1024 * 1024 * 1024}
#: Every number the ``signal`` module names (Supervisor's ``SIGNUMS``), by name.
SIGNALS: dict[str, int] = {
    name: int(getattr(signal, name))
    for name in dir(signal)
    if name.startswith("SIG") and isinstance(getattr(signal, name), int)
}
_SIGNAL_NUMBERS = frozenset(SIGNALS.values())
#: Supervisor's event types that a listener may subscribe to.
EVENT_TYPES = frozenset(
    {
        "EVENT",
        "PROCESS_STATE",
        *(
            f"PROCESS_STATE_{state}"
            for state in (
                "STOPPED",
                "EXITED",
                "STARTING",
                "STOPPING",
                "BACKOFF",
                "FATAL",
                "RUNNING",
                "UNKNOWN",
            )
        ),
        "PROCESS_COMMUNICATION",
        "PROCESS_COMMUNICATION_STDOUT",
        "PROCESS_COMMUNICATION_STDERR",
        "PROCESS_LOG",
        "PROCESS_LOG_STDOUT",
        "PROCESS_LOG_STDERR",
        "REMOTE_COMMUNICATION",
        "SUPERVISOR_STATE_CHANGE",
        "SUPERVISOR_STATE_CHANGE_RUNNING",
        "SUPERVISOR_STATE_CHANGE_STOPPING",
        "TICK",
        "TICK_5",
        "TICK_60",
        "TICK_3600",
        "PROCESS_GROUP",
        "PROCESS_GROUP_ADDED",
        "PROCESS_GROUP_REMOVED",
    }
)
LOG_LEVELS = ("critical", "error", "warn", "info", "debug", "trace", "blather")


Converter = Callable[[str], Any]


def text(value: str) -> str:
    """A plain string, kept as written (after expansion)."""
    return value


class BadValue(ValueError):  # noqa: N818 - internal signal, turned into ConfigError by the reader
    """A value that does not have the syntax its option needs."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise BadValue("a whole number, e.g. 10") from None


def boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in TRUTHY:
        return True
    if lowered in FALSY:
        return False
    raise BadValue("true or false (also yes/no, on/off, 1/0)")


def byte_size(text: str) -> int:
    lowered = text.lower()
    multiplier = _SIZE_SUFFIXES.get(lowered[-2:], 1)
    digits = lowered[:-2] if lowered[-2:] in _SIZE_SUFFIXES else lowered
    try:
        return int(digits) * multiplier
    except ValueError:
        raise BadValue("a size in bytes, optionally with KB, MB or GB, e.g. 50MB") from None


def octal(text: str) -> int:
    try:
        return int(text, 8)
    except ValueError:
        raise BadValue("an octal number, e.g. 022") from None


def signal_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        name = text.strip().upper()
        if not name.startswith("SIG"):
            name = "SIG" + name
        if name not in SIGNALS:
            raise BadValue("a signal name or number, e.g. TERM, SIGINT, QUIT or 9") from None
        number = SIGNALS[name]
    if number not in _SIGNAL_NUMBERS:
        raise BadValue("a signal number this system knows, e.g. 15")
    return number


def exit_codes(text: str) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        codes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise BadValue("a comma-separated list of exit codes, e.g. 0,2") from None
    if any(code < 0 or code > 255 for code in codes):
        raise BadValue("exit codes between 0 and 255")
    return codes


def auto_restart(text: str) -> AutoRestart:
    lowered = text.lower()
    if lowered in TRUTHY:
        return AutoRestart.ALWAYS
    if lowered in FALSY:
        return AutoRestart.NEVER
    if lowered == "unexpected":
        return AutoRestart.UNEXPECTED
    raise BadValue("true, false or unexpected")


def logfile(text: str) -> LogFile | str:
    """A log file: a path, ``AUTO``, ``None`` for NONE/OFF, or the literal ``"syslog"``.

    ``syslog`` is returned as is: it is deprecated and the caller rewrites it.
    """
    lowered = text.lower()
    if lowered in ("none", "off", ""):
        return None
    if lowered == "auto":
        return AUTO
    if lowered == "syslog":
        return "syslog"
    return text


def key_value_pairs(text: str) -> tuple[tuple[str, str], ...]:
    """``KEY="value",KEY2=value2`` with Supervisor 4.3.0's rules.

    Supervisor tokenises with a non-POSIX ``shlex`` whose word characters are
    letters, digits and ``_/.+-():``; a value with anything else must be quoted,
    quotes are stripped from both ends, there are no escapes, and a ``#`` starts
    a comment. Keys repeat: the last value wins at the first key's place.
    """
    lexer = shlex.shlex(text)
    lexer.wordchars += "/.+-():"
    try:
        tokens = list(lexer)
    except ValueError:
        raise BadValue("KEY=value pairs separated by commas; a quote is not closed") from None
    pairs: dict[str, str] = {}
    for start in range(0, len(tokens), 4):
        triple = tokens[start : start + 3]
        if len(triple) != 3 or triple[1] != "=":
            raise BadValue(
                'KEY=value pairs separated by commas, e.g. A="x y",B=2 '
                "(quote values holding characters other than letters, digits and _/.+-():)"
            )
        pairs[triple[0]] = triple[2].strip("'\"")
    return tuple(pairs.items())


def comma_list(text: str) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(part.strip() for part in text.split(","))


def logging_level(text: str) -> str:
    lowered = text.lower()
    if lowered not in LOG_LEVELS:
        raise BadValue("one of " + ", ".join(LOG_LEVELS))
    return lowered


def name(text: str) -> str:
    """A process or group name: no space, ``:`` or ``/`` (they break URLs and events)."""
    stripped = text.strip()
    for character in " :/":
        if character in stripped:
            raise BadValue(f"a name without spaces, ':' or '/' (found {character!r})")
    return stripped


def inet_address(text: str) -> tuple[str, int]:
    """``port``, ``host:port``, ``:port`` or ``*:port`` (host ``""``: every interface)."""
    host = ""
    port_text = text
    if ":" in text:
        host, port_text = text.rsplit(":", 1)
        host = host.lower()
    try:
        port = int(port_text)
    except ValueError:
        raise BadValue("a port, or host:port, e.g. 127.0.0.1:9001") from None
    if not 1 <= port <= 0xFFFF:
        raise BadValue("a port between 1 and 65535")
    return ("" if host in ("", "*") else host), port


def user_group(text: str) -> tuple[str, str | None]:
    user, sep, group = text.partition(":")
    return user, (group if sep else None)
