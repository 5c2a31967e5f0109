"""The worker loop: priorities, pause, restart, stop conditions and hostile payloads."""

from __future__ import annotations

import json
import os
import signal
from collections import Counter

import pytest

from capataz import exitcodes
from capataz.queue import Worker, WorkerOptions, job
from capataz.queue.backends.base import PAUSE_PREFIX, RESTART_MARKER
from capataz.queue.dispatch import PendingDispatch
from capataz.queue.output import Output


def test_queues_are_worked_in_strict_priority_order(rig):
    """--queue=high,default: every high job runs before any default job."""
    order: list[str] = []

    @job(registry=rig.registry)
    def note(tag: str) -> None:
        order.append(tag)

    for tag in ("d1", "d2"):
        rig.dispatch(note, tag)
    for tag in ("h1", "h2"):
        PendingDispatch(note, queue="high", clock=rig.clock, connections=rig.fixed).dispatch(tag)
    rig.worker(queues=("high", "default")).run()
    assert order == ["h1", "h2", "d1", "d2"]


def test_hostile_payloads_fail_with_a_clear_error_and_the_worker_carries_on(rig):
    """Invalid JSON, wrong shapes, unknown jobs and unfitting arguments go to failed jobs."""
    done: list[int] = []

    @job(registry=rig.registry, name="billing.ok")
    def ok(n: int) -> None:
        done.append(n)

    @job(registry=rig.registry, name="billing.two")
    def two(a: int, b: int) -> None:
        done.append(a + b)

    cases = {
        "bad-json": "{not json",
        "not-object": "[1, 2]",
        "no-job": json.dumps({"uuid": "x"}),
        "no-uuid": json.dumps({"job": "billing.ok"}),
        "unknown": json.dumps({"uuid": "u", "job": "os.system", "args": ["rm -rf /"]}),
        "args-not-list": json.dumps({"uuid": "u", "job": "billing.ok", "args": "1"}),
        "kwargs-not-object": json.dumps({"uuid": "u", "job": "billing.ok", "kwargs": [1]}),
        "too-many-args": json.dumps({"uuid": "u", "job": "billing.two", "args": [1, 2, 3]}),
        "unknown-kwarg": json.dumps({"uuid": "u", "job": "billing.ok", "kwargs": {"n": 1, "z": 1}}),
        "bad-tries": json.dumps({"uuid": "u", "job": "billing.ok", "args": [1], "tries": "3"}),
        "bool-tries": json.dumps({"uuid": "u", "job": "billing.ok", "args": [1], "tries": True}),
        "bad-backoff": json.dumps({"uuid": "u", "job": "billing.ok", "args": [1], "backoff": []}),
        "nan-timeout": '{"uuid": "u", "job": "billing.ok", "args": [1], "timeout": NaN}',
        "bad-queue": json.dumps({"uuid": "u", "job": "billing.ok", "queue": 5}),
        "binary": "\udcff",
        "too-deep": '{"uuid": "u", "job": "billing.ok", "args": '
        + "[" * 100_000 + "]" * 100_000 + "}",
    }
    for uuid, payload in cases.items():
        rig.push_raw(payload, uuid=uuid)
        rig.dispatch(ok, 1)
    assert rig.worker().run() == exitcodes.OK
    assert done == [1] * len(cases)
    failed = {f.uuid: f.exception for f in rig.backend.failed_jobs()}
    assert set(failed) == set(cases)
    assert "not valid JSON" in failed["bad-json"]
    assert "must be a JSON object" in failed["not-object"]
    assert "no job name" in failed["no-job"]
    assert "no id" in failed["no-uuid"]
    assert "no job named 'os.system' is registered" in failed["unknown"]
    assert "-A/--app" in failed["unknown"]
    assert "'args' must be a JSON list" in failed["args-not-list"]
    assert "'kwargs' must be a JSON object" in failed["kwargs-not-object"]
    assert "do not fit billing.two(a, b): too many positional" in failed["too-many-args"]
    assert "unexpected keyword argument" in failed["unknown-kwarg"]
    assert "'tries' must be an integer" in failed["bad-tries"]
    assert "'tries' must be an integer" in failed["bool-tries"]
    assert "'backoff' must be a non-empty list" in failed["bad-backoff"]
    assert "'timeout' must be finite" in failed["nan-timeout"]
    assert "'queue' must be a string" in failed["bad-queue"]
    assert "nests JSON too deeply" in failed["too-deep"]
    for text in failed.values():
        assert "Traceback" not in text


