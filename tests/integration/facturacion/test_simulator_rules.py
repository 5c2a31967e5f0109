"""The simulator checks what SUNAT checks, with SUNAT's codes, in SUNAT's order."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from facturacion import samples, ubl
from facturacion.cdr import read_cdr_zip
from facturacion.client import SunatClient
from facturacion.config import SunatConfig
from facturacion.errors import SunatFaultError
from facturacion.packaging import make_zip
from facturacion.signing import SignatureAlgorithm, Signer, SigningCredentials
from facturacion.simulator.testing import RunningSimulator

FACTURA = samples.factura(40)
KEY = FACTURA.key


def client_for(simulator: RunningSimulator, **overrides: Any) -> SunatClient:
    return SunatClient(
        SunatConfig.beta(
            bill_url=simulator.bill_url, consult_url=simulator.consult_url, **overrides
        )
    )


def call(
    simulator: RunningSimulator, action: Callable[[SunatClient], Awaitable[Any]], **overrides: Any
) -> Any:
    async def main() -> Any:
        async with client_for(simulator, **overrides) as client:
            return await action(client)

    return asyncio.run(main())


def signed(signer: Signer, xml: bytes) -> bytes:
    return signer.sign(xml).xml


def fault_code(
    simulator: RunningSimulator, name: str, zip_bytes: bytes, *, summary: bool = False
) -> int | None:
    async def send(client: SunatClient) -> Any:
        if summary:
            return await client.send_summary(name, zip_bytes)
        return await client.send_bill(name, zip_bytes)

    with pytest.raises(SunatFaultError) as caught:
        call(simulator, send)
    return caught.value.code


@pytest.fixture
def signer(credentials: SigningCredentials) -> Signer:
    return Signer(credentials)


@pytest.fixture
def good_xml(signer: Signer) -> bytes:
    return signed(signer, ubl.render(FACTURA))


@pytest.mark.parametrize(
    ("name", "code"),
    [
        (f"{KEY}.txt", 151),
        ("20000000001-01-F001.zip", 151),
        ("20000000001-RC-20261203-1.zip", 152),
    ],
)
def test_file_names_are_checked(simulator, good_xml, name: str, code: int) -> None:
    """A bad zip name is 0151; a summary sent with sendBill is 0152 (wrong method)."""
    assert fault_code(simulator, name, make_zip(KEY, good_xml)) == code


def test_bill_name_sent_as_summary_is_wrong_method(simulator, good_xml) -> None:
    """A factura sent with sendSummary is 0153."""
    assert fault_code(simulator, f"{KEY}.zip", make_zip(KEY, good_xml), summary=True) == 153


def test_zip_content_is_checked(simulator, good_xml) -> None:
    """Corrupt zip 0156, XML named differently from the zip 0161, unparseable XML 0306."""
    assert fault_code(simulator, f"{KEY}.zip", b"not a zip at all") == 156
    assert fault_code(simulator, f"{KEY}.zip", make_zip("other-name", good_xml)) == 161
    assert fault_code(simulator, f"{KEY}.zip", make_zip(KEY, b"<Invoice><broken>")) == 306


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            (b'<cbc:InvoiceTypeCode listID="0101">01<', b'<cbc:InvoiceTypeCode listID="0101">03<'),
            1003,
        ),
        ((b"<cbc:ID>F001-40</cbc:ID>", b"<cbc:ID>F002-40</cbc:ID>"), 1035),
        ((b"<cbc:ID>F001-40</cbc:ID>", b"<cbc:ID>F001-040</cbc:ID>"), 1036),
        ((b'schemeID="6">20000000001<', b'schemeID="6">20600995805<'), 1034),
        ((b"<cbc:UBLVersionID>2.1<", b"<cbc:UBLVersionID>2.0<"), 2074),
        ((b"<cbc:CustomizationID>2.0<", b"<cbc:CustomizationID>1.0<"), 2072),
        ((b'schemeID="6">20600995805<', b'schemeID="1">20600995805<'), 2800),
        (
            (
                b'<cbc:TaxAmount currencyID="PEN">549.15<',
                b'<cbc:TaxAmount currencyID="PEN">500.00<',
            ),
            3103,
        ),
    ],
    ids=[
        "type-1003",
        "series-1035",
        "number-1036",
        "ruc-1034",
        "ubl-2074",
        "custom-2072",
        "customer-2800",
        "igv-3103",
    ],
)
def test_content_rules_answer_their_codes(
    simulator, signer, change: tuple[bytes, bytes], code: int
) -> None:
    """Name versus content, versions, the customer's RUC on facturas and line IGV arithmetic."""
    unsigned = ubl.render(FACTURA)
    assert change[0] in unsigned
    xml = signed(signer, unsigned.replace(change[0], change[1]))
    assert fault_code(simulator, f"{KEY}.zip", make_zip(KEY, xml)) == code


