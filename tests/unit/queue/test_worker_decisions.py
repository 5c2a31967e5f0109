"""The worker's decisions (attempts, backoff, tries, retry_until, max_exceptions, release,
timeout, failed hook), on the in-memory store and a fake clock."""

from __future__ import annotations

from typing import Any

from capataz import exitcodes
from capataz.queue import current_job, fail, job, release
from capataz.queue.worker import TIMED_OUT


def _failed_text(rig: Any) -> str:
    return "\n".join(f.exception for f in rig.backend.failed_jobs())


def test_attempts_are_counted_at_reservation(rig):
    """Each reservation counts one attempt, and the job sees its attempt number."""
    seen: list[int] = []

    @job(registry=rig.registry, tries=3)
    def flaky() -> None:
        seen.append(current_job().attempt)
        release(0)

    rig.dispatch(flaky)
    rig.worker().run()
    assert seen == [1, 2, 3]
    # The fourth reservation exceeds tries=3: failed before running.
    assert "attempted too many times (4 of 3)" in _failed_text(rig)


def test_backoff_list_by_attempt_with_the_last_repeating(rig):
    """--backoff=10,60: retry 1 waits 10 s, retries 2 and 3 wait 60 s each."""
    runs: list[float] = []

    @job(registry=rig.registry, tries=4)
    def always_raises() -> None:
        runs.append(rig.clock.time())
        raise RuntimeError("nope")

    rig.dispatch(always_raises)
    start = rig.clock.time()
    worker_options = {"backoff": (10.0, 60.0), "sleep": 1.0}
    for _ in range(4):
        rig.worker(**worker_options).run()
        stats = rig.backend.stats()[0]
        if stats.delayed:
            rig.clock.advance(9.5)
            rig.worker(**worker_options).run()  # not yet available: nothing runs
            rig.clock.advance(60)
    gaps = [round(b - a) for a, b in zip([start, *runs], runs, strict=False)][1:]
    assert len(runs) == 4
    assert gaps[0] >= 10
    assert all(g >= 60 for g in gaps[1:])
    assert rig.backend.failed_jobs()[0].exception.endswith("RuntimeError: nope")


def test_backoff_is_exact_on_the_store(rig):
    """After a failed attempt n, the job becomes available exactly backoff[n-1] seconds later."""

    @job(registry=rig.registry, tries=5, backoff=[5, 30])
    def raises() -> None:
        raise ValueError("x")

    rig.dispatch(raises)
    for expected in (5, 30, 30):
        rig.worker().run()
        rig.clock.advance(expected - 0.01)
        assert rig.backend.claim(["default"], "probe", 30) is None
        rig.clock.advance(0.01)
        assert rig.backend.stats()[0].waiting == 1


def test_tries_zero_means_unlimited(rig):
    """--tries=0 retries a failing job forever."""
    count = 0

    @job(registry=rig.registry)
    def stubborn() -> None:
        nonlocal count
        count += 1
        raise RuntimeError("again")

    rig.dispatch(stubborn)
    worker = rig.worker(tries=0, max_jobs=50, stop_when_empty=False)
    assert worker.run() == exitcodes.OK
    assert count == 50
    assert rig.backend.failed_jobs() == []
    assert worker.stop_reason == "--max-jobs 50 reached"


def test_job_options_win_over_worker_flags(rig):
    """A job's own tries beats --tries; its timeout beats --timeout."""
    count = 0

    @job(registry=rig.registry, tries=3, timeout=7)
    def three_times() -> None:
        nonlocal count
        count += 1
        raise RuntimeError("x")

    rig.dispatch(three_times)
    rig.worker(tries=1, timeout=60).run()
    assert count == 3
    assert rig.watchdog.timeouts == [7, 7, 7]


def test_retry_until_beats_tries(rig):
    """With retry_until a job is retried past its tries until the deadline, then failed."""
    count = 0

    @job(registry=rig.registry, tries=1, retry_until=100, backoff=30)
    def until() -> None:
        nonlocal count
        count += 1
        raise RuntimeError("x")

    rig.dispatch(until)
    for _ in range(6):
        rig.worker().run()
        rig.clock.advance(30)
    # Runs at t=0, 30, 60, 90; at t=120 the deadline (100) has passed.
    assert count == 4
    assert len(rig.backend.failed_jobs()) == 1


