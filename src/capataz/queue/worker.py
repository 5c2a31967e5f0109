"""The worker loop: Laravel's ``queue:work`` daemon, with leases instead of ``retry_after``.

Each turn: honour pause (SIGUSR2, ``queue:pause``), reserve the next job from
the queues in strict priority order, run it, then check whether to stop, in
Laravel's order: a stop signal, memory, a ``queue:restart`` newer than our
start, an empty queue (``--stop-when-empty``), ``--max-time``, ``--max-jobs``.
Signals only set flags, so the job that is running always finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import signal
import socket
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capataz import exitcodes
from capataz.queue.backends.base import (
    ALL_QUEUES,
    PAUSE_PREFIX,
    RESTART_MARKER,
    Backend,
    CompletesAndClaims,
    ReservedJob,
)
from capataz.queue.clock import Clock, SystemClock
from capataz.queue.errors import StoreError
from capataz.queue.execution import Defaults, JobRun
from capataz.queue.output import Output
from capataz.queue.registry import REGISTRY, Registry
from capataz.queue.watchdog import ThreadWatchdog, Watchdog

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


def resident_memory_mb() -> float:
    """This process's resident memory now (Laravel reads memory_get_usage(true))."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
        # A finished job whose removal rides on the next claim's transaction (see
        # CompletesAndClaims). It is flushed before anything that can take time,
        # because its lease is no longer renewed once the job has returned.
        self._finished: tuple[str, str] | None = None
        self._combined = isinstance(backend, CompletesAndClaims)
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
                    got_job = self._turn(markers, watchdog)
                    markers = self.backend.markers()
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

    def _turn(self, markers: dict[str, float], watchdog: Watchdog) -> bool:
        """One turn of the loop; False when no job could be reserved."""
        opts = self.options
        if self.should_quit:  # asked to stop before this turn began: take no new job
            return True
        if self.paused or (ALL_QUEUES_PAUSED in markers and not opts.force):
            self._flush_completion()
            self._idle(max(opts.sleep, 1.0), paused=True)
            return True
        reserved = self._claim()
        if reserved is None:
            if not (opts.once or opts.stop_when_empty):
                self._idle(opts.sleep)
            return False
        self._process(reserved, watchdog)
        if opts.rest > 0:
            self._flush_completion()
            self._idle(opts.rest, paused=True)
        return True

    def _claim(self) -> ReservedJob | None:
        opts = self.options
        if self._finished is None or not isinstance(self.backend, CompletesAndClaims):
            return self.backend.claim(opts.queues, self.name, opts.lease)
        uuid, token = self._finished
        done, reserved = self.backend.complete_and_claim(token, opts.queues, self.name, opts.lease)
        self._finished = None
        if not done:
            self._completion_lost(uuid)
        return reserved

    def _defer_completion(self, uuid: str, token: str) -> bool:
        if not self._combined:
            return self.backend.complete(token)
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
            defaults=Defaults(self.options.tries, self.options.backoff, self.options.timeout),
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
            changed = self.backend.wait(min(remaining, FLAG_CHECK))
            if changed and not paused:
                return

    def _stop_code(self, markers: dict[str, float], booted_at: float | None, got_job: bool,
                   started: float) -> int | None:
        opts = self.options
        checks: list[tuple[bool, str, int]] = [
            (self.should_quit, "a stop signal", exitcodes.OK),
            (
                opts.memory > 0 and self._memory_probe() >= opts.memory,
                f"memory exceeded {opts.memory:g} MB",
                exitcodes.MEMORY_EXCEEDED,
            ),
            (markers.get(RESTART_MARKER) != booted_at, "queue:restart", exitcodes.OK),
            (opts.stop_when_empty and not got_job, "the queue is empty", exitcodes.OK),
            (
                opts.max_time > 0 and self.clock.monotonic() - started >= opts.max_time,
                f"--max-time {opts.max_time:g}s reached",
                exitcodes.OK,
            ),
            (
                opts.max_jobs > 0 and self.jobs_processed >= opts.max_jobs,
                f"--max-jobs {opts.max_jobs} reached",
                exitcodes.OK,
            ),
            (opts.once, "--once", exitcodes.OK),
        ]
        for hit, reason, code in checks:
            if hit:
                self.stop_reason = reason
                return code
        return None


ALL_QUEUES_PAUSED = PAUSE_PREFIX + ALL_QUEUES