def test_wrong_totals_are_an_observation(simulator, signer) -> None:
    """A PayableAmount that is not the sum is accepted with observation 4312."""
    unsigned = ubl.render(FACTURA).replace(
        b'<cbc:PayableAmount currencyID="PEN">3829.98<',
        b'<cbc:PayableAmount currencyID="PEN">3900.00<',
    )
    xml = signed(signer, unsigned)
    cdr = read_cdr_zip(
        call(simulator, lambda client: client.send_bill(f"{KEY}.zip", make_zip(KEY, xml)))
    )
    assert (cdr.response_code, cdr.observations) == (0, (4312,))


def test_signature_is_required_and_verified(simulator, good_xml) -> None:
    """An unsigned document is 1059; a document altered after signing is 2335."""
    unsigned = ubl.render(FACTURA)
    assert fault_code(simulator, f"{KEY}.zip", make_zip(KEY, unsigned)) == 1059
    altered = good_xml.replace(b"Laptop 14 pulgadas", b"Laptop 15 pulgadas")
    assert fault_code(simulator, f"{KEY}.zip", make_zip(KEY, altered)) == 2335


def test_signature_algorithm_allow_list(simulator, credentials) -> None:
    """Restricted to RSA-SHA1, the simulator refuses an RSA-SHA256 signature (2335)."""
    simulator.state.algorithms = frozenset({SignatureAlgorithm.RSA_SHA1})
    xml = Signer(credentials, SignatureAlgorithm.RSA_SHA256).sign(ubl.render(FACTURA)).xml
    assert fault_code(simulator, f"{KEY}.zip", make_zip(KEY, xml)) == 2335


def test_late_documents_are_rejected_2108(simulator, good_xml) -> None:
    """With a fake today four days after issue, a factura is out of its 3-day window."""
    simulator.state.today = FACTURA.issue_date + dt.timedelta(days=4)
    assert fault_code(simulator, f"{KEY}.zip", make_zip(KEY, good_xml)) == 2108


def test_user_must_own_the_ruc(simulator, credentials) -> None:
    """A SOL user of another RUC sending this file is 0154."""
    issuer = samples.Issuer(ruc="20600995805", legal_name="OTRA SAC", trade_name="OTRA")
    document = samples.factura(41)
    import dataclasses

    other = dataclasses.replace(document, issuer=issuer)
    xml = Signer(credentials).sign(ubl.render(other)).xml
    assert fault_code(simulator, f"{other.key}.zip", make_zip(other.key, xml)) == 154


def test_resend_after_rejection_is_1032(simulator, signer) -> None:
    """A number consumed by a rejection answers 1032 when sent again."""
    bad = signed(
        signer,
        ubl.render(FACTURA).replace(b'schemeID="6">20600995805<', b'schemeID="1">20600995805<'),
    )
    assert fault_code(simulator, f"{KEY}.zip", make_zip(KEY, bad)) == 2800
    assert fault_code(simulator, f"{KEY}.zip", make_zip(KEY, bad)) == 1032


def summary_zip(signer: Signer, document: Any, replace: tuple[bytes, bytes] | None = None) -> bytes:
    unsigned = ubl.render(document)
    if replace is not None:
        unsigned = unsigned.replace(*replace)
    return make_zip(document.key, signer.sign(unsigned).xml)