def test_stop_when_empty_and_once(rig):
    """--once runs one job and exits; --stop-when-empty exits when nothing is left."""
    ran: list[int] = []

    @job(registry=rig.registry)
    def count(n: int) -> None:
        ran.append(n)

    for n in range(3):
        rig.dispatch(count, n)
    worker = rig.worker(once=True, stop_when_empty=False)
    assert worker.run() == exitcodes.OK
    assert ran == [0]
    assert worker.stop_reason == "--once"
    worker = rig.worker()
    worker.run()
    assert ran == [0, 1, 2]
    assert worker.stop_reason == "the queue is empty"


def test_once_on_an_empty_queue_exits_without_waiting(rig):
    """--once with nothing to do exits at once."""
    assert rig.worker(once=True, stop_when_empty=False).run() == exitcodes.OK
    assert rig.clock.slept == []


def test_max_time_stops_after_the_current_job(rig):
    """--max-time stops the worker once the elapsed time passes it, after a job."""

    @job(registry=rig.registry)
    def slow() -> None:
        rig.clock.advance(40)

    for _ in range(5):
        rig.dispatch(slow)
    worker = rig.worker(max_time=100, stop_when_empty=False)
    assert worker.run() == exitcodes.OK
    assert worker.jobs_processed == 3
    assert worker.stop_reason == "--max-time 100s reached"


def test_max_time_also_stops_an_idle_worker(rig):
    """An idle worker checks --max-time after each sleep."""
    worker = rig.worker(max_time=10, sleep=3, stop_when_empty=False)
    assert worker.run() == exitcodes.OK
    assert 10 <= rig.clock.monotonic() - 1000 < 14


def test_memory_limit_exits_with_code_12(rig):
    """--memory: reaching the limit after a job exits with Laravel's code 12."""

    @job(registry=rig.registry)
    def hog() -> None:
        rig.memory_mb = 200

    rig.dispatch(hog)
    rig.dispatch(hog)
    worker = rig.worker(memory=128)
    assert worker.run() == exitcodes.MEMORY_EXCEEDED == 12
    assert worker.jobs_processed == 1


def test_restart_marker_stops_workers_started_before_it(rig):
    """queue:restart after a worker started makes it exit after its current job."""

    @job(registry=rig.registry)
    def restart_now() -> None:
        rig.backend.set_marker(RESTART_MARKER, rig.clock.time())

    rig.dispatch(restart_now)
    rig.dispatch(restart_now)
    worker = rig.worker(stop_when_empty=False)
    assert worker.run() == exitcodes.OK
    assert worker.jobs_processed == 1
    assert worker.stop_reason == "queue:restart"


def test_stop_signal_lets_the_current_job_finish(rig):
    """A stop request during a job: the job completes, then the worker exits 0."""

    @job(registry=rig.registry)
    def long_job() -> None:
        worker.request_stop()
        rig.clock.advance(20)

    rig.dispatch(long_job)
    rig.dispatch(long_job)
    worker = rig.worker(stop_when_empty=False)
    assert worker.run() == exitcodes.OK
    assert worker.jobs_processed == 1
    assert "DONE" in rig.log
    assert worker.stop_reason == "a stop signal"


def test_paused_worker_takes_no_job_until_resumed(rig):
    """SIGUSR2 pauses (no job is taken); SIGCONT resumes."""
    ran: list[int] = []

    @job(registry=rig.registry)
    def work() -> None:
        ran.append(1)

    rig.dispatch(work)
    worker = rig.worker(stop_when_empty=False, max_time=5, sleep=1)
    worker.pause()
    worker.run()
    assert ran == []
    worker = rig.worker()
    worker.pause()
    worker.resume()
    worker.run()
    assert ran == [1]


