"""The Backend contract: every store (memory, SQLite, PostgreSQL, Redis), the same assertions.

Time is a fake clock shared by the test and the store, so leases, delays and
unique-key expiry are exercised without sleeping. A second handle from
``store.open()`` stands for another worker process on the same store.
"""

from __future__ import annotations

import threading
import time

import pytest

from capataz.queue.backends.base import (
    ClaimsNext,
    NewJob,
    NextJob,
    QueueStats,
    claim_next_for,
)

NOW = 1_800_000_000.0


def job(uuid: str, queue: str = "default", *, delay: float = 0.0, key: str | None = None,
        until: float | None = None, payload: str | None = None, at: float = NOW) -> NewJob:
    return NewJob(uuid, queue, payload or f'{{"uuid": "{uuid}"}}', at + delay, key, until)


def drain(backend, queues=("default",)) -> list[str]:
    taken = []
    while (reserved := backend.claim(queues, "w", 30)) is not None:
        taken.append(reserved.uuid)
        assert backend.complete(reserved.lease_token)
    return taken


# -- push and claim -------------------------------------------------------------------
def test_claim_returns_the_stored_job_with_one_attempt_and_a_lease(store, backend):
    """A pushed job comes back from claim with its payload, queue, creation time,
    attempts counted at reservation (1) and a lease token."""
    assert backend.push([job("a", payload='{"x": 1}')]) == ["a"]
    reserved = backend.claim(["default"], "worker-1", 30)
    assert reserved is not None
    assert (reserved.uuid, reserved.queue, reserved.payload) == ("a", "default", '{"x": 1}')
    assert (reserved.attempts, reserved.exceptions) == (1, 0)
    assert reserved.created_at == pytest.approx(store.clock.time())
    assert reserved.lease_token
    assert backend.claim(["default"], "worker-2", 30) is None


def test_jobs_come_out_oldest_first(backend):
    """Within a queue, jobs are claimed in the order they became available, then pushed."""
    backend.push([job("j1"), job("j2"), job("j3")])
    backend.push([job("early", delay=-5)])
    assert drain(backend) == ["early", "j1", "j2", "j3"]


def test_queues_are_tried_in_strict_priority_order(backend):
    """claim(["high", "low"]) empties high before touching low, however old low's jobs are."""
    backend.push([job("low-1", "low", delay=-60), job("low-2", "low", delay=-60)])
    backend.push([job("high-1", "high"), job("high-2", "high")])
    assert drain(backend, ("high", "low")) == ["high-1", "high-2", "low-1", "low-2"]
    backend.push([job("other", "other")])
    assert backend.claim(["default"], "w", 30) is None


def test_pushing_the_same_uuid_twice_stores_it_once(backend):
    """A dispatch retried after an error cannot create a second job."""
    assert backend.push([job("same")]) == ["same"]
    assert backend.push([job("same")]) == ["same"]
    assert drain(backend) == ["same"]
    assert backend.push([]) == []


def test_concurrent_claimers_never_share_a_job(store):
    """Four handles claiming at once from threads: each job is taken exactly once."""
    first = store.open()
    first.push([job(f"c{i:03d}") for i in range(120)])
    handles = [first] + [store.open() for _ in range(3)]
    taken: list[list[str]] = [[] for _ in handles]

    def work(index: int) -> None:
        taken[index] = drain(handles[index])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(handles))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = [uuid for share in taken for uuid in share]
    assert sorted(everything) == [f"c{i:03d}" for i in range(120)]


# -- delays and attempts ----------------------------------------------------------------
def test_a_delayed_job_waits_until_its_time(store, backend):
    """A job pushed with a delay is not claimable before its time and is after it."""
    backend.push([job("later", delay=10)])
    assert backend.claim(["default"], "w", 30) is None
    store.clock.advance(9.5)
    assert backend.claim(["default"], "w", 30) is None
    store.clock.advance(1)
    reserved = backend.claim(["default"], "w", 30)
    assert reserved is not None
    assert reserved.uuid == "later"


