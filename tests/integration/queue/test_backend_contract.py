"""The backend contract: the same assertions for every store (memory and SQLite here;
PostgreSQL and Redis join by adding a factory to ``BACKENDS``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from capataz.queue.backends.base import Backend, NewJob
from capataz.queue.backends.memory import MemoryBackend
from capataz.queue.backends.sqlite import SqliteBackend
from capataz.queue.clock import FakeClock

Factory = Callable[[Path, FakeClock], Backend]
BACKENDS: dict[str, Factory] = {
    "memory": lambda tmp, clock: MemoryBackend(clock),
    "sqlite": lambda tmp, clock: SqliteBackend(tmp / "contract.db", clock),
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Backend]:
    backend = BACKENDS[request.param](tmp_path, clock)
    yield backend
    backend.close()


def new(uuid: str, queue: str = "default", delay: float = 0.0, clock: FakeClock | None = None,
        **extra: object) -> NewJob:
    now = clock.time() if clock else FakeClock().time()
    return NewJob(uuid, queue, f'{{"uuid":"{uuid}"}}', now + delay, **extra)  # type: ignore[arg-type]


def test_push_and_claim_in_order_with_attempts_counted(store, clock):
    """Jobs come out oldest first; a claim counts an attempt and hands out a lease token."""
    assert store.push([new("a", clock=clock), new("b", clock=clock)]) == ["a", "b"]
    first = store.claim(["default"], "w1", 30)
    second = store.claim(["default"], "w2", 30)
    assert (first.uuid, first.attempts, first.exceptions) == ("a", 1, 0)
    assert second.uuid == "b"
    assert first.lease_token != second.lease_token
    assert store.claim(["default"], "w3", 30) is None


def test_strict_priority_across_queues(store, clock):
    """The first queue with a ready job wins, whatever the age of jobs on later queues."""
    store.push([new("low", "low", clock=clock)])
    clock.advance(1)
    store.push([new("high", "high", clock=clock)])
    assert store.claim(["high", "low"], "w", 30).uuid == "high"
    assert store.claim(["high", "low"], "w", 30).uuid == "low"


def test_delayed_jobs_wait_until_due(store, clock):
    """A delayed job is not claimable before its time."""
    store.push([new("later", delay=10, clock=clock)])
    assert store.claim(["default"], "w", 30) is None
    assert store.stats()[0].delayed == 1
    clock.advance(10)
    assert store.claim(["default"], "w", 30).uuid == "later"


def test_only_the_lease_holder_settles_a_job(store, clock):
    """complete/release/fail/renew with a stale or foreign token change nothing."""
    store.push([new("a", clock=clock)])
    job = store.claim(["default"], "w", 5)
    assert not store.complete("forged")
    assert not store.release("forged", 0, after_exception=False)
    assert not store.fail("forged", "x")
    assert not store.renew("forged", 5)
    clock.advance(6)  # the lease expired: another worker takes the job
    again = store.claim(["default"], "w2", 5)
    assert (again.uuid, again.attempts) == ("a", 2)
    assert not store.complete(job.lease_token)
    assert not store.renew(job.lease_token, 5)
    assert store.complete(again.lease_token)
    assert store.stats() == []


def test_renewed_lease_is_not_taken(store, clock):
    """A job whose lease keeps being renewed is never given to another worker."""
    store.push([new("long", clock=clock)])
    job = store.claim(["default"], "w", 3)
    for _ in range(10):
        clock.advance(2)
        assert store.renew(job.lease_token, 3)
        assert store.claim(["default"], "other", 3) is None
    assert store.stats()[0].running == 1


def test_release_counts_exceptions_and_delays(store, clock):
    """release puts the job back after a delay; after_exception adds to its exceptions."""
    store.push([new("a", clock=clock)])
    job = store.claim(["default"], "w", 30)
    assert store.release(job.lease_token, 5, after_exception=True)
    assert store.claim(["default"], "w", 30) is None
    clock.advance(5)
    again = store.claim(["default"], "w", 30)
    assert (again.attempts, again.exceptions) == (2, 1)
    assert store.release(again.lease_token, 0, after_exception=False)
    third = store.claim(["default"], "w", 30)
    assert (third.attempts, third.exceptions) == (3, 1)


def test_fail_moves_to_failed_jobs_and_retry_brings_it_back(store, clock):
    """A failed job keeps uuid, queue, payload and the exception; retry starts attempts over."""
    store.push([new("a", "mail", clock=clock)])
    job = store.claim(["mail"], "w", 30)
    assert store.fail(job.lease_token, "Traceback...\nRuntimeError: boom")
    assert store.claim(["mail"], "w", 30) is None
    [failed] = store.failed_jobs()
    assert (failed.uuid, failed.queue, failed.connection) == ("a", "mail", "default")
    assert failed.payload == '{"uuid":"a"}'
    assert failed.exception.endswith("RuntimeError: boom")
    assert failed.failed_at == clock.time()
    assert store.get_failed("a") == failed
    assert store.get_failed(str(failed.id)) == failed
    assert store.get_failed("nope") is None
    assert store.retry_failed([failed.id]) == ["a"]
    assert store.failed_jobs() == []
    again = store.claim(["mail"], "w", 30)
    assert (again.uuid, again.attempts, again.exceptions) == ("a", 1, 0)
    assert store.retry_failed([failed.id]) == []


def test_failed_paging_forget_and_flush(store, clock):
    """Failed jobs page by id; forget deletes by id; flush by age or all."""
    for i in range(5):
        store.push([new(f"j{i}", clock=clock)])
        store.fail(store.claim(["default"], "w", 30).lease_token, "x")
        clock.advance(3600)
    ids = [f.id for f in store.failed_jobs()]
    assert [f.id for f in store.failed_jobs(ids[1], 2)] == ids[2:4]
    assert store.forget_failed([ids[0], 999]) == 1
    # Failed at hours 0..4, now is hour 5: "older than 2 hours" means hours 1, 2, 3 (0 is gone).
    assert store.flush_failed(clock.time() - 2 * 3600) == 3
    assert len(store.failed_jobs()) == 1
    assert store.flush_failed() == 1
    assert store.failed_jobs() == []


def test_unique_key_holds_while_waiting_or_running(store, clock):
    """A second push with a held unique key returns the holder's uuid and stores nothing."""
    assert store.push([new("first", unique_key="k", clock=clock)]) == ["first"]
    assert store.push([new("second", unique_key="k", clock=clock)]) == ["first"]
    job = store.claim(["default"], "w", 30)
    assert store.push([new("third", unique_key="k", clock=clock)]) == ["first"]
    store.complete(job.lease_token)
    assert store.push([new("fourth", unique_key="k", clock=clock)]) == ["fourth"]