def test_retry_until_expired_before_start_fails_without_running(rig):
    """A job reserved after its retry_until deadline fails without running."""
    ran = []

    @job(registry=rig.registry, retry_until=10)
    def late() -> None:
        ran.append(1)

    rig.dispatch(late)
    rig.clock.advance(11)
    rig.worker().run()
    assert ran == []
    assert "past its retry_until deadline" in _failed_text(rig)


def test_max_exceptions_fails_before_tries_run_out(rig):
    """max_exceptions=2 fails the job at its 2nd exception; releases do not count."""
    attempts: list[int] = []

    @job(registry=rig.registry, tries=10, max_exceptions=2)
    def mixed() -> None:
        attempt = current_job().attempt
        attempts.append(attempt)
        if attempt in (1, 3):
            release(0)
        raise RuntimeError(f"attempt {attempt}")

    rig.dispatch(mixed)
    rig.worker().run()
    assert attempts == [1, 2, 3, 4]
    assert "attempt 4" in _failed_text(rig)


def test_release_with_delay_and_fail_on_purpose(rig):
    """release(30) makes the job available 30 s later; fail() fails it at once."""
    calls: list[int] = []

    @job(registry=rig.registry, tries=5)
    def decides() -> None:
        calls.append(current_job().attempt)
        if len(calls) == 1:
            release(30)
        fail("the receipt was rejected")

    rig.dispatch(decides)
    rig.worker().run()
    assert calls == [1]
    assert rig.backend.stats()[0].delayed == 1
    rig.clock.advance(30)
    rig.worker().run()
    assert calls == [1, 2]
    assert "the receipt was rejected" in _failed_text(rig)
    assert "RELEASED" in rig.log


def test_fail_with_an_exception_keeps_its_traceback(rig):
    """fail(exc) records that exception."""

    @job(registry=rig.registry, tries=5)
    def wraps() -> None:
        try:
            {}["missing"]
        except KeyError as exc:
            fail(exc)

    rig.dispatch(wraps)
    rig.worker().run()
    assert "KeyError: 'missing'" in _failed_text(rig)


def test_timeout_releases_with_backoff_then_exits(rig):
    """A timed-out job with attempts left is released after its backoff; the worker exits."""

    @job(registry=rig.registry, tries=3, backoff=15)
    def hangs() -> None:
        rig.watchdog.fire()  # the watchdog thread would call this at the deadline

    rig.dispatch(hangs)
    rig.worker(timeout=5).run()
    assert rig.exits == [TIMED_OUT]
    assert rig.backend.failed_jobs() == []
    assert rig.backend.stats()[0].delayed == 1
    assert "JobTimedOutError" in rig.log
    snapshot = rig.backend.snapshot()[0]
    assert (snapshot.attempts, snapshot.exceptions) == (1, 1)


def test_timeout_on_the_last_attempt_fails_the_job(rig):
    """A timed-out job on its last attempt is failed; the completion that follows is ignored."""
    hooks: list[str] = []

    @job(registry=rig.registry, tries=1)
    def hangs() -> None:
        rig.watchdog.fire()

    @hangs.failed
    def on_failure(error: BaseException) -> None:
        hooks.append(type(error).__name__)

    rig.dispatch(hangs)
    rig.worker().run()
    assert rig.exits == [TIMED_OUT]
    assert "ran longer than its timeout of 60s" in _failed_text(rig)
    assert hooks == ["JobTimedOutError"]
    assert rig.log.count("DONE") == 0


def test_fail_on_timeout_fails_at_once(rig):
    """fail_on_timeout=True fails even when attempts remain."""

    @job(registry=rig.registry, tries=5, fail_on_timeout=True)
    def hangs() -> None:
        rig.watchdog.fire()

    rig.dispatch(hangs)
    rig.worker().run()
    assert len(rig.backend.failed_jobs()) == 1


def test_timeout_after_the_job_settled_changes_nothing(rig):
    """A watchdog firing after the job completed does nothing."""
    fired: list[Any] = []

    @job(registry=rig.registry)
    def quick() -> None:
        assert rig.watchdog.armed is not None
        fired.append(rig.watchdog.armed[2])

    rig.dispatch(quick)
    rig.worker().run()
    fired[0]()
    assert rig.backend.failed_jobs() == []
    assert rig.log.count("DONE") == 1
    assert rig.exits == []