def test_release_puts_the_job_back_after_its_delay_and_counts_attempts(store, backend):
    """release(delay) makes the job available after the delay; each claim counts an attempt;
    after_exception counts an exception too."""
    backend.push([job("r")])
    first = backend.claim(["default"], "w", 30)
    assert backend.release(first.lease_token, 5, after_exception=True)
    assert backend.claim(["default"], "w", 30) is None
    store.clock.advance(5)
    second = backend.claim(["default"], "w", 30)
    assert (second.uuid, second.attempts, second.exceptions) == ("r", 2, 1)
    assert backend.release(second.lease_token, 0, after_exception=False)
    third = backend.claim(["default"], "w", 30)
    assert (third.attempts, third.exceptions) == (3, 1)
    assert not backend.release(second.lease_token, 0, after_exception=False)


# -- leases -----------------------------------------------------------------------------
def test_an_expired_lease_frees_the_job_and_the_old_token_is_refused(store):
    """A worker that stopped renewing loses its job after the lease; the job is claimed again
    (one more attempt) and only the new holder can complete, release, fail or renew it."""
    dead, alive = store.open(), store.open()
    dead.push([job("l")])
    old = dead.claim(["default"], "dead-worker", 10)
    store.clock.advance(9)
    assert alive.claim(["default"], "w", 10) is None
    store.clock.advance(2)
    new = alive.claim(["default"], "alive-worker", 10)
    assert (new.uuid, new.attempts) == ("l", 2)
    assert new.lease_token != old.lease_token
    assert not dead.renew(old.lease_token, 10)
    assert not dead.complete(old.lease_token)
    assert not dead.release(old.lease_token, 0, after_exception=False)
    assert not dead.fail(old.lease_token, "too late")
    assert alive.complete(new.lease_token)
    assert alive.failed_jobs() == []


@pytest.mark.parametrize("through", ["claim", "claim_next"])
def test_a_job_whose_lease_expired_comes_before_a_younger_one(store, through):
    """An expired job goes back to its place in its queue: the next claim takes it before
    a job pushed later, and frees the expired jobs of other queues for their turn."""
    dead, alive = store.open(), store.open()
    dead.push([job("old"), job("other", "low")])
    assert dead.claim(["default"], "dead-worker", 3).uuid == "old"
    assert dead.claim(["low"], "dead-worker", 3).uuid == "other"
    store.clock.advance(4)
    alive.push([job("young", at=store.clock.time())])
    if through == "claim":
        taken = alive.claim(["default", "low"], "w", 30)
    else:
        taken = claim_next_for(alive)(None, ["default", "low"], "w", 30, alive.markers()).job
    assert (taken.uuid, taken.attempts) == ("old", 2)
    counts = {(s.queue, s.waiting, s.running) for s in alive.stats()}
    assert counts == {("default", 1, 1), ("low", 1, 0)}
    assert alive.claim(["low"], "w", 30).uuid == "other"
    assert alive.claim(["default"], "w", 30).uuid == "young"


def test_renewing_keeps_the_lease(store):
    """A job whose lease is renewed is never handed to a second worker."""
    holder, other = store.open(), store.open()
    holder.push([job("long")])
    reserved = holder.claim(["default"], "w", 10)
    for _ in range(5):
        store.clock.advance(8)
        assert holder.renew(reserved.lease_token, 10)
        assert other.claim(["default"], "w2", 10) is None
    assert holder.complete(reserved.lease_token)
    assert not holder.renew(reserved.lease_token, 10)
    assert not holder.complete("no-such-token")


def test_a_token_that_holds_nothing_settles_nothing(backend):
    """complete, release, fail and renew with a token no lease was given under change
    nothing, and the job stays with its holder."""
    backend.push([job("a")])
    held = backend.claim(["default"], "w", 30)
    assert not backend.complete("forged")
    assert not backend.release("forged", 0, after_exception=False)
    assert not backend.fail("forged", "x")
    assert not backend.renew("forged", 5)
    assert backend.failed_jobs() == []
    assert [(s.waiting, s.running) for s in backend.stats()] == [(0, 1)]
    assert backend.complete(held.lease_token)


