"""The contract every job store implements: one small Protocol and the records it speaks.

A backend is a store of jobs plus the failed jobs and the worker markers
(restart, pause). Every state change is one atomic operation guarded by what
the caller holds: a worker may complete, release, fail or renew a job only
while it holds that job's current lease token, so a worker that lost its lease
(it was frozen, its lease expired, another worker took the job) cannot touch
the job any more. The in-memory, SQLite, PostgreSQL and Redis stores implement
this same Protocol and pass the same contract tests.

Times written to a store are seconds since the epoch (see ``capataz.queue.clock``);
each backend reads them from the clock it was given, so tests move time freely.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from capataz.queue.clock import Clock

RESTART_MARKER = "restart"
PAUSE_PREFIX = "pause:"
#: Pausing this name pauses every queue: the store's maintenance mode (``--force`` ignores it).
ALL_QUEUES = "*"


@dataclass(frozen=True)
class NewJob:
    """A job about to be stored."""

    uuid: str
    queue: str
    payload: str
    available_at: float
    unique_key: str | None = None
    #: When the unique key stops blocking duplicates; None: while the job waits or runs.
    unique_until: float | None = None


@dataclass(frozen=True)
class ReservedJob:
    """A job a worker holds under a lease: only ``lease_token`` can settle it."""

    id: int
    uuid: str
    queue: str
    payload: str
    attempts: int
    exceptions: int
    created_at: float
    lease_token: str


@dataclass(frozen=True)
class FailedJob:
    id: int
    uuid: str
    connection: str
    queue: str
    payload: str
    exception: str
    failed_at: float


@dataclass(frozen=True)
class QueueStats:
    queue: str
    waiting: int
    delayed: int
    running: int
    failed: int
    #: Seconds the oldest job available to run has been waiting; None when none waits.
    oldest_waiting: float | None


class Backend(Protocol):
    """A job store. Implementations are safe to call from several threads."""

    #: The connection name written to failed jobs ("default" unless configured).
    connection: str

    # -- jobs ---------------------------------------------------------------
    def push(self, jobs: Sequence[NewJob]) -> list[str]:
        """Store jobs atomically; return each job's uuid.

        A job whose unique key is held by a waiting or running job is not stored;
        the uuid of the job holding the key is returned in its place.
        """

    def claim(self, queues: Sequence[str], worker: str, lease_seconds: float) -> ReservedJob | None:
        """Reserve the next available job, trying ``queues`` in strict priority order.

        Paused queues are skipped; jobs whose lease expired are available again.
        The reservation counts an attempt and starts a lease.
        """

    def renew(self, lease_token: str, lease_seconds: float) -> bool:
        """Extend a lease; False when the token no longer holds the job."""

    def complete(self, lease_token: str) -> bool:
        """Remove a finished job; False when the token no longer holds it."""

    def release(self, lease_token: str, delay: float, *, after_exception: bool) -> bool:
        """Put the job back, available after ``delay`` seconds; count an exception if asked."""

    def fail(self, lease_token: str, exception: str) -> bool:
        """Move the job to the failed jobs with this exception text."""

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds or until the store changed; True if it changed."""

    # -- failed jobs --------------------------------------------------------
    def failed_jobs(self, after_id: int = 0, limit: int | None = None) -> list[FailedJob]:
        """Failed jobs ordered by id, starting after ``after_id`` (for paging)."""

    def get_failed(self, key: str) -> FailedJob | None:
        """One failed job by its numeric id or its uuid."""

    def retry_failed(self, ids: Sequence[int]) -> list[str]:
        """Push these failed jobs back onto their queues (attempts start again); return uuids."""

    def forget_failed(self, ids: Sequence[int]) -> int:
        """Delete these failed jobs; return how many existed."""

    def flush_failed(self, failed_before: float | None = None) -> int:
        """Delete failed jobs (only those that failed before a time, if given)."""

    # -- operations ---------------------------------------------------------
    def clear(self, queue: str) -> int:
        """Delete the jobs waiting (or delayed) on a queue; running jobs finish."""

    def stats(self) -> list[QueueStats]:
        """Counts by queue and state."""

    def markers(self) -> dict[str, float]:
        """The worker markers (restart time, paused queues)."""

    def set_marker(self, name: str, value: float) -> None: ...

    def delete_marker(self, name: str) -> bool: ...

    def close(self) -> None: ...