def test_unique_key_with_a_time_limit_expires(store, clock):
    """unique_until bounds the key: after it, a duplicate is stored."""
    store.push([new("first", unique_key="k", unique_until=clock.time() + 10, clock=clock)])
    clock.advance(5)
    assert store.push([new("second", unique_key="k", clock=clock)]) == ["first"]
    clock.advance(5)
    assert store.push([new("third", unique_key="k", clock=clock)]) == ["third"]
    assert sum(s.waiting for s in store.stats()) == 2


def test_pushing_the_same_uuid_twice_stores_it_once(store, clock):
    """Push is idempotent per uuid (a retried dispatch does not duplicate the job)."""
    store.push([new("a", clock=clock)])
    store.push([new("a", clock=clock)])
    assert store.stats()[0].waiting == 1


def test_paused_queues_are_skipped(store, clock):
    """A pause marker for a queue hides its jobs from claims until removed."""
    store.push([new("a", clock=clock)])
    store.set_marker("pause:default", clock.time())
    assert store.claim(["default"], "w", 30) is None
    assert store.markers() == {"pause:default": clock.time()}
    assert store.delete_marker("pause:default")
    assert not store.delete_marker("pause:default")
    assert store.claim(["default"], "w", 30).uuid == "a"


def test_clear_deletes_waiting_jobs_only(store, clock):
    """clear removes waiting and delayed jobs of one queue; running jobs finish."""
    store.push([new("run", clock=clock), new("wait", clock=clock),
                new("later", delay=60, clock=clock), new("other", "mail", clock=clock)])
    running = store.claim(["default"], "w", 30)
    assert store.clear("default") == 2
    assert store.complete(running.lease_token)
    assert [s.queue for s in store.stats()] == ["mail"]