def test_after_an_empty_claim_expired_leases_and_due_jobs_are_still_found(store):
    """A claim that found nothing does not hide a lease that expires or a job that comes
    due later (a store may remember that it found nothing; it must not trust that)."""
    worker = store.open()
    worker.push([job("held", "mail"), job("later", delay=10)])
    assert worker.claim(["mail"], "w1", 5).uuid == "held"
    assert worker.claim(["mail", "default"], "w2", 5) is None
    store.clock.advance(5)
    again = worker.claim(["mail", "default"], "w2", 5)
    assert (again.uuid, again.attempts) == ("held", 2)
    assert worker.claim(["default"], "w2", 5) is None
    store.clock.advance(5)
    assert worker.claim(["default"], "w2", 5).uuid == "later"


# -- failed jobs ------------------------------------------------------------------------
def test_failed_jobs_are_listed_found_retried_and_forgotten(store):
    """fail() moves the job to the failed jobs with its exception; it is found by id or uuid,
    listed in pages, retried with fresh attempts, and forgotten."""
    backend = store.open()
    backend.push([job("f1", "mail", payload='{"p": 1}'), job("f2"), job("f3")])
    for queues in (["mail"], ["default"], ["default"]):
        reserved = backend.claim(queues, "w", 30)
        assert backend.fail(reserved.lease_token, f"Traceback...\nError: {reserved.uuid}")
    failed = backend.failed_jobs()
    assert [f.uuid for f in failed] == ["f1", "f2", "f3"]
    first = failed[0]
    assert (first.connection, first.queue, first.payload) == ("default", "mail", '{"p": 1}')
    assert first.exception == "Traceback...\nError: f1"
    assert first.failed_at == pytest.approx(store.clock.time())
    assert backend.get_failed(str(first.id)) == first
    assert backend.get_failed("f1") == first
    assert backend.get_failed("nope") is None
    assert [f.uuid for f in backend.failed_jobs(after_id=first.id, limit=1)] == ["f2"]
    assert backend.retry_failed([first.id, 999_999]) == ["f1"]
    again = backend.claim(["mail"], "w", 30)
    assert (again.uuid, again.attempts, again.exceptions) == ("f1", 1, 0)
    assert [f.uuid for f in backend.failed_jobs()] == ["f2", "f3"]
    assert backend.forget_failed([failed[1].id, 999_999]) == 1
    assert [f.uuid for f in backend.failed_jobs()] == ["f3"]


def test_a_job_failing_again_replaces_its_old_failed_entry(backend):
    """A retried job that fails again has one failed entry, the latest."""
    backend.push([job("twice")])
    backend.fail(backend.claim(["default"], "w", 30).lease_token, "first")
    backend.retry_failed([backend.failed_jobs()[0].id])
    backend.fail(backend.claim(["default"], "w", 30).lease_token, "second")
    failed = backend.failed_jobs()
    assert [(f.uuid, f.exception) for f in failed] == [("twice", "second")]


def test_flush_deletes_all_failed_jobs_or_only_the_old_ones(store, backend):
    """flush_failed() empties the failed jobs; with a time, only those that failed before it."""
    backend.push([job("old"), job("new")])
    backend.fail(backend.claim(["default"], "w", 30).lease_token, "x")
    store.clock.advance(3600)
    backend.fail(backend.claim(["default"], "w", 30).lease_token, "x")
    assert backend.flush_failed(store.clock.time() - 60) == 1
    assert [f.uuid for f in backend.failed_jobs()] == ["new"]
    assert backend.flush_failed() == 1
    assert backend.failed_jobs() == []


# -- unique keys ------------------------------------------------------------------------
def test_a_unique_key_blocks_duplicates_while_its_job_waits_or_runs(backend):
    """A second job with the same key returns the first job's uuid and stores nothing, while
    the first waits or runs; once it finished, the key is free again."""
    assert backend.push([job("u1", key="k")]) == ["u1"]
    assert backend.push([job("u2", key="k"), job("other", key="k2")]) == ["u1", "other"]
    reserved = backend.claim(["default"], "w", 30)
    assert reserved.uuid == "u1"
    assert backend.push([job("u3", key="k")]) == ["u1"]
    assert backend.complete(reserved.lease_token)
    assert backend.push([job("u4", key="k")]) == ["u4"]
    assert sorted(drain(backend)) == ["other", "u4"]


