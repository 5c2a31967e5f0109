"""The worker loop: Laravel's ``queue:work`` daemon, with leases instead of ``retry_after``.

Each turn: honour pause (SIGUSR2, ``queue:pause``), reserve the next job from
the queues in strict priority order, run it, then check whether to stop, in
Laravel's order: a stop signal, memory, a ``queue:restart`` newer than our
start, an empty queue (``--stop-when-empty``), ``--max-time``, ``--max-jobs``.
Signals only set flags, so the job that is running always finishes.

A busy worker talks to the store once per job: one ``claim_next`` removes the
finished job, checks that the markers (restart, pause) are still those the
worker knows, and reserves the next job. When the markers changed, nothing is
reserved and the worker decides again with the new ones, so a ``queue:restart``
or ``queue:pause`` is obeyed before the next job, as if the worker had read the
markers after every job (Laravel reads its cache after every job).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import signal
import socket
import sys
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from capataz import exitcodes
from capataz.queue.backends.base import (
    ALL_QUEUES,
    PAUSE_PREFIX,
    RESTART_MARKER,
    Backend,
    NextJob,
    ReservedJob,
    claim_next_for,
)
from capataz.queue.clock import Clock, SystemClock
from capataz.queue.errors import StoreError
from capataz.queue.execution import Defaults, JobRun
from capataz.queue.output import Output
from capataz.queue.registry import REGISTRY, Registry
from capataz.queue.watchdog import ThreadWatchdog, Watchdog

if TYPE_CHECKING:
    import asyncio

#: Exit code of a worker whose job ran past its timeout; the supervisor starts a fresh one.
TIMED_OUT = exitcodes.FAILURE
#: How often a waiting worker looks at its flags (signals, pause) at the latest.
FLAG_CHECK = 0.25


@dataclass(frozen=True)
class WorkerOptions:
    queues: tuple[str, ...] = ("default",)
    sleep: float = 3.0
    tries: int = 1
    backoff: tuple[float, ...] = (0.0,)
    timeout: float = 60.0
    max_jobs: int = 0
    max_time: float = 0.0
    memory: float = 128.0
    rest: float = 0.0
    once: bool = False
    stop_when_empty: bool = False
    name: str = ""
    force: bool = False
    lease: float = 30.0


class ResidentMemory:
    """This process's resident memory now (Laravel reads memory_get_usage(true)).

    Read after every job, so it keeps ``/proc/self/statm`` open and reads it with
    one ``pread``: opening the file each time cost more than a no-op job's claim.
    A forked child opens it again (its ``self`` is another process): the fork hook
    marks the inherited descriptor, so no job pays for asking which process it is.
    """

    def __init__(self, path: str = "/proc/self/statm") -> None:
        self._path = path
        self._fd: int | None = None
        self._inherited = False
        self._page_mb = os.sysconf("SC_PAGE_SIZE") / 1024 / 1024
        _PROBES.add(self)

    def __call__(self) -> float:
        try:
            fd = self._fd if self._fd is not None and not self._inherited else self._open()
            return int(os.pread(fd, 256, 0).split()[1]) * self._page_mb
        except (OSError, ValueError, IndexError):  # not Linux: the peak is what there is
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def forked(self) -> None:
        """In a forked child: the descriptor reads the parent's memory; open ours next time."""
        self._inherited = self._fd is not None

    def _open(self) -> int:
        if self._fd is not None:  # inherited from the parent: this copy is ours to close
            os.close(self._fd)
            self._fd = None
        self._fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
        self._inherited = False
        return self._fd


_PROBES: weakref.WeakSet[ResidentMemory] = weakref.WeakSet()


def _probes_forked() -> None:
    for probe in list(_PROBES):
        probe.forked()


os.register_at_fork(after_in_child=_probes_forked)


resident_memory_mb = ResidentMemory()