def test_summary_content_checks(simulator, signer) -> None:
    """RC/RA: ID versus name 2220, supplier RUC 1034, a second send of a name 2223."""
    rc = samples.resumen_diario(5)
    name = f"{rc.key}.zip"
    assert (
        fault_code(
            simulator,
            name,
            summary_zip(signer, rc, (b"RC-20261203-5", b"RC-20261203-6")),
            summary=True,
        )
        == 2220
    )
    assert (
        fault_code(
            simulator,
            name,
            summary_zip(
                signer,
                rc,
                (
                    b"<cbc:CustomerAssignedAccountID>20000000001<",
                    b"<cbc:CustomerAssignedAccountID>20600995805<",
                ),
            ),
            summary=True,
        )
        == 1034
    )
    ticket = call(simulator, lambda client: client.send_summary(name, summary_zip(signer, rc)))
    assert ticket.isdigit()
    assert len(ticket) == 13
    assert fault_code(simulator, name, summary_zip(signer, rc), summary=True) == 2223


def test_summary_problems_come_back_through_the_ticket(simulator, signer) -> None:
    """A wrong IssueDate (2346) or an altered signature (2335) end the ticket with 99."""
    simulator.state.polls_before_done = 0
    for sequence, change, code in (
        (6, (b"<cbc:IssueDate>2026-12-03<", b"<cbc:IssueDate>2026-12-04<"), 2346),
        (7, None, 2335),
    ):
        rc = samples.resumen_diario(sequence)
        data = (
            summary_zip(signer, rc, change)
            if change
            else make_zip(rc.key, signed(signer, ubl.render(rc)).replace(b"65.58", b"65.59", 1))
        )
        ticket = call(
            simulator, lambda client, data=data, rc=rc: client.send_summary(f"{rc.key}.zip", data)
        )
        status = call(simulator, lambda client, ticket=ticket: client.get_status(ticket))
        assert status.code == 99
        assert status.content is not None
        assert read_cdr_zip(status.content).response_code == code


def test_unknown_ticket_is_0127(simulator) -> None:
    """getStatus of a ticket the simulator never issued is fault 0127."""
    with pytest.raises(SunatFaultError) as caught:
        call(simulator, lambda client: client.get_status("1234567890123"))
    assert caught.value.code == 127


def test_voiding_a_rejected_factura_is_2398(simulator, signer) -> None:
    """An RA listing a factura SUNAT rejected ends its ticket with 99 and 2398."""
    simulator.state.polls_before_done = 0
    rejected = samples.factura(7)
    bad = signed(
        signer,
        ubl.render(rejected).replace(b'schemeID="6">20600995805<', b'schemeID="1">20600995805<'),
    )
    assert fault_code(simulator, f"{rejected.key}.zip", make_zip(rejected.key, bad)) == 2800
    ra = samples.comunicacion_baja(3)
    ticket = call(
        simulator, lambda client: client.send_summary(f"{ra.key}.zip", summary_zip(signer, ra))
    )
    status = call(simulator, lambda client: client.get_status(ticket))
    assert status.code == 99
    assert read_cdr_zip(status.content).response_code == 2398


def test_consult_service_answers_by_state(simulator, signer, good_xml) -> None:
    """getStatusCdr: 0011 unknown, 0001 accepted, 0003 after a baja, 0004 boletas, 0012 not ours."""
    simulator.state.polls_before_done = 0

    def consult(
        series: str = "F001", number: int = 40, doc_type: str = "01", ruc: str = "20000000001"
    ) -> Any:
        return call(simulator, lambda client: client.get_status_cdr(ruc, doc_type, series, number))

    assert consult().code == "0011"
    call(simulator, lambda client: client.send_bill(f"{KEY}.zip", make_zip(KEY, good_xml)))
    accepted = consult()
    assert accepted.code == "0001"
    assert read_cdr_zip(accepted.content).reference_id == "F001-40"
    assert consult(series="B001", doc_type="03").code == "0004"
    assert consult(ruc="20600995805").code == "0012"
    baja = samples.VoidCommunication(
        samples.ISSUER, FACTURA.issue_date, FACTURA.issue_date, 9,
        (samples.VoidedLine(samples.DocumentType.FACTURA, "F001", 40, "ERROR"),),
    )  # fmt: skip
    ticket = call(
        simulator, lambda client: client.send_summary(f"{baja.key}.zip", summary_zip(signer, baja))
    )
    assert call(simulator, lambda client: client.get_status(ticket)).code == 0
    assert consult().code == "0003"