def test_two_jobs_with_one_key_in_one_batch_store_one(backend):
    """Within one push, the second job with a key already taken gets the first's uuid."""
    assert backend.push([job("b1", key="same"), job("b2", key="same")]) == ["b1", "b1"]
    assert drain(backend) == ["b1"]


def test_a_unique_key_with_a_time_stops_blocking_when_it_runs_out(store, backend):
    """unique_until: after that time a new job with the key is stored even if the first waits."""
    backend.push([job("t1", key="timed", until=NOW + 60)])
    assert backend.push([job("t2", key="timed", until=NOW + 60)]) == ["t1"]
    store.clock.advance(61)
    assert backend.push([job("t3", key="timed", until=NOW + 200, at=NOW + 61)]) == ["t3"]
    assert sorted(drain(backend)) == ["t1", "t3"]


def test_a_failed_job_frees_its_unique_key(backend):
    """A job that failed no longer holds its key."""
    backend.push([job("x1", key="kf")])
    backend.fail(backend.claim(["default"], "w", 30).lease_token, "boom")
    assert backend.push([job("x2", key="kf")]) == ["x2"]


# -- markers, stats, clear --------------------------------------------------------------
def test_markers_are_stored_and_a_paused_queue_is_skipped(backend):
    """set/delete markers; claim skips a queue with a pause marker and takes the next."""
    assert backend.markers() == {}
    backend.set_marker("restart", 123.5)
    backend.set_marker("restart", 124.5)
    backend.set_marker("pause:high", 1.0)
    assert backend.markers() == {"restart": 124.5, "pause:high": 1.0}
    backend.push([job("h", "high"), job("d")])
    assert backend.claim(["high", "default"], "w", 30).uuid == "d"
    assert backend.claim(["high"], "w", 30) is None
    assert backend.delete_marker("pause:high")
    assert not backend.delete_marker("pause:high")
    assert backend.claim(["high"], "w", 30).uuid == "h"


def test_stats_count_jobs_by_queue_and_state(store, backend):
    """stats(): waiting, delayed, running and failed per queue, and the oldest wait."""
    assert backend.stats() == []
    backend.push([job("w1", delay=-30), job("w2"), job("d1", delay=60), job("r1", "mail")])
    backend.push([job("f1", "mail")])
    backend.claim(["mail"], "w", 30)
    backend.fail(backend.claim(["mail"], "w", 30).lease_token, "x")
    store.clock.advance(10)
    assert backend.stats() == [
        QueueStats("default", waiting=2, delayed=1, running=0, failed=0,
                   oldest_waiting=pytest.approx(40.0)),
        QueueStats("mail", waiting=0, delayed=0, running=1, failed=1, oldest_waiting=None),
    ]


def test_clear_deletes_waiting_and_delayed_jobs_but_not_running_ones(backend):
    """clear(queue) removes the queue's waiting and delayed jobs; a running job finishes."""
    backend.push([job("run"), job("wait"), job("later", delay=60), job("keep", "other")])
    running = backend.claim(["default"], "w", 30)
    assert backend.clear("default") == 2
    assert backend.claim(["default"], "w", 30) is None
    assert backend.complete(running.lease_token)
    assert drain(backend, ("other",)) == ["keep"]
    assert backend.clear("default") == 0


# -- waking up --------------------------------------------------------------------------
def test_wait_returns_true_when_another_handle_pushed(store):
    """An idle worker's wait() ends as soon as another process dispatches, and returns
    False when nothing changed within the timeout."""
    idle, dispatcher = store.open(), store.open()
    idle.claim(["default"], "w", 30)
    idle.wait(0)
    assert idle.wait(0.2) is False
    dispatcher.push([job("wake")])
    assert idle.wait(5) is True
    assert idle.claim(["default"], "w", 30).uuid == "wake"


