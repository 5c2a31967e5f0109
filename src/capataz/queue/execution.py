"""Running one reserved job and deciding its fate, as Laravel's ``Worker::process`` does.

The rules, in order:

1. A payload that is not valid JSON, names a job this worker did not load, or
   carries arguments that do not fit the function fails at once, with the reason.
2. Attempts are counted when a job is reserved. A job reserved more times than
   its ``tries`` (an earlier attempt crashed or timed out) fails before running;
   with ``retry_until`` the deadline decides instead of ``tries``.
3. The job runs under the watchdog (lease heartbeat and timeout).
4. Success completes it. ``release(delay)`` puts it back. ``fail(reason)`` fails it.
   An exception fails it when this was the last allowed attempt, when
   ``max_exceptions`` is reached or ``retry_until`` has passed; otherwise it is
   released after the backoff for this attempt.
5. A timeout counts as an exception; the job is failed by the same rules (or at
   once with ``fail_on_timeout``), otherwise released, and the worker exits.

Every settle call carries the lease token, so a worker that lost its lease
changes nothing.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any

from capataz.queue.backends.base import Backend, ReservedJob
from capataz.queue.clock import Clock
from capataz.queue.context import JobContext, reset_current, set_current
from capataz.queue.errors import (
    FailJob,
    JobNotRegisteredError,
    JobTimedOutError,
    MaxAttemptsExceededError,
    PayloadError,
    ReleaseJob,
)
from capataz.queue.output import Output
from capataz.queue.payload import Payload, decode
from capataz.queue.registry import JobDefinition, Registry, backoff_for
from capataz.queue.watchdog import Watchdog


@dataclass(frozen=True)
class Defaults:
    """The worker's flags: used for every limit a job does not set itself."""

    tries: int = 1
    backoff: tuple[float, ...] = (0.0,)
    timeout: float = 60.0


@dataclass(frozen=True)
class Limits:
    tries: int
    backoff: tuple[float, ...]
    timeout: float
    retry_deadline: float | None
    max_exceptions: int | None
    fail_on_timeout: bool


def resolve_limits(payload: Payload, definition: JobDefinition, defaults: Defaults,
                   created_at: float) -> Limits:
    """Payload (as dispatched) first, then the registered job, then the worker's flags.

    Run for every job, so each choice is written out rather than made by a helper.
    """
    options = definition.options
    retry_until = payload.retry_until
    if retry_until is None:
        retry_until = options.retry_until
    backoff = payload.backoff if payload.backoff is not None else options.backoff
    tries = payload.tries
    if tries is None:
        tries = options.tries if options.tries is not None else defaults.tries
    timeout = payload.timeout
    if timeout is None:
        timeout = options.timeout if options.timeout is not None else defaults.timeout
    max_exceptions = payload.max_exceptions
    if max_exceptions is None:
        max_exceptions = options.max_exceptions
    return Limits(
        tries=tries,
        backoff=tuple(backoff) if backoff is not None else defaults.backoff,
        timeout=timeout,
        retry_deadline=created_at + retry_until if retry_until else None,
        max_exceptions=max_exceptions or None,
        fail_on_timeout=payload.fail_on_timeout or options.fail_on_timeout,
    )


def exception_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)).rstrip()