def test_signal_handlers_set_the_flags(rig):
    """SIGTERM/SIGINT/SIGQUIT request a stop; SIGUSR2 pauses; SIGCONT resumes."""
    worker = rig.worker()
    before = signal.getsignal(signal.SIGTERM)
    restore = worker.install_signal_handlers()
    try:
        os.kill(os.getpid(), signal.SIGUSR2)
        assert worker.paused
        os.kill(os.getpid(), signal.SIGCONT)
        assert not worker.paused
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            worker.should_quit = False
            os.kill(os.getpid(), sig)
            assert worker.should_quit
    finally:
        restore()
    assert signal.getsignal(signal.SIGTERM) is before


def test_paused_queue_is_skipped_and_maintenance_needs_force(rig):
    """queue:pause skips a queue; pausing every queue stops workers unless --force."""
    ran: list[str] = []

    @job(registry=rig.registry)
    def note(tag: str) -> None:
        ran.append(tag)

    rig.dispatch(note, "a")
    rig.backend.set_marker(PAUSE_PREFIX + "default", 1)
    rig.worker().run()
    assert ran == []
    rig.backend.delete_marker(PAUSE_PREFIX + "default")
    rig.backend.set_marker(PAUSE_PREFIX + "*", 1)
    rig.worker(stop_when_empty=False, max_time=3).run()
    assert ran == []
    rig.worker(force=True).run()
    assert ran == ["a"]


def test_an_idle_worker_wakes_when_a_job_arrives(rig):
    """An idle worker does not wait the whole --sleep once the store changed."""
    ran: list[int] = []

    @job(registry=rig.registry)
    def work() -> None:
        ran.append(1)

    worker = rig.worker(sleep=3, stop_when_empty=False, max_jobs=1)
    original_wait = rig.backend.wait
    calls = 0

    def wait_then_dispatch(timeout: float) -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:
            rig.dispatch(work)
        return original_wait(timeout)

    rig.backend.wait = wait_then_dispatch  # type: ignore[method-assign]
    start = rig.clock.monotonic()
    assert worker.run() == exitcodes.OK
    assert ran == [1]
    assert rig.clock.monotonic() - start < 1


@pytest.mark.parametrize("lease", [2.0, 30.0])
def test_a_killed_workers_job_comes_back_after_its_lease(rig, lease):
    """A job whose worker stopped renewing is reserved again after the lease, attempt 2."""

    @job(registry=rig.registry)
    def anything() -> None:
        pass

    rig.dispatch(anything)
    first = rig.backend.claim(["default"], "dead-worker", lease)
    assert first is not None
    rig.clock.advance(lease - 0.1)
    assert rig.backend.claim(["default"], "other", lease) is None
    rig.clock.advance(0.1)
    again = rig.backend.claim(["default"], "other", lease)
    assert again is not None
    assert (again.uuid, again.attempts) == (first.uuid, 2)
    assert not rig.backend.complete(first.lease_token)
    assert rig.backend.complete(again.lease_token)


def test_a_store_failure_is_reported_and_the_worker_goes_on(rig):
    """A store error while reserving is logged; the worker waits a second and tries again."""
    from capataz.queue import StoreError

    ran: list[int] = []

    @job(registry=rig.registry)
    def work() -> None:
        ran.append(1)

    rig.dispatch(work)
    real_claim = rig.backend.claim
    failures = iter([True])

    def flaky_claim(*args, **kwargs):
        if next(failures, False):
            raise StoreError("database is locked")
        return real_claim(*args, **kwargs)

    rig.backend.claim = flaky_claim
    assert rig.worker().run() == exitcodes.OK
    assert ran == [1]
    assert "the queue store failed: database is locked; trying again in 1s" in rig.log


