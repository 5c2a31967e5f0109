"""The client maps every HTTP answer to a result, a coded fault or a transport symptom."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import test_utils, web

from facturacion import soap
from facturacion.client import SunatClient
from facturacion.config import SunatConfig
from facturacion.errors import ConfigurationError, SunatFaultError, TransportError


def with_canned(
    status: int, body: bytes, action: Callable[[SunatClient], Awaitable[Any]], **config: Any
) -> Any:
    """Serve one canned answer on loopback and run ``action`` against it."""
    seen: list[bytes] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(await request.read())
        assert request.headers["SOAPAction"].startswith("urn:")
        return web.Response(status=status, body=body, content_type="text/xml")

    async def main() -> Any:
        app = web.Application()
        app.router.add_post("/billService", handler)
        app.router.add_post("/billConsultService", handler)
        async with test_utils.TestServer(app, host="127.0.0.1") as server:
            base = str(server.make_url(""))
            settings = SunatConfig.beta(
                bill_url=f"{base}/billService", consult_url=f"{base}/billConsultService", **config
            )
            async with SunatClient(settings) as client:
                return await action(client)

    return asyncio.run(main())


def bill(client: SunatClient) -> Awaitable[bytes]:
    return client.send_bill("20000000001-01-F001-1.zip", b"zip")


@pytest.mark.parametrize(
    ("status", "body", "symptom"),
    [
        (502, b"<html>bad gateway</html>", "gateway-error"),
        (504, b"", "gateway-error"),
        (404, b"<html>not found</html>", "http-client-error"),
        (401, b"", "http-client-error"),
        (200, b"", "empty-answer"),
        (200, b"<html>login</html>", "unreadable-answer"),
        (500, b"<html>oops</html>", "server-error"),
        (500, b"Internal Server Error", "server-error"),
        (
            200,
            soap.response_envelope("sendBill", {"applicationResponse": "%%%"}),
            "unreadable-answer",
        ),
        (200, soap.response_envelope("sendBill", {}), "unreadable-answer"),
        (200, soap.response_envelope("getStatus", {}), "unreadable-answer"),
    ],
)
def test_http_answers_map_to_symptoms(status: int, body: bytes, symptom: str) -> None:
    """Gateways, client errors, empty and unreadable bodies each name their symptom."""
    with pytest.raises(TransportError) as caught:
        with_canned(status, body, bill)
    assert caught.value.symptom == symptom


@pytest.mark.parametrize(
    ("faultcode", "faultstring", "code"),
    [
        ("soap-env:Client.0111", "No tiene el perfil", 111),
        ("soap-env:Server.0130", "El sistema no puede responder", 130),
        ("env:Server", "0200", 200),
        ("env:Server", "Internal Error", None),
        ("soap-env:Client.1033", "registrado previamente", 1033),
    ],
)
def test_faults_carry_sunat_codes(faultcode: str, faultstring: str, code: int | None) -> None:
    """The code is read from faultcode's suffix, else from a leading number in faultstring."""
    with pytest.raises(SunatFaultError) as caught:
        with_canned(500, soap.fault_envelope(faultcode, faultstring), bill)
    assert caught.value.code == code
    assert caught.value.http_status == 500


def test_ticket_and_status_answers_are_read() -> None:
    """sendSummary returns the ticket; getStatus the code and decoded content."""
    ticket = with_canned(
        200,
        soap.response_envelope("sendSummary", {"ticket": "1700000000001"}),
        lambda c: c.send_summary("20000000001-RC-20261203-1.zip", b"z"),
    )
    assert ticket == "1700000000001"
    content = base64.b64encode(b"PKzip").decode()
    status = with_canned(
        200,
        soap.response_envelope("getStatus", {"status": {"statusCode": "0", "content": content}}),
        lambda c: c.get_status(ticket),
    )
    assert (status.code, status.content) == (0, b"PKzip")
    with pytest.raises(TransportError, match="without a ticket"):
        with_canned(
            200, soap.response_envelope("sendSummary", {}), lambda c: c.send_summary("x.zip", b"z")
        )
    with pytest.raises(TransportError, match="expected sendBillResponse"):
        with_canned(200, soap.response_envelope("sendSummary", {"ticket": "1"}), bill)


def test_request_envelope_has_escaped_credentials() -> None:
    """WS-Security UsernameToken: username RUC+user, the password escaped as text."""
    envelope = soap.envelope("getStatus", "20000000001MODDATOS", "a<b&c", {"ticket": "1"})
    assert b"<wsse:Username>20000000001MODDATOS</wsse:Username>" in envelope
    assert b"a&lt;b&amp;c</wsse:Password>" in envelope
    assert b"#PasswordText" in envelope
    assert b"<ser:getStatus><ticket>1</ticket></ser:getStatus>" in envelope


def test_read_timeout_during_send_is_unknown_and_during_query_is_transient() -> None:
    """A slow answer to sendBill means unknown outcome; to getStatus merely a retry."""

    async def slow(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(1.0)
        return web.Response(status=200, body=b"")

    async def main() -> list[str]:
        app = web.Application()
        app.router.add_post("/billService", slow)
        symptoms = []
        async with test_utils.TestServer(app, host="127.0.0.1") as server:
            settings = SunatConfig.beta(
                bill_url=str(server.make_url("/billService")), read_timeout=0.2
            )
            async with SunatClient(settings) as client:
                for call in (bill(client), client.get_status("1")):
                    try:
                        await call
                    except TransportError as error:
                        symptoms.append(error.symptom)
        return symptoms

    assert asyncio.run(main()) == ["send-timeout", "query-timeout"]


def test_consult_needs_an_endpoint_and_urls_must_be_valid() -> None:
    """Beta has no billConsultService; a malformed URL is a configuration error."""

    async def main() -> None:
        async with SunatClient(SunatConfig.beta()) as client:
            with pytest.raises(ConfigurationError, match="no beta endpoint"):
                await client.get_status_cdr("20000000001", "01", "F001", 1)
        async with SunatClient(SunatConfig.beta(bill_url="not a url")) as client:
            with pytest.raises((ConfigurationError, TransportError)):
                await client.get_status("1")

    asyncio.run(main())


def test_consult_answer_is_read() -> None:
    """getStatusCdr: statusCode, statusMessage and the CDR zip."""
    content = base64.b64encode(b"PK").decode()
    body = soap.response_envelope(
        "getStatusCdr",
        {"statusCdr": {"statusCode": "0001", "statusMessage": "ok", "content": content}},
    )
    status = with_canned(200, body, lambda c: c.get_status_cdr("20000000001", "01", "F001", 1))
    assert (status.code, status.message, status.content) == ("0001", "ok", b"PK")


def test_real_sunat_shapes_are_read() -> None:
    """A Header element, comments and whitespace before the answer do not confuse the reader."""
    content = base64.b64encode(b"PKcdr").decode()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soap-env:Header/>\n<soap-env:Body>\n  <!-- generated -->\n"
        '  <br:sendBillResponse xmlns:br="http://service.sunat.gob.pe">'
        f"<applicationResponse>{content}</applicationResponse></br:sendBillResponse>"
        "</soap-env:Body></soap-env:Envelope>"
    ).encode()
    assert with_canned(200, body, bill) == b"PKcdr"
    empty_body = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<s:Body><!-- x --></s:Body></s:Envelope>"
    )
    with pytest.raises(TransportError, match="empty SOAP body"):
        with_canned(200, empty_body, bill)
