"""The Consulta Integrada client against the simulator: each estadoCp, credentials, faults."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from facturacion import samples, validity
from facturacion.client import SunatClient
from facturacion.config import SunatConfig
from facturacion.errors import ConfigurationError, TransportError
from facturacion.outcome import Outcome, Symptom, classify
from facturacion.signing import Signer
from facturacion.simulator import FaultKind, FaultRule
from facturacion.simulator.state import API_CLIENT_ID, API_CLIENT_SECRET, DocState
from facturacion.simulator.testing import RunningSimulator, service_on
from facturacion.store import DocumentStore
from facturacion.validity import EstadoCp, ValidityQuery, ValidityStatus


def client_for(simulator: RunningSimulator, **config: Any) -> SunatClient:
    settings: dict[str, Any] = {
        "validity_url": simulator.url, "api_client_id": API_CLIENT_ID,
        "api_client_secret": API_CLIENT_SECRET, "read_timeout": 2.0, "connect_timeout": 2.0,
    } | config  # fmt: skip
    return SunatClient(SunatConfig.beta(bill_url=simulator.bill_url, **settings))


def ask(simulator: RunningSimulator, query: ValidityQuery, **config: Any) -> ValidityStatus:
    async def main() -> ValidityStatus:
        async with client_for(simulator, **config) as client:
            return await client.validate(query)

    return asyncio.run(main())


def failure(simulator: RunningSimulator, query: ValidityQuery, **config: Any) -> TransportError:
    with pytest.raises(TransportError) as caught:
        ask(simulator, query, **config)
    return caught.value


def sent(simulator: RunningSimulator, store: DocumentStore, signer: Signer,
         document: Any) -> ValidityQuery:  # fmt: skip
    """Send ``document`` to the simulator and return the query that names it."""

    async def main() -> None:
        async with service_on(simulator.url, store, signer) as service:
            service.prepare(document)
            await service.send(document.key)

    asyncio.run(main())
    return ValidityQuery.of_signed(document.key, store.get(document.key).signed_xml)


def calls(simulator: RunningSimulator, operation: str) -> int:
    return sum(1 for op, _ in simulator.state.calls if op == operation)


def test_a_registered_boleta_is_aceptado_with_the_real_field_names(
    simulator: RunningSimulator, store: DocumentStore, signer: Signer
) -> None:
    """estadoCp 1 for what SUNAT accepted; the body is kept as received, as evidence."""
    query = sent(simulator, store, signer, samples.boleta(3))
    assert query.body() == {
        "numRuc": "20000000001", "codComp": "03", "numeroSerie": "B001", "numero": "3",
        "fechaEmision": query.issue_date.strftime("%d/%m/%Y"), "monto": f"{query.total:.2f}",
    }  # fmt: skip
    status = ask(simulator, query)
    assert (status.state, status.ruc_state, status.ruc_domicile) == (EstadoCp.ACEPTADO, "00", "00")
    assert b'"estadoCp": "1"' in status.answer
    assert status.summary == "Consulta Integrada: estadoCp 1 (aceptado)"


@pytest.mark.parametrize(
    ("registered", "estado"),
    [(None, EstadoCp.NO_EXISTE), (DocState.REJECTED, EstadoCp.NO_EXISTE),
     (DocState.VOIDED, EstadoCp.ANULADO)],
    ids=["never-sent", "rejected", "voided"],
)  # fmt: skip
def test_the_answer_follows_what_the_simulator_registered(
    simulator: RunningSimulator, store: DocumentStore, signer: Signer,
    registered: DocState | None, estado: EstadoCp,
) -> None:  # fmt: skip
    """Unknown and rejected numbers do not exist as receipts (0); a voided one is 2."""
    document = samples.boleta(4)
    query = sent(simulator, store, signer, document)
    if registered is None:
        del simulator.state.documents[document.key]
    else:
        simulator.state.documents[document.key].state = registered
    assert ask(simulator, query).state is estado


def test_a_different_date_or_total_is_not_the_registered_receipt(
    simulator: RunningSimulator, store: DocumentStore, signer: Signer
) -> None:
    """The service identifies a receipt by number, date and total: a mismatch is 0."""
    query = sent(simulator, store, signer, samples.boleta(5))
    other = ValidityQuery(query.issuer_ruc, "03", "B001", 5, dt.date(2020, 1, 1), Decimal(1))
    status = ask(simulator, other)
    assert status.state is EstadoCp.NO_EXISTE
    assert status.observations


def test_one_token_serves_many_queries_and_a_refused_one_is_renewed(
    simulator: RunningSimulator, store: DocumentStore, signer: Signer
) -> None:
    """The token is fetched once; when the service forgets it (401) it is fetched again."""
    query = sent(simulator, store, signer, samples.boleta(6))

    async def main() -> list[EstadoCp]:
        async with client_for(simulator) as client:
            first = await client.validate(query)
            second = await client.validate(query)
            simulator.state.tokens.clear()
            third = await client.validate(query)
            return [first.state, second.state, third.state]

    assert asyncio.run(main()) == [EstadoCp.ACEPTADO] * 3
    assert calls(simulator, "token") == 2
    assert calls(simulator, "validarcomprobante") == 4


QUERY = ValidityQuery("20000000001", "03", "B001", 1, dt.date(2026, 12, 3), Decimal("118.00"))


def test_bad_credentials_are_a_configuration_error(simulator: RunningSimulator) -> None:
    """A wrong secret is refused at the token endpoint: alert a person, do not retry."""
    error = failure(simulator, QUERY, api_client_secret="wrong")  # noqa: S106 - a wrong one on purpose
    assert error.symptom == Symptom.HTTP_CLIENT_ERROR
    assert "cliente no autorizado" in str(error)
    assert classify(symptom=Symptom(error.symptom)) is Outcome.CONFIGURATION
    assert calls(simulator, "validarcomprobante") == 0


def test_a_token_refused_twice_is_a_configuration_error(simulator: RunningSimulator) -> None:
    """A service that refuses every fresh token (another RUC's credentials) is not retried."""
    simulator.state.token_lifetime = -1  # every token is expired on arrival
    error = failure(simulator, QUERY)
    assert (error.symptom, calls(simulator, "token")) == (Symptom.HTTP_CLIENT_ERROR, 2)


def test_a_malformed_question_is_refused_as_configuration(simulator: RunningSimulator) -> None:
    """success=false (here a bad series) is our bug: a person looks."""
    bad = ValidityQuery("20000000001", "03", "B1", 1, dt.date(2026, 12, 3), Decimal(1))
    error = failure(simulator, bad)
    assert error.symptom == Symptom.QUERY_REFUSED
    assert "numeroSerie" in str(error)
    assert classify(symptom=Symptom(error.symptom)) is Outcome.CONFIGURATION


@pytest.mark.parametrize(
    ("rule", "symptom"),
    [
        ({"kind": FaultKind.HTTP, "status": 503}, Symptom.GATEWAY_ERROR),
        ({"kind": FaultKind.HTTP, "status": 500}, Symptom.SERVER_ERROR),
        ({"kind": FaultKind.FAULT, "code": 130}, Symptom.SERVER_ERROR),
        ({"kind": FaultKind.EMPTY}, Symptom.EMPTY_ANSWER),
        ({"kind": FaultKind.SLOW, "delay": 4.0}, Symptom.QUERY_TIMEOUT),
        ({"kind": FaultKind.HTTP, "status": 503, "operation": "token"}, Symptom.GATEWAY_ERROR),
        ({"kind": FaultKind.SLOW, "delay": 4.0, "operation": "token"}, Symptom.QUERY_TIMEOUT),
    ],
    ids=["503", "500-page", "500-json", "empty", "late", "token-503", "token-late"],
)
def test_outages_and_timeouts_are_transient(
    simulator: RunningSimulator, rule: dict[str, Any], symptom: Symptom
) -> None:
    """Scripted like the SOAP faults (by operation and subject); each is retried later."""
    rule.setdefault("operation", "validarcomprobante")
    simulator.state.rules.append(FaultRule(**rule))
    error = failure(simulator, QUERY)
    assert error.symptom == symptom
    assert classify(symptom=Symptom(error.symptom)) is Outcome.TRANSIENT


def test_rules_match_the_queried_number(simulator: RunningSimulator) -> None:
    """A rule for B001-2 leaves a query about B001-1 alone."""
    simulator.state.rules.append(
        FaultRule(FaultKind.HTTP, match="B001-2", operation="validarcomprobante", status=503)
    )
    assert ask(simulator, QUERY).state is EstadoCp.NO_EXISTE
    assert len(simulator.state.rules) == 1


def test_nothing_listening_is_a_transient_connect_failure() -> None:
    """Connection refused: nothing was asked, ask again later."""
    settings = SunatConfig.beta(validity_url="http://127.0.0.1:9", api_client_id="a",
                                api_client_secret="b", connect_timeout=2.0)  # fmt: skip  # noqa: S106

    async def main() -> None:
        async with SunatClient(settings) as client:
            await client.validate(QUERY)

    with pytest.raises(TransportError) as caught:
        asyncio.run(main())
    assert caught.value.symptom == Symptom.CONNECT_FAILED


@pytest.mark.parametrize(
    "config",
    [{}, {"validity_url": "http://[bad", "api_client_id": "a", "api_client_secret": "b"}],
    ids=["not-configured", "bad-url"],
)
def test_an_unusable_configuration_says_what_to_set(config: dict[str, Any]) -> None:
    async def main() -> None:
        async with SunatClient(SunatConfig.beta(**config)) as client:
            await client.validate(QUERY)

    with pytest.raises(ConfigurationError):
        asyncio.run(main())




async def _raw(simulator: RunningSimulator, path: str, **request: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(simulator.url + path, **request) as response,
    ):
        return response.status, await response.json(content_type=None)


def _bearer(simulator: RunningSimulator) -> dict[str, str]:
    form = validity.token_form(API_CLIENT_ID, API_CLIENT_SECRET)
    status, answer = asyncio.run(_raw(simulator, validity.token_path(API_CLIENT_ID), data=form))
    assert (status, answer["token_type"]) == (200, "JWT")
    return {"Authorization": f"Bearer {answer['access_token']}"}


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"scope": "https://api-cpe.sunat.gob.pe"}, 400, "invalid_scope"),
        ({"client_id": "other"}, 401, "invalid_client"),
    ],
)
def test_the_token_endpoint_checks_the_oauth_form(
    simulator: RunningSimulator, change: dict[str, str], status: int, error: str
) -> None:
    form = validity.token_form(API_CLIENT_ID, API_CLIENT_SECRET) | change
    answer = asyncio.run(_raw(simulator, validity.token_path(API_CLIENT_ID), data=form))
    assert (answer[0], answer[1]["error"]) == (status, error)


@pytest.mark.parametrize(
    ("ruc", "body", "problem"),
    [
        ("2000", QUERY.body(), "RUC 2000"),
        ("20000000001", [1], "objeto JSON"),
        ("20000000001", QUERY.body() | {"fechaEmision": "2026-12-03"}, "fechaEmision"),
        ("20000000001", QUERY.body() | {"monto": "mucho"}, "monto"),
        ("20000000001", QUERY.body() | {"monto": None}, "monto"),
        ("20000000001", b"not json", "objeto JSON"),
    ],
    ids=["path-ruc", "list", "date", "amount", "null", "not-json"],
)
def test_a_malformed_question_is_answered_success_false(
    simulator: RunningSimulator, ruc: str, body: Any, problem: str
) -> None:
    """What the question lacks is said in the answer; the call itself is logged."""
    headers = _bearer(simulator)
    payload = {"data": body} if isinstance(body, bytes) else {"json": body}
    status, answer = asyncio.run(_raw(simulator, validity.validity_path(ruc), headers=headers,
                                      **payload))  # fmt: skip
    assert (status, answer["success"]) == (200, False)
    assert problem in answer["message"]
    assert simulator.state.calls[-1][0] == "validarcomprobante"
