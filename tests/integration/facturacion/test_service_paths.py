"""Against the simulator, each SUNAT answer takes the right path through the service."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest

from facturacion import samples
from facturacion.errors import DocumentConflictError
from facturacion.outcome import Outcome
from facturacion.service import SunatService
from facturacion.signing import Signer
from facturacion.simulator import FaultKind, FaultRule, FaultStyle
from facturacion.simulator.testing import RunningSimulator, service_on
from facturacion.store import DocumentStore, State

# The unknown-outcome cases: the client gives up after READ_TIMEOUT, the simulator
# answers after SLOW. Generous margins keep ordinary calls clear of the timeout on a
# loaded machine.
READ_TIMEOUT = 2.0
SLOW = 4.0

Scenario = Callable[[SunatService], Awaitable[None]]


def run(
    simulator: RunningSimulator | Any,
    store: DocumentStore,
    signer: Signer,
    scenario: Scenario,
    **config: Any,
) -> None:
    async def main() -> None:
        async with service_on(simulator.url, store, signer, **config) as service:
            await scenario(service)

    asyncio.run(main())


def sends(simulator: RunningSimulator, operation: str = "sendBill") -> int:
    return sum(1 for op, _ in simulator.state.calls if op == operation)


@pytest.mark.parametrize(
    "document",
    [
        samples.factura(),
        samples.factura_credito(),
        samples.factura_con_obsequio(),
        samples.boleta(),
        samples.nota_credito(),
        samples.nota_debito(),
    ],
    ids=["factura", "factura-credito", "factura-obsequio", "boleta", "nota-credito", "nota-debito"],
)
def test_accepted_documents_store_the_cdr(simulator, store, signer, document) -> None:
    """Every bill type is accepted; the CDR zip is stored as received; a resend does nothing."""

    async def scenario(service: SunatService) -> None:
        service.prepare(document)
        result = await service.send(document.key)
        assert (result.state, result.outcome, result.code) == (State.ACCEPTED, Outcome.ACCEPTED, 0)
        cdr = result.cdr()
        assert cdr is not None
        assert cdr.reference_id == document.document_id
        assert cdr.file_name == f"R-{document.key}.xml"
        again = await service.send(document.key)
        assert again.state is State.ACCEPTED
        assert again.cdr_zip == result.cdr_zip

    run(simulator, store, signer, scenario)
    assert sends(simulator) == 1


def test_observed_document_keeps_its_notes(simulator, store, signer) -> None:
    """A factura without a trade name is accepted with SUNAT's 4031 observation."""
    issuer = dataclasses.replace(samples.ISSUER, trade_name="")
    document = dataclasses.replace(samples.factura(), issuer=issuer)

    async def scenario(service: SunatService) -> None:
        service.prepare(document)
        result = await service.send(document.key)
        assert (result.state, result.outcome) == (State.OBSERVED, Outcome.OBSERVED)
        assert result.notes == ("4031 - Debe indicar el nombre comercial",)
        assert store.get(document.key).notes == result.notes

    run(simulator, store, signer, scenario)


def test_rejected_document_is_final_and_its_number_consumed(simulator, store, signer) -> None:
    """A 2xxx fault is a final rejection; a resend of the same number is not attempted."""
    document = samples.factura(3)
    simulator.state.rules.append(FaultRule(FaultKind.REJECT, match="F001-3", code=2800))

    async def scenario(service: SunatService) -> None:
        service.prepare(document)
        result = await service.send(document.key)
        assert (result.state, result.outcome, result.code) == (
            State.REJECTED,
            Outcome.REJECTED,
            2800,
        )
        assert "issue a new document" in result.message
        assert (await service.send(document.key)).state is State.REJECTED

    run(simulator, store, signer, scenario)
    assert sends(simulator) == 1
    assert simulator.state.documents[document.key].state.value == "rejected"


def test_rejection_inside_a_cdr_is_final_too(simulator, store, signer) -> None:
    """When SUNAT answers a rejection as a CDR (not a fault), the CDR is stored and final."""
    simulator.state.reject_with_fault = False
    simulator.state.rules.append(FaultRule(FaultKind.REJECT, code=3103))
    document = samples.boleta(9)

    async def scenario(service: SunatService) -> None:
        service.prepare(document)
        result = await service.send(document.key)
        assert (result.state, result.code) == (State.REJECTED, 3103)
        assert result.cdr_zip is not None

    run(simulator, store, signer, scenario)


def test_foreign_duplicate_is_not_reconciled_blindly(simulator, store, signer, credentials) -> None:
    """A first send answered 1033 means another system used the number: alert, do not renumber."""
    other_store = DocumentStore(store.path.with_name("other.sqlite3"))
    first = samples.factura(5)
    second = dataclasses.replace(first, lines=first.lines[:1])

    async def scenario(service: SunatService) -> None:
        other = SunatService(other_store, signer, service.client)
        other.prepare(first)
        assert (await other.send(first.key)).state is State.ACCEPTED
        service.prepare(second)
        result = await service.send(second.key)
        assert (result.state, result.outcome, result.code) == (
            State.DUPLICATE,
            Outcome.DUPLICATE,
            1033,
        )
        assert "never renumber" in result.message

    run(simulator, store, signer, scenario)
    other_store.close()


def test_prepare_refuses_different_content_under_a_used_number(store, signer) -> None:
    """Idempotency: the same document is prepared once; another one under its number is refused."""
    service = SunatService(store, signer, client=None)  # type: ignore[arg-type]
    first = service.prepare(samples.factura(8))
    assert service.prepare(samples.factura(8)) == first
    with pytest.raises(DocumentConflictError, match="new number"):
        service.prepare(dataclasses.replace(samples.factura(8), lines=samples.factura().lines[:1]))


