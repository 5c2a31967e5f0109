"""capataz.queue: jobs with Laravel's ``queue:work`` semantics on an embedded SQLite store.

Define jobs with :func:`job`, dispatch them with ``.dispatch(...)``, and run
``capataz work -A your.module``. See ``docs/queue.md``.
"""

from capataz.queue.backends.base import Backend
from capataz.queue.backends.memory import MemoryBackend
from capataz.queue.clock import Clock, FakeClock, SystemClock
from capataz.queue.connections import CONNECTIONS, open_backend, use
from capataz.queue.context import JobContext, current_job, fail, release
from capataz.queue.dispatch import PendingDispatch
from capataz.queue.errors import (
    DispatchError,
    FailJob,
    JobNotRegisteredError,
    JobTimedOutError,
    MaxAttemptsExceededError,
    PayloadError,
    QueueError,
    QueueURLError,
    ReleaseJob,
    StoreError,
    StoreUnavailableError,
)
from capataz.queue.registry import REGISTRY, JobDefinition, Registry, job
from capataz.queue.worker import Worker, WorkerOptions

__all__ = [
    "CONNECTIONS",
    "REGISTRY",
    "Backend",
    "Clock",
    "DispatchError",
    "FailJob",
    "FakeClock",
    "JobContext",
    "JobDefinition",
    "JobNotRegisteredError",
    "JobTimedOutError",
    "MaxAttemptsExceededError",
    "MemoryBackend",
    "PayloadError",
    "PendingDispatch",
    "QueueError",
    "QueueURLError",
    "Registry",
    "ReleaseJob",
    "StoreError",
    "StoreUnavailableError",
    "SystemClock",
    "Worker",
    "WorkerOptions",
    "current_job",
    "fail",
    "job",
    "open_backend",
    "release",
    "use",
]