def test_a_store_that_also_fails_while_the_worker_waits_does_not_stop_it(rig):
    """The store fails a claim, and is still failing while the worker waits its second
    before the next try (a server restarting): the worker waits on and then works."""
    from capataz.queue import StoreError

    ran: list[int] = []

    @job(registry=rig.registry)
    def work() -> None:
        ran.append(1)

    rig.dispatch(work)
    real_claim, real_wait = rig.backend.claim, rig.backend.wait
    claims, waits = iter([True]), iter([True, True])

    def flaky_claim(*args, **kwargs):
        if next(claims, False):
            raise StoreError("the server is restarting")
        return real_claim(*args, **kwargs)

    def flaky_wait(timeout: float) -> bool:
        if next(waits, False):
            raise StoreError("the server is restarting")
        return real_wait(timeout)

    rig.backend.claim, rig.backend.wait = flaky_claim, flaky_wait
    assert rig.worker().run() == exitcodes.OK
    assert ran == [1]
    assert rig.log.count("the queue store failed") == 1


def test_rest_after_each_job_saves_the_completion_first(rig):
    """--rest pauses after each job; the finished job is removed before the pause."""
    seen: list[int] = []

    @job(registry=rig.registry)
    def work() -> None:
        seen.append(len(rig.backend.snapshot()))

    rig.dispatch(work)
    rig.dispatch(work)
    rig.worker(rest=5).run()
    assert seen == [2, 1]
    assert 10 <= rig.clock.monotonic() - 1000 < 11


def test_a_lease_lost_while_running_is_reported_once(rig):
    """The watchdog's lease-lost callback logs one line per job, however often it fires."""
    worker = rig.worker()
    worker._lease_lost("t1")
    worker._lease_lost("t1")
    assert rig.log.count("lease could not be renewed") == 1


def test_an_unexpected_error_reading_a_payload_fails_that_job_only(rig, monkeypatch):
    """Whatever goes wrong while reading a payload fails that job; the worker carries on."""
    from capataz.queue import execution

    def broken_decode(text: str) -> None:
        raise KeyError("k")

    @job(registry=rig.registry, name="billing.ok")
    def ok() -> None:
        pass

    rig.push_raw('{"uuid": "u", "job": "billing.ok"}', uuid="u")
    monkeypatch.setattr(execution, "decode", broken_decode)
    assert rig.worker().run() == exitcodes.OK
    assert "the payload cannot be read: KeyError('k')" in rig.backend.failed_jobs()[0].exception


def test_a_worker_told_to_stop_before_it_starts_takes_no_job(rig):
    """A stop signal received during start-up (while the app loads) means: take no job."""

    @job(registry=rig.registry)
    def work() -> None:
        raise AssertionError("must not run")

    rig.dispatch(work)
    worker = rig.worker(stop_when_empty=False)
    worker.request_stop()
    assert worker.run() == exitcodes.OK
    assert worker.jobs_processed == 0
    assert rig.backend.stats()[0].waiting == 1


class _Counting:
    """A store that counts the calls made to it (and can hide its fast paths)."""

    def __init__(self, inner, hide: tuple[str, ...] = ()) -> None:
        self._inner = inner
        self._hide = hide
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str):
        if name in self._hide:
            raise AttributeError(name)
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        def counted(*args, **kwargs):
            self.calls[name] += 1
            return attribute(*args, **kwargs)

        return counted


def _worker_on(rig, backend, **options) -> Worker:
    options.setdefault("stop_when_empty", True)
    return Worker(backend, WorkerOptions(**options), registry=rig.registry, clock=rig.clock,
                  output=Output(rig.clock, stream=rig.stream), watchdog=rig.watchdog,
                  memory_probe=lambda: rig.memory_mb, hard_exit=rig.exits.append)


def test_a_busy_worker_meets_the_store_once_per_job(rig):
    """Completing a job, checking for a restart or pause and reserving the next job are
    one claim_next: the markers are read once at start, not after every job."""

    @job(registry=rig.registry)
    def work() -> None:
        pass

    for _ in range(5):
        rig.dispatch(work)
    store = _Counting(rig.backend)
    assert _worker_on(rig, store).run() == exitcodes.OK
    assert store.calls == {"markers": 1, "claim_next": 6}
    assert rig.backend.stats() == []