class JobRun:
    """One reserved job from reservation to its settled state."""

    def __init__(
        self,
        reserved: ReservedJob,
        *,
        backend: Backend,
        registry: Registry,
        defaults: Defaults,
        clock: Clock,
        output: Output,
        run_coroutine: Callable[[Any], Any],
        complete: Callable[[str], bool] | None = None,
    ) -> None:
        self.reserved = reserved
        self._complete = complete or backend.complete
        self._backend = backend
        self._registry = registry
        self._defaults = defaults
        self._clock = clock
        self._output = output
        self._run_coroutine = run_coroutine
        self._settle_lock = threading.Lock()
        self._settled = False
        self.timed_out = False
        self.name = "?"
        self._started = clock.monotonic()

    # -- the steps ----------------------------------------------------------
    def execute(self, watchdog: Watchdog, on_timed_out: Callable[[], None]) -> str:
        """Run the job; return its final status (DONE, FAIL, RELEASED)."""
        job = self.reserved
        try:
            payload = decode(job.payload)
            self.name = payload.job
            definition = self._registry.get(payload.job)
            definition.check_arguments(payload.args, payload.kwargs)
        except (PayloadError, JobNotRegisteredError) as exc:
            self._output.job("RUNNING", self.name, job.uuid, attempt=job.attempts)
            return self._fail(exc, None, None, traceback_text=f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # whatever a hostile payload triggers, it must not stop us
            self._output.job("RUNNING", self.name, job.uuid, attempt=job.attempts)
            return self._fail(PayloadError(f"the payload cannot be read: {exc!r}"), None, None)
        limits = resolve_limits(payload, definition, self._defaults, job.created_at)
        self._output.job("RUNNING", self.name, job.uuid, attempt=job.attempts)
        too_many = self._exceeded_before_start(limits)
        if too_many is not None:
            return self._fail(too_many, definition, payload)

        def timed_out() -> None:
            if self._on_timeout(definition, payload, limits):
                on_timed_out()

        watchdog.arm(job.lease_token, limits.timeout, timed_out)
        context = set_current(
            JobContext(job.uuid, payload.job, job.queue, job.attempts, job.lease_token)
        )
        # The outcome is decided inside the try and carried out after the watchdog is
        # disarmed, so a slow failed hook can never be taken for a timed-out job.
        outcome: Callable[[], str]
        try:
            self._call(definition.func, payload.args, payload.kwargs)
            outcome = partial(self._settle, "DONE", partial(self._complete, job.lease_token))
        except ReleaseJob as released:
            release = partial(self._backend.release, job.lease_token, released.delay,
                              after_exception=False)
            outcome = partial(self._settle, "RELEASED", release)
        except FailJob as failure:
            reason = failure.reason
            error = reason if isinstance(reason, BaseException) else failure
            outcome = partial(self._fail, error, definition, payload)
        except (Exception, SystemExit) as exc:  # a job's sys.exit() is its failure, not ours
            outcome = partial(self._after_exception, exc, definition, payload, limits)
        finally:
            watchdog.disarm()
            reset_current(context)
        return outcome()

    def _call(self, func: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
        result = func(*args, **kwargs)
        # What asyncio.iscoroutine checks, without importing asyncio into every worker.
        if isinstance(result, Coroutine):
            return self._run_coroutine(result)
        return result

    def _exceeded_before_start(self, limits: Limits) -> MaxAttemptsExceededError | None:
        job = self.reserved
        if limits.retry_deadline is not None:
            if self._clock.time() > limits.retry_deadline:
                return MaxAttemptsExceededError(
                    f"{self.name} ({job.uuid}) is past its retry_until deadline"
                )
            return None
        if limits.tries > 0 and job.attempts > limits.tries:
            return MaxAttemptsExceededError(
                f"{self.name} ({job.uuid}) has been attempted too many times "
                f"({job.attempts} of {limits.tries}); an earlier attempt may have crashed "
                "or timed out"
            )
        return None

    def _out_of_retries(self, limits: Limits) -> bool:
        """Would another attempt be refused? (Laravel's markJobAsFailedIfWillExceed*.)"""
        job = self.reserved
        if limits.max_exceptions and job.exceptions + 1 >= limits.max_exceptions:
            return True
        if limits.retry_deadline is not None:
            return self._clock.time() > limits.retry_deadline
        return limits.tries > 0 and job.attempts >= limits.tries

    def _after_exception(self, error: BaseException, definition: JobDefinition,
                         payload: Payload, limits: Limits) -> str:
        if self._out_of_retries(limits):
            return self._fail(error, definition, payload)
        delay = backoff_for(limits.backoff, self.reserved.attempts)
        self._settle("FAIL", lambda: self._backend.release(
            self.reserved.lease_token, delay, after_exception=True), error=error)
        return "FAIL"

    def _on_timeout(self, definition: JobDefinition, payload: Payload, limits: Limits) -> bool:
        """Called from the watchdog thread while the job runs; False if it had just ended."""
        error = JobTimedOutError(
            f"{self.name} ({self.reserved.uuid}) ran longer than its timeout of "
            f"{limits.timeout:g}s and was stopped"
        )
        with self._settle_lock:
            if self._settled:
                return False
            self.timed_out = True
        if limits.fail_on_timeout or self._out_of_retries(limits):
            self._fail(error, definition, payload, force=True)
        else:
            delay = backoff_for(limits.backoff, self.reserved.attempts)
            self._settle("FAIL", lambda: self._backend.release(
                self.reserved.lease_token, delay, after_exception=True), error=error, force=True)
        return True

    # -- settling -----------------------------------------------------------
    def _settle(self, status: str, action: Callable[[], bool], *,
                error: BaseException | None = None, force: bool = False) -> str:
        with self._settle_lock:
            if self._settled or (self.timed_out and not force):
                return status
            self._settled = True
            held = action()
        duration = self._clock.monotonic() - self._started
        message = None if error is None else f"{type(error).__name__}: {error}"
        if not held:
            message = "the lease on this job was lost (it expired and another worker may run it)"
        self._output.job(status, self.name, self.reserved.uuid, attempt=self.reserved.attempts,
                         duration=duration, error=message)
        return status

    def _fail(self, error: BaseException, definition: JobDefinition | None,
              payload: Payload | None, *, traceback_text: str | None = None,
              force: bool = False) -> str:
        text = traceback_text or exception_text(error)
        self._settle("FAIL", lambda: self._backend.fail(self.reserved.lease_token, text),
                     error=error, force=force)
        if definition is not None and payload is not None and definition.failed_hook:
            try:
                self._call(definition.failed_hook, [error, *payload.args], payload.kwargs)
            except Exception as hook_error:  # a broken hook must not stop the worker
                self._output.info(
                    f"the failed hook of {self.name} raised "
                    f"{type(hook_error).__name__}: {hook_error}"
                )
        return "FAIL"
