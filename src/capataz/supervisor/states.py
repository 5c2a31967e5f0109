"""Process and daemon states, and the one table of allowed process transitions.

The numbers are Supervisor's, because the XML-RPC API reports them and the
tools built on that API compare against them.
"""

from __future__ import annotations

from capataz.control.protocol import (
    RUNNING_STATES,
    SIGNALLABLE_STATES,
    STOPPED_STATES,
    ProcessState,
)
from capataz.control.protocol import DaemonState as SupervisorState

# The codes and the state sets are the API's vocabulary (control.protocol); this
# module adds what only the daemon needs: the table of allowed transitions.

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

__all__ = [
    "RUNNING_STATES",
    "SIGNALLABLE_STATES",
    "STOPPED_STATES",
    "TRANSITIONS",
    "ProcessState",
    "SupervisorState",
]
