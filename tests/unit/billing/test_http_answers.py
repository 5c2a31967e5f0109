"""Sorting a third party's answer: what is worth retrying, and Retry-After in both forms."""

from __future__ import annotations

import datetime as dt

from facturacion.billing.http_call import HttpAnswer, retry_after


def test_retry_after_reads_seconds_and_dates() -> None:
    """'120' is seconds; an HTTP date is the time until then; garbage or past is handled."""
    now = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    assert retry_after("120") == 120.0
    assert retry_after("Thu, 03 Dec 2026 12:00:30 GMT", now) == 30.0
    assert retry_after("Thu, 03 Dec 2026 11:00:00 GMT", now) == 0.0
    assert retry_after("soon") is None
    assert retry_after(None) is None
    assert retry_after("Thu, 03 Dec 2099 12:00:00 GMT") is not None


def test_which_statuses_are_worth_another_try() -> None:
    """429, 503 and friends are retried; 2xx is done; 404 and 422 are final."""
    assert HttpAnswer(204, "").ok
    assert HttpAnswer(429, "").worth_retrying
    assert HttpAnswer(503, "").worth_retrying
    assert not HttpAnswer(404, "").worth_retrying
    assert not HttpAnswer(422, "").ok
