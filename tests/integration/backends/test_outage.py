"""A store whose server goes away: workers ride it out, dispatch says so, nothing is lost.

Runs on a throwaway server the test stops and starts. The store's clock is fake,
so backoff and patience pass without sleeping.
"""

from __future__ import annotations

import logging

import pytest

from capataz.queue.backends.base import NewJob
from capataz.queue.backends.pg_outage import StoreUnavailableError
from capataz.queue.clock import FakeClock
from capataz.queue.connections import open_backend
from capataz.queue.errors import StoreError


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
        restartable.stop()

        with pytest.raises(StoreError, match="cannot be reached") as raised:
            store.push([NewJob("new", "default", "{}", clock.time())])
        assert isinstance(raised.value, StoreUnavailableError)
        assert store.claim(["default"], "w", 30) is None
        assert store.markers() == {"restart": 7.0}
        assert store.wait(0.5) is False
        with pytest.raises(StoreError):
            store.renew(held.lease_token, 30)
        assert store.complete(held.lease_token) is False  # gave up after its patience
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
