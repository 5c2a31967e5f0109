"""Errors of the supervisor daemon: one root, one class per answer a client gets.

Each class names the XML-RPC fault it maps to (``fault``), so the control layer
translates them in one place without string matching.
"""

from __future__ import annotations


class SupervisorError(Exception):
    """Root of every error the daemon's API raises on purpose."""

    fault = "FAILED"


class BadNameError(SupervisorError):
    fault = "BAD_NAME"


class BadSignalError(SupervisorError):
    fault = "BAD_SIGNAL"


class NoFileError(SupervisorError):
    fault = "NO_FILE"


class NotExecutableError(SupervisorError):
    fault = "NOT_EXECUTABLE"


class FailedError(SupervisorError):
    fault = "FAILED"


class AbnormalTerminationError(SupervisorError):
    fault = "ABNORMAL_TERMINATION"


class SpawnError(SupervisorError):
    fault = "SPAWN_ERROR"


class AlreadyStartedError(SupervisorError):
    fault = "ALREADY_STARTED"


class NotRunningError(SupervisorError):
    fault = "NOT_RUNNING"


class AlreadyAddedError(SupervisorError):
    fault = "ALREADY_ADDED"


class StillRunningError(SupervisorError):
    fault = "STILL_RUNNING"


class CantRereadError(SupervisorError):
    fault = "CANT_REREAD"


class ShutdownStateError(SupervisorError):
    fault = "SHUTDOWN_STATE"


class InvalidTransitionError(SupervisorError):
    """A state change the transition table forbids: a bug in the daemon, not in the input."""


class DaemonSetupError(SupervisorError):
    """The daemon cannot start (pidfile, user, log directory): the message says how to fix it."""


class BadArgumentsError(SupervisorError):
    fault = "BAD_ARGUMENTS"