def test_stats_by_queue_and_state(store, clock):
    """stats: waiting, delayed, running, failed per queue and the oldest wait."""
    store.push([new("a", clock=clock), new("b", clock=clock), new("c", delay=60, clock=clock)])
    clock.advance(7)
    store.claim(["default"], "w", 30)
    failing = store.push([new("d", "mail", clock=clock)])
    assert failing == ["d"]
    store.fail(store.claim(["mail"], "w", 30).lease_token, "x")
    by_queue = {s.queue: s for s in store.stats()}
    default = by_queue["default"]
    assert (default.waiting, default.delayed, default.running, default.failed) == (1, 1, 1, 0)
    assert default.oldest_waiting == pytest.approx(7)
    assert by_queue["mail"].failed == 1
    assert by_queue["mail"].oldest_waiting is None


def test_wait_returns_when_another_handle_commits(store, clock, tmp_path):
    """wait() returns True once the store changed, False after the timeout otherwise."""
    assert store.wait(0.05) is False
    store.push([new("a", clock=clock)])
    if isinstance(store, SqliteBackend):
        # SQLite sees only other connections' commits: open a second handle.
        other = SqliteBackend(tmp_path / "contract.db", clock)
        other.push([new("b", clock=clock)])
        other.close()
    assert store.wait(0.05) is True


def test_concurrent_claims_never_hand_out_a_job_twice(store, clock):
    """Eight threads claiming at once get disjoint jobs."""
    store.push([new(f"j{i}", clock=clock) for i in range(200)])
    seen: list[str] = []
    lock = threading.Lock()

    def drain() -> None:
        while (job := store.claim(["default"], threading.current_thread().name, 30)) is not None:
            with lock:
                seen.append(job.uuid)
            store.complete(job.lease_token)

    threads = [threading.Thread(target=drain) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == sorted(f"j{i}" for i in range(200))


def test_complete_and_claim_in_one_step(store, clock):
    """The fast path finishes one job and reserves the next; a stale token still claims."""
    from capataz.queue.backends.base import CompletesAndClaims

    if not isinstance(store, CompletesAndClaims):
        pytest.skip("this store has no combined complete-and-claim")
    store.push([new("a", clock=clock), new("b", clock=clock), new("c", clock=clock)])
    first = store.claim(["default"], "w", 30)
    done, second = store.complete_and_claim(first.lease_token, ["default"], "w", 30)
    assert done
    assert second.uuid == "b"
    done, third = store.complete_and_claim(first.lease_token, ["default"], "w", 30)
    assert not done
    assert third.uuid == "c"
    store.complete(second.lease_token)
    done, nothing = store.complete_and_claim(third.lease_token, ["default"], "w", 30)
    assert (done, nothing) == (True, None)
    assert store.stats() == []


def test_after_an_empty_claim_expired_leases_and_due_jobs_are_still_found(store, clock):
    """A claim that found nothing does not hide a lease that expires or a job that comes due."""
    store.push([new("held", "mail", clock=clock), new("later", delay=10, clock=clock)])
    held = store.claim(["mail"], "w1", 5)
    assert held is not None
    assert store.claim(["mail", "default"], "w2", 5) is None
    clock.advance(5)
    again = store.claim(["mail", "default"], "w2", 5)
    assert (again.uuid, again.attempts) == ("held", 2)
    assert store.claim(["default"], "w2", 5) is None
    clock.advance(5)
    assert store.claim(["default"], "w2", 5).uuid == "later"