def test_the_failed_hook_runs_after_the_watchdog_is_disarmed(rig):
    """A slow failed hook cannot be mistaken for a timed-out job: the timer is off."""
    armed_during_hook: list[object] = []

    @job(registry=rig.registry)
    def bad() -> None:
        raise RuntimeError("x")

    @bad.failed
    def slow_hook(error: BaseException) -> None:
        armed_during_hook.append(rig.watchdog.armed)

    rig.dispatch(bad)
    rig.worker().run()
    assert armed_during_hook == [None]


def test_failed_hook_runs_once_after_the_last_attempt(rig):
    """The failed hook gets the error and the job's arguments, once; async hooks work too."""
    hooks: list[tuple[str, int, str]] = []

    @job(registry=rig.registry, tries=2)
    def send(invoice: int, *, to: str) -> None:
        raise ConnectionError(f"no route to {to}")

    @send.failed
    async def on_failure(error: BaseException, invoice: int, *, to: str) -> None:
        hooks.append((str(error), invoice, to))

    rig.dispatch(send, 7, to="sunat")
    rig.worker().run()
    assert hooks == [("no route to sunat", 7, "sunat")]


def test_a_broken_failed_hook_does_not_stop_the_worker(rig):
    """A hook that raises is reported; the worker goes on to the next job."""
    done: list[int] = []

    @job(registry=rig.registry)
    def bad() -> None:
        raise RuntimeError("x")

    @bad.failed
    def on_failure(error: BaseException) -> None:
        raise ValueError("hook bug")

    @job(registry=rig.registry)
    def good() -> None:
        done.append(1)

    rig.dispatch(bad)
    rig.dispatch(good)
    rig.worker().run()
    assert done == [1]
    assert "the failed hook of" in rig.log
    assert "hook bug" in rig.log


def test_async_jobs_run_on_one_loop(rig):
    """async def jobs run; the worker reuses one event loop for all of them."""
    import asyncio

    loops: list[int] = []

    @job(registry=rig.registry)
    async def fetch(n: int) -> int:
        await asyncio.sleep(0)
        loops.append(id(asyncio.get_running_loop()))
        return n

    rig.dispatch(fetch, 1)
    rig.dispatch(fetch, 2)
    rig.worker().run()
    assert len(loops) == 2
    assert len(set(loops)) == 1


def test_a_job_calling_sys_exit_fails_like_any_exception(rig):
    """sys.exit() inside a job is the job's failure, not the worker's exit."""
    import sys

    @job(registry=rig.registry)
    def quits() -> None:
        sys.exit(3)

    rig.dispatch(quits)
    assert rig.worker().run() == exitcodes.OK
    assert "SystemExit: 3" in _failed_text(rig)


def test_a_lost_lease_is_reported_not_settled(rig):
    """When the job's lease was taken by another worker, completing it changes nothing."""

    @job(registry=rig.registry)
    def slow() -> None:
        rig.clock.advance(31)  # the lease (30 s) expires; another worker reclaims it
        other = rig.backend.claim(["default"], "other", 30)
        assert other is not None

    rig.dispatch(slow)
    rig.worker(lease=30).run()
    assert "the lease on this job was lost" in rig.log
    assert rig.backend.stats()[0].running == 1


def test_release_and_fail_pass_through_a_jobs_own_except_exception(rig):
    """A job's broad `except Exception` does not swallow release() or fail(), sync or async."""
    attempts: list[int] = []

    @job(registry=rig.registry, tries=5)
    async def careless() -> None:
        attempts.append(current_job().attempt)
        try:
            if len(attempts) == 1:
                release(0)
            fail("given up")
        except Exception:
            attempts.append(-1)

    rig.dispatch(careless)
    rig.worker().run()
    assert attempts == [1, 2]
    assert "given up" in _failed_text(rig)


def test_the_public_api_is_pinned():
    """capataz.queue exports exactly these names."""
    import capataz.queue

    assert sorted(capataz.queue.__all__) == sorted([
        "CONNECTIONS", "REGISTRY", "Backend", "Clock", "DispatchError", "FailJob", "FakeClock",
        "JobContext", "JobDefinition", "JobNotRegisteredError", "JobTimedOutError",
        "MaxAttemptsExceededError", "MemoryBackend", "PayloadError", "PendingDispatch",
        "QueueError", "QueueURLError", "Registry", "ReleaseJob", "StoreError",
        "StoreUnavailableError", "SystemClock",
        "Worker", "WorkerOptions", "current_job", "fail", "job", "open_backend", "release",
        "use",
    ])
    for name in capataz.queue.__all__:
        assert hasattr(capataz.queue, name)