def _hard_exit(code: int) -> None:  # pragma: no cover - ends the process; tested from outside
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class Worker:
    def __init__(
        self,
        backend: Backend,
        options: WorkerOptions | None = None,
        *,
        registry: Registry | None = None,
        clock: Clock | None = None,
        output: Output | None = None,
        watchdog: Watchdog | None = None,
        memory_probe: Callable[[], float] = resident_memory_mb,
        hard_exit: Callable[[int], None] = _hard_exit,
    ) -> None:
        self.backend = backend
        self.options = options or WorkerOptions()
        self.registry = registry if registry is not None else REGISTRY
        self.clock = clock or SystemClock()
        self.output = output or Output(self.clock)
        self.name = self.options.name or f"{socket.gethostname()}:{os.getpid()}"
        self._watchdog = watchdog
        self._memory_probe = memory_probe
        self._hard_exit = hard_exit
        self._runner: asyncio.Runner | None = None
        self._lost_leases: set[str] = set()
        self._defaults = Defaults(self.options.tries, self.options.backoff, self.options.timeout)
        self._claim_next = claim_next_for(backend)
        # A finished job (uuid, lease token) whose removal rides on the next claim_next.
        # It is flushed before anything that can take time, because its lease is no
        # longer renewed once the job has returned.
        self._finished: tuple[str, str] | None = None
        self.should_quit = False
        self.paused = False
        self.jobs_processed = 0
        self.stop_reason = ""

    # -- signals ------------------------------------------------------------
    def request_stop(self) -> None:
        self.should_quit = True

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def install_signal_handlers(self) -> Callable[[], None]:
        """Route the worker's signals to its flags; return a function restoring the old ones."""
        actions: dict[signal.Signals, Callable[[], None]] = {
            signal.SIGTERM: self.request_stop,
            signal.SIGINT: self.request_stop,
            signal.SIGQUIT: self.request_stop,
            signal.SIGUSR2: self.pause,
            signal.SIGCONT: self.resume,
        }
        previous = {
            sig: signal.signal(sig, lambda *_, act=act: act()) for sig, act in actions.items()
        }

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore

    # -- the loop -----------------------------------------------------------
    def run(self) -> int:
        """Work until a stop condition; return the exit code."""
        opts = self.options
        watchdog = self._watchdog or ThreadWatchdog(
            lambda token: self.backend.renew(token, opts.lease), opts.lease, self._lease_lost
        )
        started = self.clock.monotonic()
        markers = self.backend.markers()
        booted_at = markers.get(RESTART_MARKER)
        self.output.info(
            f"worker {self.name} processing queues {','.join(opts.queues)}",
            worker=self.name, queues=list(opts.queues),
        )
        try:
            while True:
                try:
                    got_job, markers = self._turn(markers, watchdog)
                except StoreError as exc:
                    # Laravel's worker reports a failed pop and tries again a second later;
                    # a job whose settle failed keeps its lease and comes back after it.
                    self.output.info(f"the queue store failed: {exc}; trying again in 1s",
                                     worker=self.name, error=str(exc))
                    self._idle(1.0, paused=True)
                    got_job = True
                code = self._stop_code(markers, booted_at, got_job, started)
                if code is not None:
                    self._flush_completion()
                    self.output.info(
                        f"worker {self.name} stopping: {self.stop_reason}",
                        worker=self.name, reason=self.stop_reason, status=code,
                    )
                    return code
        finally:
            with contextlib.suppress(StoreError):  # the lease brings the job back instead
                self._flush_completion()
            watchdog.close()
            if self._runner is not None:
                self._runner.close()

    def _turn(self, markers: dict[str, float], watchdog: Watchdog
              ) -> tuple[bool, dict[str, float]]:
        """One turn of the loop: (False when no job could be reserved, the markers known)."""
        opts = self.options
        if self.should_quit:  # asked to stop before this turn began: take no new job
            return True, markers
        if self.paused or (ALL_QUEUES_PAUSED in markers and not opts.force):
            self._flush_completion()
            self._idle(max(opts.sleep, 1.0), paused=True)
            return True, self.backend.markers()  # a resume shows here
        step = self._claim(markers)
        if step.markers is not None:  # a restart, pause or resume: decide again first
            return True, step.markers
        if step.job is None:
            if not (opts.once or opts.stop_when_empty):
                self._idle(opts.sleep)
            return False, markers
        self._process(step.job, watchdog)
        if opts.rest > 0:
            self._flush_completion()
            self._idle(opts.rest, paused=True)
        return True, markers

    def _claim(self, markers: dict[str, float]) -> NextJob:
        """Settle the finished job, if any, and reserve the next unless the markers changed."""
        opts = self.options
        finished = self._finished
        step = self._claim_next(None if finished is None else finished[1], opts.queues,
                                self.name, opts.lease, markers)
        # Only now: a store error above leaves the completion to be tried again.
        self._finished = None
        if finished is not None and not step.completed:
            self._completion_lost(finished[0])
        return step

    def _defer_completion(self, uuid: str, token: str) -> bool:
        self._finished = (uuid, token)
        return True

    def _flush_completion(self) -> None:
        if self._finished is not None:
            uuid, token = self._finished
            if not self.backend.complete(token):
                self._completion_lost(uuid)
            self._finished = None

    def _completion_lost(self, uuid: str) -> None:
        self.output.info(
            f"{uuid}: the lease on this job was lost before its completion was saved; "
            "another worker may run it again",
            worker=self.name, id=uuid,
        )

    def _process(self, reserved: ReservedJob, watchdog: Watchdog) -> None:
        run = JobRun(
            reserved,
            backend=self.backend,
            registry=self.registry,
            defaults=self._defaults,
            clock=self.clock,
            output=self.output,
            run_coroutine=self._run_coroutine,
            complete=lambda token: self._defer_completion(reserved.uuid, token),
        )
        run.execute(watchdog, lambda: self._hard_exit(TIMED_OUT))
        self.jobs_processed += 1

    def _run_coroutine(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        # One event loop for the worker's life: async jobs share it instead of
        # paying for a new loop per job.
        if self._runner is None:
            import asyncio  # only a worker that runs async jobs pays for it

            self._runner = asyncio.Runner()
        # The runner would otherwise run every job in the context it captured for the
        # first one; each job needs the current one (current_job()).
        return self._runner.run(coroutine, context=contextvars.copy_context())

    def _lease_lost(self, token: str) -> None:
        if token not in self._lost_leases:
            self._lost_leases.add(token)
            self.output.info(
                "the running job's lease could not be renewed; another worker may get it",
                worker=self.name,
            )

    def _idle(self, seconds: float, *, paused: bool = False) -> None:
        """Wait up to ``seconds``; wake early on a signal, or on a store change when working."""
        deadline = self.clock.monotonic() + seconds
        was_paused = self.paused
        while not self.should_quit and self.paused == was_paused:
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                return
            slice_ = min(remaining, FLAG_CHECK)
            try:
                changed = self.backend.wait(slice_)
            except StoreError:
                # The store is away (a server restarting): the next claim reports it, if it
                # lasts; waiting only needs the time to pass.
                self.clock.sleep(slice_)
                continue
            if changed and not paused:
                return

    def _stop_code(self, markers: dict[str, float], booted_at: float | None, got_job: bool,
                   started: float) -> int | None:
        found = self._why_stop(markers, booted_at, got_job, started)
        if found is None:
            return None
        self.stop_reason, code = found
        return code

    def _why_stop(self, markers: dict[str, float], booted_at: float | None, got_job: bool,
                  started: float) -> tuple[str, int] | None:
        """The first stop condition that holds, in Laravel's order; checked after every job."""
        opts = self.options
        if self.should_quit:
            return "a stop signal", exitcodes.OK
        if opts.memory > 0 and self._memory_probe() >= opts.memory:
            return f"memory exceeded {opts.memory:g} MB", exitcodes.MEMORY_EXCEEDED
        if markers.get(RESTART_MARKER) != booted_at:
            return "queue:restart", exitcodes.OK
        if opts.stop_when_empty and not got_job:
            return "the queue is empty", exitcodes.OK
        if opts.max_time > 0 and self.clock.monotonic() - started >= opts.max_time:
            return f"--max-time {opts.max_time:g}s reached", exitcodes.OK
        if opts.max_jobs > 0 and self.jobs_processed >= opts.max_jobs:
            return f"--max-jobs {opts.max_jobs} reached", exitcodes.OK
        if opts.once:
            return "--once", exitcodes.OK
        return None


ALL_QUEUES_PAUSED = PAUSE_PREFIX + ALL_QUEUES
