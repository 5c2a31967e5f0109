"""The classification table: one test per code class, plus the transport symptoms."""

from __future__ import annotations

import pytest

from facturacion.outcome import TABLE, Outcome, Symptom, classify, rule_for


@pytest.mark.parametrize("code", [0])
def test_accepted(code: int) -> None:
    """Code 0 without notes is accepted."""
    assert classify(code=code) is Outcome.ACCEPTED


@pytest.mark.parametrize(("code", "notes"), [(0, 2), (4000, 0), (4252, 0), (4312, 1), (9999, 0)])
def test_observed(code: int, notes: int) -> None:
    """Code 0 with notes, or any 4000+ code, is accepted with observations."""
    assert classify(code=code, observations=notes) is Outcome.OBSERVED


@pytest.mark.parametrize("code", [2000, 2017, 2108, 2329, 2800, 3103, 3205, 3999])
def test_rejected(code: int) -> None:
    """2000-3999 are final rejections: the number is consumed."""
    assert classify(code=code) is Outcome.REJECTED


@pytest.mark.parametrize("code", [1033, 1032, 140, 2223, 2324])
def test_duplicate(code: int) -> None:
    """Already registered or in process: reconcile, never renumber (even inside 2xxx)."""
    assert classify(code=code) is Outcome.DUPLICATE


@pytest.mark.parametrize(
    "code",
    [101, 102, 104, 111, 126, 127, 151, 152, 154, 156, 161, 306, 1034, 1079, 2325, 2335, 1999],
)
def test_configuration(code: int) -> None:
    """Credentials, naming, unreadable files, certificate and signature: alert, no retry."""
    assert classify(code=code) is Outcome.CONFIGURATION


@pytest.mark.parametrize("code", [100, 109, 125, 130, 138, 200, 253])
def test_transient_codes(code: int) -> None:
    """SUNAT's 'system unavailable' codes are retried with backoff."""
    assert classify(code=code) is Outcome.TRANSIENT


@pytest.mark.parametrize(
    "symptom",
    [
        Symptom.CONNECT_FAILED,
        Symptom.GATEWAY_ERROR,
        Symptom.SERVER_ERROR,
        Symptom.EMPTY_ANSWER,
        Symptom.UNREADABLE_ANSWER,
        Symptom.QUERY_TIMEOUT,
        Symptom.TICKET_IN_PROCESS,
    ],
)
def test_transient_symptoms(symptom: Symptom) -> None:
    """Failures where nothing was registered (or only a query failed) are retried."""
    assert classify(symptom=symptom) is Outcome.TRANSIENT


@pytest.mark.parametrize("symptom", [Symptom.SEND_TIMEOUT, Symptom.SEND_CONNECTION_LOST])
def test_unknown_outcome(symptom: Symptom) -> None:
    """A send that timed out or lost its connection after sending has an unknown outcome."""
    assert classify(symptom=symptom) is Outcome.UNKNOWN


def test_http_client_errors_are_configuration() -> None:
    """401/403/404 mean a wrong endpoint or credentials: alert, no retry."""
    assert classify(symptom=Symptom.HTTP_CLIENT_ERROR) is Outcome.CONFIGURATION


def test_every_row_has_an_action_and_final_outcomes_are_marked() -> None:
    """Each row says what to do; only accepted, observed and rejected are final."""
    assert all(rule.action for rule in TABLE)
    assert {o for o in Outcome if o.is_final} == {
        Outcome.ACCEPTED,
        Outcome.OBSERVED,
        Outcome.REJECTED,
    }
    assert rule_for(code=12345).outcome is Outcome.CONFIGURATION
    with pytest.raises(ValueError, match="a code or a symptom"):
        classify()


def test_simulator_rules_match_whole_name_parts() -> None:
    """A rule for F001-13 does not hit F001-130; a series or type matches all its files."""
    from facturacion.simulator import FaultKind, FaultRule

    one = FaultRule(FaultKind.EMPTY, match="F001-13")
    assert one.applies("sendBill", "20000000001-01-F001-13.zip")
    assert not one.applies("sendBill", "20000000001-01-F001-130.zip")
    assert FaultRule(FaultKind.EMPTY, match="F001").applies("sendBill", "20000000001-07-F001-2.zip")
    assert FaultRule(FaultKind.EMPTY, match="RC").applies(
        "sendSummary", "20000000001-RC-20261203-1.zip"
    )
    assert FaultRule(FaultKind.EMPTY, match="1700000000001").applies("getStatus", "1700000000001")
    only_send = FaultRule(FaultKind.EMPTY, operation="sendBill")
    assert not only_send.applies("getStatus", "1700000000001")