def test_wait_wakes_on_a_marker_change(store):
    """queue:restart and queue:resume reach an idle worker without waiting for --sleep."""
    idle, operator = store.open(), store.open()
    idle.claim(["default"], "w", 30)
    idle.wait(0)
    operator.set_marker("restart", 5.0)
    assert idle.wait(5) is True


# -- optional fast paths ----------------------------------------------------------------
def test_complete_and_claim_finishes_one_job_and_reserves_the_next(store, backend):
    """Stores with the combined step complete the held job and hand out the next one;
    a stale token completes nothing but still claims."""
    if not hasattr(backend, "complete_and_claim"):
        pytest.skip(f"{store.kind} has no complete_and_claim")
    backend.push([job("n1"), job("n2"), job("n3", "high")])
    first = backend.claim(["default"], "w", 30)
    done, second = backend.complete_and_claim(first.lease_token, ["high", "default"], "w", 30)
    assert done
    assert (second.uuid, second.attempts) == ("n3", 1)
    done, third = backend.complete_and_claim(first.lease_token, ["default"], "w", 30)
    assert not done
    assert third.uuid == "n2"
    done, nothing = backend.complete_and_claim(third.lease_token, ["default"], "w", 30)
    assert done
    assert nothing is None
    assert backend.complete(second.lease_token)
    assert backend.stats() == []


def test_claim_next_completes_and_claims_while_the_markers_are_unchanged(backend):
    """claim_next (the store's own, or built from the basic methods) completes the
    finished job and reserves the next one, in priority order, when the markers are
    those the worker knows; a stale token completes nothing but still claims."""
    claim_next = claim_next_for(backend)
    backend.set_marker("restart", 1_800_000_000.123456)
    backend.set_marker("pause:low", 7.0)
    known = backend.markers()
    backend.push([job("n1"), job("n2"), job("n3", "high"), job("l1", "low")])
    first = claim_next(None, ["default"], "w", 30, known)
    assert (first.job.uuid, first.completed, first.markers) == ("n1", True, None)
    second = claim_next(first.job.lease_token, ["low", "high", "default"], "w", 30, known)
    assert (second.job.uuid, second.job.attempts, second.completed) == ("n3", 1, True)
    third = claim_next(first.job.lease_token, ["default"], "w", 30, known)
    assert (third.job.uuid, third.completed) == ("n2", False)
    last = claim_next(third.job.lease_token, ["default"], "w", 30, known)
    assert last == NextJob(None, True, None)
    assert backend.complete(second.job.lease_token)
    assert [s.queue for s in backend.stats()] == ["low"]


def test_claim_next_hands_back_the_payload_as_stored(backend):
    """Any text survives the trip: quotes, backslashes, control characters, non-ASCII."""
    text = '{"note": "a \\"quoted\\" \\\\ path\\n", "raw": "tab\there / ñandú € 😀"}'
    backend.push([job("odd", payload=text), job("next")])
    step = claim_next_for(backend)(None, ["default"], "w", 30, {})
    assert (step.job.uuid, step.job.payload) == ("odd", text)
    after = claim_next_for(backend)(step.job.lease_token, ["default"], "w", 30, {})
    assert (after.completed, after.job.uuid) == (True, "next")


def reaches(worker, expected: dict[str, float]) -> None:
    """Let a store that learns of marker changes by notification (PostgreSQL's LISTEN)
    receive it; the others see a change at once, and so do their own claim_next."""
    if isinstance(worker, ClaimsNext):
        return
    deadline = time.monotonic() + 10
    while worker.markers() != expected and time.monotonic() < deadline:
        worker.wait(0.05)


