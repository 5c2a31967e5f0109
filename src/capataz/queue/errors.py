"""Errors of the job queue: one root, messages that say what to do.

Two families live here. ``QueueError`` and its children are real errors that
reach the user (a bad URL, a store that cannot be opened, a job that is not
registered). ``JobControl`` and its children are control flow: a job raises
them (through :func:`capataz.queue.release` and :func:`capataz.queue.fail`) to
tell the worker what to do with it, and they carry the data the worker needs.
"""

from __future__ import annotations


class QueueError(Exception):
    """The root of every error the queue raises on purpose."""


class QueueURLError(QueueError):
    """A queue URL this version cannot open."""


class StoreError(QueueError):
    """The job store could not be read or written."""


class StoreUnavailableError(StoreError):
    """The store's server (PostgreSQL, Redis) cannot be reached now; nothing was written."""


class JobNotRegisteredError(QueueError):
    """A payload names a job no loaded module registered."""


class PayloadError(QueueError):
    """A payload that is not a job this worker can run (bad JSON, bad shape, bad arguments)."""


class DispatchError(QueueError):
    """A job could not be dispatched (arguments that are not JSON, an unknown connection)."""


class JobControl(BaseException):
    """Raised inside a job to tell the worker how the attempt ends.

    A ``BaseException``, like ``SystemExit``: a job's own ``except Exception:`` must
    not swallow a ``release()`` or ``fail()`` on its way to the worker.
    """


class ReleaseJob(JobControl):
    """Put the job back on its queue, available again after ``delay`` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = max(0.0, float(delay))
        super().__init__(f"released back onto the queue for {self.delay:g}s")


class FailJob(JobControl):
    """Fail the job now, without further attempts; ``reason`` goes to the failed jobs."""

    def __init__(self, reason: str | BaseException = "the job failed itself") -> None:
        self.reason = reason
        super().__init__(str(reason))


class MaxAttemptsExceededError(QueueError):
    """A job reserved more times than it may be tried (an earlier attempt crashed or timed out)."""


class JobTimedOutError(QueueError):
    """A job ran past its timeout and was stopped."""
