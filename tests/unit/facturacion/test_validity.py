"""Reading the Consulta Integrada's answers and building its questions, without a network."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from facturacion import samples
from facturacion.errors import TransportError, UnreadableResponseError
from facturacion.outcome import Symptom
from facturacion.signing import Signer, SigningCredentials
from facturacion.ubl import render
from facturacion.validity import (
    EstadoCp,
    Token,
    ValidityQuery,
    read_status,
    read_token,
    refusal_of,
)


@pytest.mark.parametrize("estado", list(EstadoCp))
def test_every_estado_cp_is_read(estado: EstadoCp) -> None:
    body = (b'{"success": true, "message": "Operation Success! ", "data": {"estadoCp": "%d",'
            b' "estadoRuc": "00", "condDomiRuc": "00"}}' % estado.value)  # fmt: skip
    status = read_status(body)
    assert (status.state, status.observations, status.answer) == (estado, (), body)


def test_observations_are_kept_and_shown() -> None:
    body = b'{"success": true, "data": {"estadoCp": 0, "observaciones": ["- no coincide"]}}'
    status = read_status(body)
    assert status.observations == ("- no coincide",)
    assert status.summary == "Consulta Integrada: estadoCp 0 (no_existe) | - no coincide"
    single = read_status(b'{"success": true, "data": {"estadoCp": "1", "observaciones": "x"}}')
    assert single.observations == ("x",)


@pytest.mark.parametrize(
    ("body", "symptom"),
    [
        (b"", Symptom.EMPTY_ANSWER),
        (b"<html>login</html>", Symptom.UNREADABLE_ANSWER),
        (b"[1, 2]", Symptom.UNREADABLE_ANSWER),
        (b'{"success": true}', Symptom.UNREADABLE_ANSWER),
        (b'{"success": true, "data": {"estadoCp": "9"}}', Symptom.UNREADABLE_ANSWER),
        (b'{"success": true, "data": {"estadoCp": null}}', Symptom.UNREADABLE_ANSWER),
        (b'{"success": false, "message": "numero invalido", "errorCode": "E1"}',
         Symptom.QUERY_REFUSED),
    ],
    ids=["empty", "html", "list", "no-data", "unknown-estado", "null-estado", "refused"],
)  # fmt: skip
def test_unusable_answers_name_their_symptom(body: bytes, symptom: Symptom) -> None:
    with pytest.raises(TransportError) as caught:
        read_status(body)
    assert caught.value.symptom == symptom


def test_a_refusal_says_why_in_the_service_words() -> None:
    with pytest.raises(TransportError, match="numero invalido - E1"):
        read_status(b'{"success": false, "message": "numero invalido", "errorCode": "E1"}')
    assert refusal_of(b'{"error": "invalid_client"}') == "invalid_client"
    assert refusal_of(b"<html>Forbidden</html>") == "<html>Forbidden</html>"
    assert refusal_of(b"[]") == "no reason given"
    assert refusal_of(b"") == "no reason given"


def test_tokens_are_renewed_before_they_expire() -> None:
    token = read_token(b'{"access_token": "t", "token_type": "JWT", "expires_in": 3600}', 100.0)
    assert token == Token("t", 3700.0)
    assert token.usable(3600.0)
    assert not token.usable(3650.0)
    assert not read_token(b'{"access_token": "t", "expires_in": "soon"}', 0.0).usable(0.0)
    with pytest.raises(TransportError, match="access_token"):
        read_token(b'{"error": "x"}', 0.0)


def test_the_query_is_read_from_the_signed_xml(credentials: SigningCredentials) -> None:
    """Issue date and total come from the bytes SUNAT received, notes included."""
    for document in (samples.boleta(7), samples.nota_credito(), samples.nota_debito()):
        signed = Signer(credentials).sign(render(document)).xml
        query = ValidityQuery.of_signed(document.key, signed)
        assert (query.issue_date, query.total) == (document.issue_date, document.payable)
        assert query.number == document.number
    assert ValidityQuery("2", "03", "B001", 7, dt.date(2026, 1, 2), Decimal(5)).body()[
        "fechaEmision"
    ] == "02/01/2026"


@pytest.mark.parametrize(
    "xml",
    [b"<Invoice/>", b"<Invoice><IssueDate>2026-13-01</IssueDate><PayableAmount>1</PayableAmount>"
     b"</Invoice>", b"<Invoice><IssueDate>2026-01-01</IssueDate><PayableAmount>x</PayableAmount>"
     b"</Invoice>"],
    ids=["missing", "bad-date", "bad-total"],
)  # fmt: skip
def test_an_unreadable_signed_xml_is_reported(xml: bytes) -> None:
    with pytest.raises(UnreadableResponseError):
        ValidityQuery.of_signed("20000000001-03-B001-1", xml)