def test_a_restart_between_two_jobs_is_seen_before_the_next_claim(rig):
    """queue:restart from another process after a job ended and before the worker asked
    for the next: the worker, whose markers are those of its start, takes no job and
    exits; the finished job is completed all the same."""
    ran: list[int] = []

    @job(registry=rig.registry)
    def work(n: int) -> None:
        ran.append(n)

    rig.dispatch(work, 1)
    rig.dispatch(work, 2)
    store = _Counting(rig.backend)
    real_memory = rig.memory_mb

    def restart_after_the_first_job() -> float:  # runs between the job and the next claim
        if not rig.backend.markers():
            rig.backend.set_marker(RESTART_MARKER, rig.clock.time())
        return real_memory

    worker = _worker_on(rig, store, stop_when_empty=False)
    worker._memory_probe = restart_after_the_first_job
    assert worker.run() == exitcodes.OK
    assert (ran, worker.stop_reason) == ([1], "queue:restart")
    [left] = rig.backend.snapshot()
    assert (json.loads(left.payload)["args"], left.attempts) == ([2], 0)


def test_a_pause_during_a_job_stops_claims_until_resumed(rig):
    """queue:pause of the worker's queue while a job runs: that job is completed, no other
    is taken from the queue; after queue:resume the worker goes on."""
    ran: list[int] = []

    @job(registry=rig.registry)
    def work(n: int) -> None:
        ran.append(n)
        if n == 1:
            rig.backend.set_marker(PAUSE_PREFIX + "default", rig.clock.time())

    for n in (1, 2):
        rig.dispatch(work, n)
    worker = rig.worker(stop_when_empty=False, max_time=5, sleep=1)
    assert worker.run() == exitcodes.OK
    assert ran == [1]
    assert [s.waiting for s in rig.backend.stats()] == [1]
    rig.backend.delete_marker(PAUSE_PREFIX + "default")
    assert rig.worker().run() == exitcodes.OK
    assert ran == [1, 2]


def test_maintenance_mode_during_a_job_idles_the_worker(rig):
    """queue:pause --all while a job runs: the job is completed, then the worker idles
    (no claim) until the store is resumed, and then takes the next job."""
    ran: list[int] = []

    @job(registry=rig.registry)
    def work(n: int) -> None:
        ran.append(n)
        if n == 1:
            rig.backend.set_marker(PAUSE_PREFIX + "*", rig.clock.time())

    for n in (1, 2):
        rig.dispatch(work, n)
    original_wait = rig.backend.wait
    waits = 0

    def resume_on_the_second_wait(timeout: float) -> bool:
        nonlocal waits
        waits += 1
        if waits == 2:
            assert ran == [1]
            rig.backend.delete_marker(PAUSE_PREFIX + "*")
        return original_wait(timeout)

    rig.backend.wait = resume_on_the_second_wait  # type: ignore[method-assign]
    assert rig.worker().run() == exitcodes.OK
    assert ran == [1, 2]
    assert rig.backend.stats() == []


@pytest.mark.parametrize("hide", [("claim_next",), ("claim_next", "complete_and_claim")])
def test_a_store_without_claim_next_gets_the_same_worker(rig, hide):
    """A store with only the basic methods (or complete_and_claim too): the worker reads
    the markers before each claim instead, and obeys a restart the same way."""
    ran: list[int] = []

    @job(registry=rig.registry)
    def work(n: int) -> None:
        ran.append(n)
        if n == 2:
            rig.backend.set_marker(RESTART_MARKER, rig.clock.time())

    for n in (1, 2, 3):
        rig.dispatch(work, n)
    store = _Counting(rig.backend, hide)
    worker = _worker_on(rig, store, stop_when_empty=False)
    assert worker.run() == exitcodes.OK
    assert (ran, worker.stop_reason) == ([1, 2], "queue:restart")
    assert store.calls["claim_next"] == 0
    assert store.calls["complete_and_claim"] == (0 if "complete_and_claim" in hide else 1)
    assert [s.waiting for s in rig.backend.stats()] == [1]
