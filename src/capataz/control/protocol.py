"""The numbers and names of Supervisor's XML-RPC protocol, API version 3.0.

Fault codes, process states and daemon states are part of the wire contract:
the real ``supervisorctl``, Ansible's module and monitoring agents switch on
these exact integers and names, so they are written here once and shared by
the server (``capataz.control``) and the client (``capataz.ctl``).
"""

from __future__ import annotations

import enum
from typing import Final

API_VERSION: Final = "3.0"


class Fault(enum.IntEnum):
    """Fault codes; the fault string is the name, optionally ``NAME: detail``."""

    UNKNOWN_METHOD = 1
    INCORRECT_PARAMETERS = 2
    BAD_ARGUMENTS = 3
    SIGNATURE_UNSUPPORTED = 4
    SHUTDOWN_STATE = 6
    BAD_NAME = 10
    BAD_SIGNAL = 11
    NO_FILE = 20
    NOT_EXECUTABLE = 21
    FAILED = 30
    ABNORMAL_TERMINATION = 40
    SPAWN_ERROR = 50
    ALREADY_STARTED = 60
    NOT_RUNNING = 70
    SUCCESS = 80
    ALREADY_ADDED = 90
    STILL_RUNNING = 91
    CANT_REREAD = 92


def fault_string(code: int, detail: object = None) -> str:
    """The faultString Supervisor sends: ``NAME`` or ``NAME: detail``."""
    try:
        name = Fault(code).name
    except ValueError:
        name = "UNKNOWN"
    return name if detail is None else f"{name}: {detail}"


class ProcessState(enum.IntEnum):
    STOPPED = 0
    STARTING = 10
    RUNNING = 20
    BACKOFF = 30
    STOPPING = 40
    EXITED = 100
    FATAL = 200
    UNKNOWN = 1000

    def __repr__(self) -> str:
        return self.name


STOPPED_STATES: Final = frozenset(
    {ProcessState.STOPPED, ProcessState.EXITED, ProcessState.FATAL, ProcessState.UNKNOWN}
)
RUNNING_STATES: Final = frozenset(
    {ProcessState.RUNNING, ProcessState.BACKOFF, ProcessState.STARTING}
)
SIGNALLABLE_STATES: Final = frozenset(
    {ProcessState.RUNNING, ProcessState.STARTING, ProcessState.STOPPING}
)


class DaemonState(enum.IntEnum):
    """Supervisor's "mood": below RUNNING, the API refuses most calls."""

    FATAL = 2
    RUNNING = 1
    RESTARTING = 0
    SHUTDOWN = -1

    def __repr__(self) -> str:
        return self.name


def make_namespec(group: str, name: str) -> str:
    """A process's user-facing name: ``name`` alone when it is its own group."""
    return name if group == name else f"{group}:{name}"


def split_namespec(namespec: str) -> tuple[str, str | None]:
    """``group:name`` -> (group, name); ``group:*`` or ``group:`` -> (group, None).

    A bare ``name`` means the process ``name`` in the group ``name``.
    """
    group, sep, name = namespec.partition(":")
    if not sep:
        return namespec, namespec
    if name in {"", "*"}:
        return group, None
    return group, name
