"""What a running job can know and do about itself: its id and attempt, release, fail."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import NoReturn

from capataz.queue.errors import FailJob, QueueError, ReleaseJob


@dataclass(frozen=True)
class JobContext:
    uuid: str
    job: str
    queue: str
    #: This attempt's number, counting the current one (1 on the first run).
    attempt: int
    lease_token: str


_current: ContextVar[JobContext | None] = ContextVar("capataz_current_job", default=None)


def current_job() -> JobContext:
    """The job this code runs in; a ``QueueError`` outside a job."""
    context = _current.get()
    if context is None:
        raise QueueError("current_job() was called outside a running job")
    return context


def release(delay: float = 0.0) -> NoReturn:
    """End this attempt and put the job back on its queue, available after ``delay`` seconds.

    The attempt still counts (Laravel's rule), so a job that releases itself
    forever stops at its ``tries``.
    """
    raise ReleaseJob(delay)


def fail(reason: str | BaseException = "the job failed itself") -> NoReturn:
    """Fail the job now: no more attempts; ``reason`` goes to the failed jobs."""
    raise FailJob(reason)


def set_current(context: JobContext | None) -> object:
    return _current.set(context)


def reset_current(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
