"""Boletas whose answer was lost, settled through the Consulta Integrada of the simulator.

billConsultService knows only facturas; a boleta's resend meets 1033 (or 1032). The
service then asks the Consulta Integrada what SUNAT holds under the number and records
that, without ever sending another number.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from facturacion import samples
from facturacion.model import Comprobante
from facturacion.service import Result, SunatService, Unsettled
from facturacion.signing import Signer
from facturacion.simulator import FaultKind, FaultRule
from facturacion.simulator.state import DocState
from facturacion.simulator.testing import RunningSimulator, service_on
from facturacion.store import DocumentStore, State

READ_TIMEOUT = 2.0
SLOW = 4.0


def calls(simulator: RunningSimulator, operation: str) -> list[str]:
    return [subject for op, subject in simulator.state.calls if op == operation]


def send_with(store: DocumentStore, signer: Signer, simulator: RunningSimulator,
              document: Comprobante, times: int = 1, **config: Any) -> list[Result]:  # fmt: skip
    """Prepare ``document`` in ``store`` and send it ``times`` times (each a job attempt)."""

    async def main() -> list[Result]:
        async with service_on(simulator.url, store, signer, read_timeout=READ_TIMEOUT,
                              **config) as service:  # fmt: skip
            service.prepare(document)
            return [await service.send(document.key) for _ in range(times)]

    return asyncio.run(main())


def killed_after_registering(store: DocumentStore, tmp_path: Path, signer: Signer,
                             simulator: RunningSimulator, document: Comprobante,
                             **rule: Any) -> None:  # fmt: skip
    """SUNAT registers ``document`` (as scripted by ``rule``) but its answer dies with the
    worker: ``store`` is left with the send claimed long ago, as a SIGKILL leaves it."""
    if rule:
        simulator.state.rules.append(FaultRule(match=document.key, **rule))
    other = DocumentStore(tmp_path / "dead-worker.sqlite3")
    try:
        send_with(other, signer, simulator, document)
    finally:
        other.close()
    SunatService(store, signer, client=None).prepare(document)  # type: ignore[arg-type]
    assert store.claim(document.key, frozenset({State.PREPARED}), now=0.0, stale_before=-1.0)


def test_a_boleta_whose_answer_died_ends_accepted_with_the_answer_as_evidence(
    simulator: RunningSimulator, store: DocumentStore, signer: Signer, tmp_path: Path
) -> None:
    """The status query fails once, so the resend meets 1033; the query after it says 1."""
    document = samples.boleta(21)
    killed_after_registering(store, tmp_path, signer, simulator, document)
    simulator.state.rules.append(
        FaultRule(FaultKind.HTTP, match=document.key, operation="validarcomprobante", status=503)
    )
    (result,) = send_with(store, signer, simulator, document)
    assert (result.state, result.code, result.cdr_zip) == (State.ACCEPTED, 0, None)
    assert result.evidence is not None
    assert b'"estadoCp": "1"' in result.evidence
    assert "estadoCp 1 (aceptado)" in result.message
    stored = store.get(document.key)
    assert (stored.state, stored.evidence) == (State.ACCEPTED, result.evidence)
    assert calls(simulator, "sendBill") == [f"{document.key}.zip"] * 2
    assert len(calls(simulator, "validarcomprobante")) == 2
    assert calls(simulator, "getStatusCdr") == []


def test_a_boleta_note_is_asked_about_the_same_way(
    simulator: RunningSimulator, store: DocumentStore, signer: Signer, tmp_path: Path
) -> None:
    """A credit note on a boleta (series BC01) is settled by the query before any resend."""
    boleta_note = samples.nota_credito(affected=samples.boleta(1))
    killed_after_registering(store, tmp_path, signer, simulator, boleta_note)
    (result,) = send_with(store, signer, simulator, boleta_note)
    assert result.state is State.ACCEPTED
    assert calls(simulator, "sendBill") == [f"{boleta_note.key}.zip"]
    assert calls(simulator, "validarcomprobante") == ["20000000001-07-BC01-1"]


def test_a_boleta_sunat_never_registered_is_resent_under_its_number(
    simulator: RunningSimulator, store: DocumentStore, signer: Signer
) -> None:
    """estadoCp 0 after a dead worker's claim: the same stored bytes go, no new number."""
    document = samples.boleta(22)
    SunatService(store, signer, client=None).prepare(document)  # type: ignore[arg-type]
    stored = store.get(document.key)
    assert store.claim(document.key, frozenset({State.PREPARED}), now=0.0, stale_before=-1.0)
    (result,) = send_with(store, signer, simulator, document)
    assert (result.state, result.cdr() is not None) == (State.ACCEPTED, True)
    assert result.evidence is None
    assert calls(simulator, "validarcomprobante") == [document.key]
    assert calls(simulator, "sendBill") == [f"{document.key}.zip"]
    assert list(simulator.state.documents) == [document.key]
    assert store.get(document.key).zip == stored.zip