@pytest.mark.parametrize(
    "rule",
    [
        FaultRule(FaultKind.FAULT, code=130, style=FaultStyle.SERVER),
        FaultRule(FaultKind.FAULT, code=109, style=FaultStyle.CLIENT),
        FaultRule(FaultKind.FAULT, code=200, style=FaultStyle.STRING),
        FaultRule(FaultKind.HTTP, status=503),
        FaultRule(FaultKind.HTTP, status=502),
        FaultRule(FaultKind.HTTP, status=500),
        FaultRule(FaultKind.EMPTY),
    ],
    ids=[
        "server-0130",
        "client-0109",
        "faultstring-0200",
        "http-503",
        "http-502",
        "http-500-html",
        "empty-200",
    ],
)
def test_transient_faults_retry_the_same_bytes(simulator, store, signer, rule) -> None:
    """A transient fault leaves the document pending; the retry resends the same zip."""
    document = samples.factura(11)
    simulator.state.rules.append(rule)

    async def scenario(service: SunatService) -> None:
        stored = service.prepare(document)
        first = await service.send(document.key)
        assert (first.state, first.outcome, first.retry) == (State.PENDING, Outcome.TRANSIENT, True)
        second = await service.send(document.key)
        assert second.state is State.ACCEPTED
        assert store.get(document.key).zip == stored.zip
        assert store.get(document.key).sends == 2

    run(simulator, store, signer, scenario)
    assert sends(simulator) == 2


def test_connection_refused_is_transient(store, signer) -> None:
    """Nothing listening: the send never left, so it is retried, not treated as unknown."""
    dead = SimpleNamespace(url="http://127.0.0.1:9")  # discard port: nothing listens there

    async def scenario(service: SunatService) -> None:
        service.prepare(samples.factura(12))
        result = await service.send(samples.factura(12).key)
        assert (result.state, result.outcome) == (State.PENDING, Outcome.TRANSIENT)
        assert "connect-failed" in result.message

    run(dead, store, signer, scenario)


def test_unknown_outcome_is_reconciled_through_get_status_cdr(simulator, store, signer) -> None:
    """A send that times out after SUNAT registered it is resolved by getStatusCdr, never resent."""
    document = samples.factura(13)
    simulator.state.rules.append(FaultRule(FaultKind.SLOW, match="F001-13", delay=SLOW))

    async def scenario(service: SunatService) -> None:
        service.prepare(document)
        first = await service.send(document.key)
        assert (first.state, first.outcome, first.retry) == (State.UNKNOWN, Outcome.UNKNOWN, True)
        second = await service.send(document.key)
        assert second.state is State.ACCEPTED
        assert second.cdr() is not None

    run(simulator, store, signer, scenario, read_timeout=READ_TIMEOUT)
    assert sends(simulator) == 1
    assert sends(simulator, "getStatusCdr") == 1


def test_unknown_outcome_without_consult_resends_and_meets_1033(simulator, store, signer) -> None:
    """Without any status service (beta) the same bytes are resent; 1033 then needs a person."""
    document = samples.boleta(14)
    simulator.state.rules.append(FaultRule(FaultKind.SLOW, delay=SLOW))

    async def scenario(service: SunatService) -> None:
        service.prepare(document)
        assert (await service.send(document.key)).state is State.UNKNOWN
        second = await service.send(document.key)
        assert (second.state, second.code) == (State.DUPLICATE, 1033)

    run(simulator, store, signer, scenario, read_timeout=READ_TIMEOUT, consult=False,
        validate=False)  # fmt: skip
    assert sends(simulator) == 2


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        (FaultRule(FaultKind.FAULT, code=102, style=FaultStyle.CLIENT), 102),
        (FaultRule(FaultKind.FAULT, code=2335, style=FaultStyle.CLIENT), 2335),
        (FaultRule(FaultKind.HTTP, status=401), None),
    ],
    ids=["credentials-0102", "signature-2335", "http-401"],
)
def test_configuration_errors_stop_and_alert(simulator, store, signer, rule, code) -> None:
    """Credential, signature or endpoint errors are not retried; a fix lets the number resend."""
    document = samples.factura(15)
    simulator.state.rules.append(rule)

    async def scenario(service: SunatService) -> None:
        service.prepare(document)
        result = await service.send(document.key)
        assert (result.state, result.outcome, result.retry, result.code) == (
            State.CONFIGURATION,
            Outcome.CONFIGURATION,
            False,
            code,
        )
        assert (await service.send(document.key)).state is State.ACCEPTED

    run(simulator, store, signer, scenario)


def test_wrong_password_is_a_configuration_error(simulator, store, signer) -> None:
    """The simulator checks WS-Security credentials: a wrong password answers 0102."""
    simulator.state.users = {"20000000001MODDATOS": "correct"}
    document = samples.factura(16)

    async def scenario(service: SunatService) -> None:
        service.prepare(document)
        result = await service.send(document.key)
        assert (result.state, result.code) == (State.CONFIGURATION, 102)

    run(simulator, store, signer, scenario)


def test_concurrent_sends_of_one_key_send_once(simulator, store, signer) -> None:
    """Two workers sending the same key at once: one claims it, the other is told to retry."""
    document = samples.factura(17)
    simulator.state.rules.append(FaultRule(FaultKind.SLOW, delay=0.5))

    async def scenario(service: SunatService) -> None:
        service.prepare(document)
        first, second = await asyncio.gather(service.send(document.key), service.send(document.key))
        states = sorted([first.state.value, second.state.value])
        assert states == ["accepted", "sending"]
        busy = first if first.state is State.SENDING else second
        assert busy.retry
        assert "another worker" in busy.message

    run(simulator, store, signer, scenario)
    assert sends(simulator) == 1
