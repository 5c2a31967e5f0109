"""A store whose server goes away: workers ride it out, dispatch says so, nothing is lost.

Runs on a throwaway server the test stops and starts. The store's clock is fake,
so backoff and patience pass without sleeping.
"""

from __future__ import annotations

import itertools
import logging

import pytest

from capataz.queue.backends.base import NewJob, NextJob, claim_next_for
from capataz.queue.backends.outage import MAX_BACKOFF, Outage, retry_link
from capataz.queue.clock import FakeClock
from capataz.queue.connections import open_backend
from capataz.queue.errors import StoreError, StoreUnavailableError


def test_a_worker_rides_out_the_server_going_away_and_dispatch_raises(restartable, caplog):
    """While the server is down: dispatch raises a StoreError naming the server (nothing is
    silently lost), claim returns nothing, markers are the last ones read, settling a job
    gives up after its patience; the outage is logged once. When the server is back, wait()
    says so and the job held across the outage is still there."""
    caplog.set_level(logging.WARNING, logger="capataz.queue")
    clock = FakeClock()
    store = open_backend(restartable.url, clock=clock)
    try:
        store.set_marker("restart", 7.0)
        store.push([NewJob("kept", "default", "{}", clock.time())])
        held = store.claim(["default"], "w", 30)
        assert store.markers() == {"restart": 7.0}
        store.wait(0)
        restartable.stop()

        assert store.wait(0.5) is False  # the idle worker's listening link died first

        with pytest.raises(StoreError, match="cannot be reached") as raised:
            store.push([NewJob("new", "default", "{}", clock.time())])
        assert isinstance(raised.value, StoreUnavailableError)
        assert store.claim(["default"], "w", 30) is None
        clock.advance(10)  # a reconnect attempt is due: it fails, and nothing is claimed
        assert store.claim(["default"], "w", 30) is None
        assert store.markers() == {"restart": 7.0}
        assert store.wait(0.5) is False
        with pytest.raises(StoreError):
            store.renew(held.lease_token, 30)
        assert store.complete(held.lease_token) is False  # gave up after its patience
        assert store.complete_and_claim(held.lease_token, ["default"], "w", 30) == (False, None)
        known = {"restart": 7.0}
        assert claim_next_for(store)(None, ["default"], "w", 30, known) == NextJob(None)
        assert claim_next_for(store)(held.lease_token, ["default"], "w", 30, known) == NextJob(
            None, False)
        with pytest.raises(StoreError):
            store.stats()

        restartable.start()
        for _ in range(100):
            if store.wait(0.5):
                break
        else:
            pytest.fail("wait() never saw the server come back")
        clock.advance(31)  # the lease of the job we could not complete ran out
        again = store.claim(["default"], "w", 30)
        assert (again.uuid, again.attempts) == ("kept", 2)
        assert store.complete(again.lease_token)
    finally:
        store.close()
    lost = [r for r in caplog.records if "lost the connection" in r.getMessage()]
    back = [r for r in caplog.records if "reconnected to" in r.getMessage()]
    assert len(lost) == 1
    assert len(back) == 1


def test_a_store_opened_while_its_server_is_down_fails_clearly(restartable):
    """Opening a store whose server does not come back within the wait gives a StoreError
    that names the server, not a traceback."""
    restartable.stop()
    with pytest.raises(StoreError, match="cannot open the queue store"):
        open_backend(restartable.url, clock=FakeClock())


# -- the outage bookkeeping itself, on a fake clock ----------------------------------------
class LinkDownError(ConnectionError):
    pass


def test_retry_link_backs_off_then_gives_up_with_a_clear_error(caplog):
    """Link errors are retried with doubling waits until the patience runs out, then become
    StoreUnavailableError; the outage is logged once however many attempts fail."""
    clock = FakeClock()
    outage = Outage("the test server", logging.getLogger("capataz.queue.test"), clock)
    calls = []

    def attempt() -> None:
        calls.append(clock.monotonic())
        raise LinkDownError("connection refused")

    with caplog.at_level(logging.WARNING, logger="capataz.queue.test"), pytest.raises(
        StoreUnavailableError, match="the test server cannot be reached"
    ):
        retry_link(attempt, lambda e: isinstance(e, LinkDownError), outage, clock, patience=2.0)
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(calls)]
    assert gaps == [0.1, 0.2, 0.4, 0.8]
    assert caplog.text.count("lost the connection") == 1
    assert "down (5 failures)" in repr(outage)


def test_other_errors_are_not_retried_and_recovery_is_reported_once(caplog):
    """A non-link error is raised at once; the first success after an outage logs one line
    and calls the recovery hook (which drops the connections that died with the server)."""
    clock = FakeClock()
    recovered = []
    outage = Outage("srv", logging.getLogger("capataz.queue.test"), clock,
                    lambda: recovered.append(True))

    def broken_query() -> None:
        raise ValueError("syntax error")

    with pytest.raises(ValueError, match="syntax"):
        retry_link(broken_query, lambda e: isinstance(e, LinkDownError), outage, clock, 5.0)
    assert not outage.down
    outage.failed(LinkDownError(""))
    assert outage.down
    assert not outage.may_try()
    clock.advance(0.1)
    assert outage.may_try()
    with caplog.at_level(logging.WARNING, logger="capataz.queue.test"):
        assert retry_link(lambda: 42, lambda e: True, outage, clock, 0.0) == 42
        assert outage.recovered() is False
    assert recovered == [True]
    assert caplog.text.count("reconnected to srv after 0.1s") == 1
    assert repr(outage) == "<Outage srv up>"


def test_backoff_stops_growing_at_its_ceiling():
    """However long the outage, attempts stay at most MAX_BACKOFF apart."""
    clock = FakeClock()
    outage = Outage("srv", logging.getLogger("capataz.queue.test"), clock)
    for _ in range(20):
        outage.failed(LinkDownError("down"))
    assert outage.seconds_to_next_try() == MAX_BACKOFF