@runtime_checkable
class CompletesAndClaims(Protocol):
    """An optional fast path: finish one job and reserve the next in one atomic step.

    A busy worker settles a job and asks for the next one back to back; doing both
    in one transaction halves the write transactions per job, which is what bounds
    throughput on SQLite. Stores without it are driven with ``complete`` then ``claim``.
    """

    def complete_and_claim(
        self, lease_token: str, queues: Sequence[str], worker: str, lease_seconds: float
    ) -> tuple[bool, ReservedJob | None]:
        """``complete(lease_token)`` then ``claim(...)``, atomically; (completed?, next job)."""


@dataclass(frozen=True)
class NextJob:
    """What a busy worker's one step at the store brought back (see :func:`claim_next`)."""

    #: The job now reserved for the worker, or None.
    job: ReservedJob | None
    #: The finished job given was removed (True when none was given).
    completed: bool = True
    #: The store's markers, when they no longer equal the worker's: then nothing was reserved.
    markers: dict[str, float] | None = None


@runtime_checkable
class ClaimsNext(Protocol):
    """The worker's fast path: settle, check the markers and reserve, in one atomic step.

    A busy worker needs three things between two jobs: remove the finished job,
    learn whether ``queue:restart`` or ``queue:pause`` happened, and reserve the
    next job. Asked separately they cost three round trips (or transactions) per
    job; a store with this method does all three at once. The worker sends the
    markers it knows; a store whose markers differ reserves nothing and returns
    them, so a restart or pause is honoured before another job is taken, exactly
    as if the worker had read the markers after each job.
    """

    def claim_next(
        self,
        finished: str | None,
        queues: Sequence[str],
        worker: str,
        lease_seconds: float,
        markers: Mapping[str, float],
    ) -> NextJob:
        """``complete(finished)`` if given; then, if the store's markers equal ``markers``,
        ``claim(queues, worker, lease_seconds)``; otherwise the markers and no job."""


#: ``claim_next(finished, queues, worker, lease_seconds, markers)``, bound to one store.
ClaimNext = Callable[[str | None, Sequence[str], str, float, Mapping[str, float]], NextJob]


def claim_next_for(backend: Backend) -> ClaimNext:
    """The store's own ``claim_next``, or the same contract built from its basic methods.

    Looked up once per worker: a runtime Protocol check costs more than a claim on a
    fast store. The fallback reads the markers, then completes and claims (in one
    step where the store offers ``complete_and_claim``); its marker check is then not
    atomic with the claim, the same as a worker reading the markers after each job.
    """
    if isinstance(backend, ClaimsNext):
        return backend.claim_next
    return ClaimNextInSteps(backend)


class ClaimNextInSteps:
    """``claim_next`` for a store without it: ``markers``, then ``complete`` and ``claim``."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        # Where the store offers it, completing and claiming still take one step.
        self._complete_and_claim = (
            backend.complete_and_claim if isinstance(backend, CompletesAndClaims) else None
        )

    def __call__(self, finished: str | None, queues: Sequence[str], worker: str,
                 lease_seconds: float, markers: Mapping[str, float]) -> NextJob:
        backend = self.backend
        current = backend.markers()
        if current != markers:
            completed = backend.complete(finished) if finished is not None else True
            return NextJob(None, completed, current)
        if finished is None:
            return NextJob(backend.claim(queues, worker, lease_seconds))
        if self._complete_and_claim is not None:
            completed, job = self._complete_and_claim(finished, queues, worker, lease_seconds)
            return NextJob(job, completed)
        completed = backend.complete(finished)
        return NextJob(backend.claim(queues, worker, lease_seconds), completed)


def poll_for_change(
    read_version: Callable[[], object],
    last_seen: object,
    clock: Clock,
    timeout: float,
    interval: float,
) -> tuple[bool, object]:
    """Poll a cheap change counter until it moves or ``timeout`` passes.

    Returns (changed, the version seen last). Used by stores without a push
    notification: SQLite's ``PRAGMA data_version`` costs microseconds, so an idle
    worker can look every few milliseconds and start a new job almost at once
    instead of after the whole ``--sleep``.
    """
    deadline = clock.monotonic() + max(0.0, timeout)
    while True:
        version = read_version()
        if version != last_seen:
            return True, version
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            return False, version
        clock.sleep(min(interval, remaining))


def paused_queues(markers: dict[str, float]) -> set[str]:
    return {name[len(PAUSE_PREFIX) :] for name in markers if name.startswith(PAUSE_PREFIX)}
