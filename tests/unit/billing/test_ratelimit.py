"""The shared rate limit: slots spaced 1/rate apart for every process, waits bounded."""

from __future__ import annotations

import pytest

from facturacion.billing.ratelimit import SharedRateLimiter
from facturacion.billing.store import BillingStore

from .conftest import WallClock


def test_calls_are_spaced_by_the_rate(store: BillingStore, clock: WallClock) -> None:
    """At 2 calls/s the first goes now, the next two wait 0.5 s and 1 s."""
    limiter = SharedRateLimiter(store, clock=clock)
    waits = [limiter.take("api", 2.0, max_wait=5).wait for _ in range(3)]
    assert waits == [0.0, 0.5, 1.0]


def test_a_slot_too_far_away_is_not_taken(store: BillingStore, clock: WallClock) -> None:
    """Beyond max_wait the caller is told how long to wait and reserves nothing."""
    limiter = SharedRateLimiter(store, clock=clock)
    assert limiter.take("api", 1.0, max_wait=0).taken
    refused = limiter.take("api", 1.0, max_wait=0.5)
    assert not refused.taken
    assert refused.wait == 1.0
    clock.advance(1.0)
    assert limiter.take("api", 1.0, max_wait=0) == limiter.take("other", 1.0, max_wait=0)


def test_two_processes_share_one_limit(store: BillingStore, clock: WallClock) -> None:
    """A second connection to the same file (another worker) sees the slots already taken."""
    other = BillingStore(store.target, clock=clock)
    try:
        SharedRateLimiter(store, clock=clock).take("api", 4.0, max_wait=1)
        assert SharedRateLimiter(other, clock=clock).take("api", 4.0, max_wait=1).wait == 0.25
    finally:
        other.close()


def test_the_rate_must_be_positive(store: BillingStore) -> None:
    """A rate of zero is refused with the unit in the message."""
    with pytest.raises(ValueError, match="calls per second"):
        SharedRateLimiter(store).take("api", 0, max_wait=1)