def test_credentials_and_envelope_are_checked(simulator) -> None:
    """No WS-Security: 0101; bad user or password: 0102; unreadable or incomplete call: 0300."""

    async def post(body: bytes, path: str = "/billService") -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(simulator.url + path, data=body) as response,
        ):
            return response.status, await response.text()

    envelope = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        b'<sendBill xmlns="http://service.sunat.gob.pe"/></s:Body></s:Envelope>'
    )
    status, text = asyncio.run(post(envelope))
    assert (status, "Client.0101" in text) == (500, True)
    status, text = asyncio.run(post(b"garbage"))
    assert (status, "Client.0300" in text) == (500, True)
    with pytest.raises(SunatFaultError) as caught:
        call(simulator, lambda client: client.get_status("1"), sol_password="wrong")  # noqa: S106 - a wrong password on purpose
    assert caught.value.code == 102
    with pytest.raises(SunatFaultError) as caught:
        call(simulator, lambda client: client.send_bill("", b""))
    assert caught.value.code == 300


def test_wsdls_and_admin_endpoints(simulator) -> None:
    """The bundled WSDLs are served; rules, config, state and reset work over HTTP."""

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.get(simulator.bill_url + "?wsdl") as response:
                assert "BillServicePortBinding" in await response.text()
            async with session.get(
                simulator.url + "/ol-it-wsconscpegem/billConsultService?wsdl"
            ) as response:
                assert "getStatusCdr" in await response.text()
            async with session.post(
                simulator.url + "/admin/rules", json=[{"kind": "http", "status": 502}]
            ) as response:
                assert response.status == 201
            async with session.post(
                simulator.url + "/admin/rules", json={"kind": "nope"}
            ) as response:
                assert response.status == 400
            async with session.post(
                simulator.url + "/admin/rules", json={"kind": "empty", "colour": 1}
            ) as response:
                assert response.status == 400
            async with session.post(
                simulator.url + "/admin/config",
                json={"polls_before_done": 0, "today": "2026-12-05", "reject_with_fault": False},
            ) as response:
                assert response.status == 200
            async with session.post(
                simulator.url + "/admin/config", json={"today": "yesterday"}
            ) as response:
                assert response.status == 400
            async with session.get(simulator.url + "/admin/state") as response:
                assert (await response.json())["rules"] == 1
            async with session.delete(simulator.url + "/admin/rules") as response:
                assert (await response.json()) == {"rules": 0}
            async with session.post(simulator.url + "/admin/reset") as response:
                assert response.status == 200

    asyncio.run(scenario())
    assert simulator.state.polls_before_done == 0
    assert simulator.state.today == dt.date(2026, 12, 5)
    assert simulator.state.reject_with_fault is False


def test_consult_get_status_has_no_cdr(simulator, good_xml) -> None:
    """billConsultService getStatus answers the status without the CDR content."""
    call(simulator, lambda client: client.send_bill(f"{KEY}.zip", make_zip(KEY, good_xml)))

    async def status(client: SunatClient) -> str:
        answer = await client._call(
            simulator.consult_url,
            "getStatus",
            {
                "rucComprobante": "20000000001",
                "tipoComprobante": "01",
                "serieComprobante": "F001",
                "numeroComprobante": "40",
            },
        )
        from facturacion import xmlsafe

        assert xmlsafe.text_of(answer, "status", "content") is None
        return xmlsafe.text_of(answer, "status", "statusCode") or ""

    assert call(simulator, status) == "0001"
    assert base64  # keep the import for readers of the raw protocol