def test_claim_next_reserves_nothing_once_the_markers_changed(store, backend):
    """A restart, pause or resume since the worker last looked: the finished job is
    completed, nothing is reserved and the store's markers come back, so the worker
    obeys them before it takes another job."""
    claim_next = claim_next_for(backend)
    operator = store.open()
    backend.push([job("a"), job("b")])
    held = claim_next(None, ["default"], "w", 30, {}).job
    operator.set_marker("restart", 1_800_000_123.456789)
    reaches(backend, {"restart": 1_800_000_123.456789})
    step = claim_next(held.lease_token, ["default"], "w", 30, {})
    assert step == NextJob(None, True, {"restart": 1_800_000_123.456789})
    operator.set_marker("restart", 1_800_000_124.0)  # the same names, a new value
    reaches(backend, {"restart": 1_800_000_124.0})
    assert claim_next(None, ["default"], "w", 30, step.markers).markers == {
        "restart": 1_800_000_124.0
    }
    operator.set_marker("pause:other", 1.0)
    operator.delete_marker("restart")  # as many markers as before, not the same ones
    reaches(backend, {"pause:other": 1.0})
    changed = claim_next(None, ["default"], "w", 30, {"restart": 1_800_000_124.0})
    assert changed.markers == {"pause:other": 1.0}
    taken = claim_next(None, ["default"], "w", 30, changed.markers).job
    assert taken.uuid == "b"
    empty = claim_next(taken.lease_token, ["default"], "w", 30, changed.markers)
    assert empty == NextJob(None, True, None)
    operator.delete_marker("pause:other")  # seen by an idle worker too
    reaches(backend, {})
    assert claim_next(None, ["default"], "w", 30, changed.markers) == NextJob(None, True, {})


def test_claim_batch_reserves_several_jobs_in_queue_order(store, backend):
    """Server stores reserve several jobs at once: the first queue first, each with its own
    lease token, attempts counted."""
    if not hasattr(backend, "claim_batch"):
        pytest.skip(f"{store.kind} has no claim_batch")
    backend.push([job("b1"), job("b2"), job("b3"), job("h1", "high")])
    batch = backend.claim_batch(["high", "default"], "w", 30, 3)
    assert [j.uuid for j in batch] == ["h1", "b1", "b2"]
    assert len({j.lease_token for j in batch}) == 3
    assert {j.attempts for j in batch} == {1}
    assert [j.uuid for j in backend.claim_batch(["default"], "w", 30, 5)] == ["b3"]
    assert backend.claim_batch(["default"], "w", 30, 5) == []
    for reserved in batch:
        assert backend.complete(reserved.lease_token)


# -- what a store must not change -------------------------------------------------------
def test_payloads_and_errors_come_back_exactly_as_stored(backend):
    """Payloads are stored verbatim (not parsed: a hostile one must reach the worker to fail
    cleanly), whatever their characters or size; an exception text with a NUL byte is still
    recorded, readable."""
    odd = 'not json at all: ñandú 漢字 \\u0000 "quotes" ' + "x" * 1_000_000
    backend.push([job("odd", payload=odd)])
    reserved = backend.claim(["default"], "w", 30)
    assert reserved.payload == odd
    assert backend.fail(reserved.lease_token, "ValueError: before\x00after")
    [failed] = backend.failed_jobs()
    assert failed.payload == odd
    assert failed.exception.startswith("ValueError: before")
    assert failed.exception.endswith("after")


def test_one_handle_shared_by_threads_never_hands_out_a_job_twice(backend):
    """A store is safe to call from several threads at once (the worker and its heartbeat
    share one): eight threads claiming through one handle get disjoint jobs."""
    backend.push([job(f"s{i:03d}") for i in range(160)])
    seen: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        while (reserved := backend.claim(["default"], "w", 30)) is not None:
            with lock:
                seen.append(reserved.uuid)
            assert backend.complete(reserved.lease_token)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(seen) == [f"s{i:03d}" for i in range(160)]


def test_a_failed_job_id_no_store_can_hold_finds_nothing(store, backend):
    """queue:forget / queue:retry with an absurd id (a typo) find nothing rather than crash."""
    huge = 10**30
    backend.push([job("f")])
    backend.fail(backend.claim(["default"], "w", 30).lease_token, "x")
    assert backend.get_failed(str(huge)) is None
    assert backend.forget_failed([huge]) == 0
    assert backend.retry_failed([huge]) == []
    assert len(backend.failed_jobs()) == 1