def test_a_late_answer_for_a_boleta_is_settled_by_the_query(
    simulator: RunningSimulator, store: DocumentStore, signer: Signer
) -> None:
    """Registered, answered after the client gave up: the retry asks instead of resending."""
    document = samples.boleta(23)
    simulator.state.rules.append(FaultRule(FaultKind.SLOW, match=document.key, delay=SLOW))
    first, second = send_with(store, signer, simulator, document, times=2)
    assert (first.state, first.retry) == (State.UNKNOWN, True)
    assert (second.state, second.code) == (State.ACCEPTED, 0)
    assert len(calls(simulator, "sendBill")) == 1


def test_a_rejected_boleta_whose_answer_died_ends_rejected_by_1032(
    simulator: RunningSimulator, store: DocumentStore, signer: Signer, tmp_path: Path
) -> None:
    """1032 (voided or rejected) and estadoCp 0 (not valid, not voided): rejected, final."""
    document = samples.boleta(24)
    killed_after_registering(store, tmp_path, signer, simulator, document,
                             kind=FaultKind.REJECT, code=2800)  # fmt: skip
    (result,) = send_with(store, signer, simulator, document)
    assert (result.state, result.code) == (State.REJECTED, 1032)
    assert "original rejection code" in result.message
    assert result.evidence is not None


def test_an_observed_boleta_whose_answer_died_ends_accepted(
    simulator: RunningSimulator, store: DocumentStore, signer: Signer, tmp_path: Path
) -> None:
    """Observations live only in the lost CDR: SUNAT states 'aceptado', and that is what is
    recorded (a valid receipt, printed and mailed), never observations nobody received."""
    document = samples.boleta(29)
    killed_after_registering(store, tmp_path, signer, simulator, document,
                             kind=FaultKind.OBSERVE, notes=("4252 - texto",))  # fmt: skip
    (result,) = send_with(store, signer, simulator, document)
    assert (result.state, result.code, result.notes) == (State.ACCEPTED, 0, ())


def test_a_voided_boleta_ends_voided(
    simulator: RunningSimulator, store: DocumentStore, signer: Signer, tmp_path: Path
) -> None:
    """estadoCp 2: accepted, then voided by a summary; recorded as SUNAT states it."""
    document = samples.boleta(25)
    killed_after_registering(store, tmp_path, signer, simulator, document)
    simulator.state.documents[document.key].state = DocState.VOIDED
    (result,) = send_with(store, signer, simulator, document)
    assert result.state is State.VOIDED
    assert calls(simulator, "sendBill") == [f"{document.key}.zip"]


def test_1033_while_the_query_is_down_is_retried_not_handed_to_a_person(
    simulator: RunningSimulator, store: DocumentStore, signer: Signer, tmp_path: Path
) -> None:
    """No answer from the Consulta Integrada: the job retries, and the next attempt settles."""
    document = samples.boleta(26)
    killed_after_registering(store, tmp_path, signer, simulator, document)
    simulator.state.rules.append(FaultRule(FaultKind.HTTP, match=document.key, status=503,
                                           operation="validarcomprobante", times=2))  # fmt: skip
    first, second = send_with(store, signer, simulator, document, times=2)
    assert (first.state, first.code, first.retry) == (State.UNKNOWN, 1033, True)
    assert (second.state, second.code) == (State.ACCEPTED, 0)


def test_without_the_query_a_boleta_duplicate_still_waits_for_a_person(
    simulator: RunningSimulator, store: DocumentStore, signer: Signer, tmp_path: Path
) -> None:
    """No API SUNAT credentials: 1033 is recorded for a person; nothing is guessed."""
    document = samples.boleta(27)
    killed_after_registering(store, tmp_path, signer, simulator, document)
    (result,) = send_with(store, signer, simulator, document, validate=False)
    assert (result.state, result.code) == (State.DUPLICATE, 1033)


def test_reconcile_reports_why_nothing_settled(
    simulator: RunningSimulator, store: DocumentStore, signer: Signer
) -> None:
    """Not a bill's name, or no status service for its series: nothing to ask."""
    document = samples.boleta(28)

    async def main() -> list[Result | Unsettled]:
        async with service_on(simulator.url, store, signer, consult=False) as service:
            service.prepare(document)
            return [await service.reconcile("20000000001-RC-20261203-1"),
                    await service.reconcile("20000000001-01-F001-9"),
                    await service.reconcile(document.key)]  # fmt: skip

    assert asyncio.run(main()) == [
        Unsettled.CANNOT_ASK, Unsettled.CANNOT_ASK, Unsettled.NOT_REGISTERED,
    ]  # fmt: skip
