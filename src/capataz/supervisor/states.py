"""Process and daemon states, and the one table of allowed process transitions.

The numbers are Supervisor's, because the XML-RPC API reports them and the
tools built on that API compare against them.
"""

from __future__ import annotations

import enum


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


class SupervisorState(enum.IntEnum):
    """The daemon's own "mood", as ``getState`` reports it."""

    FATAL = 2
    RUNNING = 1
    RESTARTING = 0
    SHUTDOWN = -1

    def __repr__(self) -> str:
        return self.name


S = ProcessState

#: Every transition a process may make; anything else is a bug and raises.
#: Why each one exists:
#:   -> STARTING   spawn: autostart, autorestart, a BACKOFF retry, an explicit start
#:                 (the only way out of FATAL)
#:   STARTING -> RUNNING   alive for startsecs
#:   STARTING -> BACKOFF   spawn error, or death before startsecs
#:   STARTING/RUNNING -> STOPPING   stop requested: stopsignal sent
#:   STOPPING -> STOPPING  stopwaitsecs passed: SIGKILL (again)
#:   STOPPING -> STOPPED   reaped after a stop, whatever the exit status
#:   RUNNING -> EXITED     died on its own
#:   BACKOFF -> FATAL      startretries used up, or the daemon is shutting down
#:   BACKOFF -> STOPPED    stop requested while waiting to retry: no signal needed
#:   STARTING/RUNNING/STOPPING -> UNKNOWN   a signal could not be sent for a reason
#:                         other than ESRCH (only a process with a pid is signalled)
#:   UNKNOWN -> STOPPED    the lost process was reaped after all
TRANSITIONS: dict[ProcessState, frozenset[ProcessState]] = {
    S.STOPPED: frozenset({S.STARTING}),
    S.STARTING: frozenset({S.RUNNING, S.BACKOFF, S.STOPPING, S.UNKNOWN}),
    S.RUNNING: frozenset({S.EXITED, S.STOPPING, S.UNKNOWN}),
    S.BACKOFF: frozenset({S.STARTING, S.FATAL, S.STOPPED}),
    S.STOPPING: frozenset({S.STOPPING, S.STOPPED, S.UNKNOWN}),
    S.EXITED: frozenset({S.STARTING}),
    S.FATAL: frozenset({S.STARTING}),
    S.UNKNOWN: frozenset({S.STOPPED}),
}

STOPPED_STATES = frozenset({S.STOPPED, S.EXITED, S.FATAL, S.UNKNOWN})
RUNNING_STATES = frozenset({S.RUNNING, S.BACKOFF, S.STARTING})
SIGNALLABLE_STATES = frozenset({S.RUNNING, S.STARTING, S.STOPPING})

__all__ = [
    "RUNNING_STATES",
    "SIGNALLABLE_STATES",
    "STOPPED_STATES",
    "TRANSITIONS",
    "ProcessState",
    "SupervisorState",
]
