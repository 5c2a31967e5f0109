"""What the simulator checks in a received file, in SUNAT's order, with SUNAT's codes.

Envelope-level problems (name, zip, XML, name vs content, signature) raise
``SimulatedFault``; business rules produce a ``Verdict`` (rejection code or notes).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from lxml import etree

from facturacion import signing, xmlsafe
from facturacion.errors import SignatureError, UnreadableResponseError
from facturacion.packaging import BILL_NAME, SUMMARY_NAME, read_zip
from facturacion.simulator.cdrs import Verdict, accepted_text

_ROOT_TYPES: Final = {"CreditNote": "07", "DebitNote": "08"}
_EXPORT_OPERATIONS: Final = {"0200", "0201"}
# Calendar days after the issue date within which SUNAT still accepts the document.
_DEADLINE_DAYS: Final = {"F": 3, "B": 5}
_TOLERANCE: Final = Decimal("0.01")


class SimulatedFault(Exception):  # noqa: N818 - it is an answer, not an error of ours
    def __init__(self, code: int, message: str, *, client: bool = True) -> None:
        super().__init__(f"{code:04d} - {message}")
        self.code = code
        self.message = message
        self.client = client


@dataclass(frozen=True)
class Received:
    name: str  # file name without .zip
    fields: dict[str, str]  # the file name's parts: ruc, type, series/date, number
    xml: bytes
    root: etree._Element

    @property
    def ruc(self) -> str:
        return self.fields["ruc"]


def open_file(file_name: str, content: str, *, summary: bool) -> Received:
    """File name, base64, zip and XML checks (01xx/03xx codes)."""
    own, other = (SUMMARY_NAME, BILL_NAME) if summary else (BILL_NAME, SUMMARY_NAME)
    base = file_name.removesuffix(".zip")
    match = own.fullmatch(base)
    if not file_name.endswith(".zip") or match is None:
        if other.fullmatch(base):
            raise SimulatedFault(153 if summary else 152, "No se puede enviar por este método")
        raise SimulatedFault(151, "El nombre del archivo ZIP es incorrecto")
    try:
        data = base64.b64decode(content, validate=True)
    except binascii.Error as error:
        raise SimulatedFault(156, "El archivo ZIP esta corrupto") from error
    if not data:
        raise SimulatedFault(155, "El archivo ZIP esta vacio")
    try:
        zipped = read_zip(data, "the zip")
    except UnreadableResponseError as error:
        raise SimulatedFault(156, f"El archivo ZIP esta corrupto: {error}") from error
    if zipped.name != f"{base}.xml":
        raise SimulatedFault(
            161, "El nombre del archivo XML no coincide con el nombre del archivo ZIP"
        )
    try:
        root = xmlsafe.parse(zipped.xml, "the XML")
    except UnreadableResponseError as error:
        raise SimulatedFault(306, "No se puede leer (parsear) el archivo XML") from error
    return Received(base, match.groupdict(), zipped.xml, root)


def check_signature(received: Received, allowed: frozenset[signing.SignatureAlgorithm]) -> None:
    if (
        not xmlsafe.iter_local(received.root, "Signature")
        or received.xml.find(b"SignatureValue") < 0
    ):
        raise SimulatedFault(1059, "No se encontro la firma digital (ds:Signature)")
    try:
        signing.verify(received.xml, allowed)
    except SignatureError as error:
        raise SimulatedFault(
            2335, f"El documento electronico ingresado ha sido alterado: {error}"
        ) from error


def check_bill(received: Received) -> tuple[str, str | None]:
    """Name versus content for 01/03/07/08; returns the document ID and the customer."""
    root, fields = received.root, received.fields
    kind = xmlsafe.local_name(root)
    declared = _ROOT_TYPES.get(kind) or xmlsafe.text_of(root, "InvoiceTypeCode")
    if kind not in {"Invoice", "CreditNote", "DebitNote"} or declared != fields["type"]:
        raise SimulatedFault(1003, "El tipo de comprobante no coincide con el nombre del archivo")
    if xmlsafe.text_of(root, "UBLVersionID") != "2.1":
        raise SimulatedFault(2074, "UBLVersionID - La version del UBL no es correcta")
    if xmlsafe.text_of(root, "CustomizationID") != "2.0":
        raise SimulatedFault(2072, "CustomizationID - La version del documento no es la correcta")
    document_id = xmlsafe.text_of(root, "ID") or ""
    series, _, number = document_id.partition("-")
    if series != fields["series"]:
        raise SimulatedFault(
            1035, "Numero de serie del nombre del archivo no coincide con el contenido"
        )
    if number != fields["number"]:
        raise SimulatedFault(
            1036, "Numero de comprobante del nombre del archivo no coincide con el contenido"
        )
    supplier = xmlsafe.text_of(
        root, "AccountingSupplierParty", "Party", "PartyIdentification", "ID"
    )
    if supplier != fields["ruc"]:
        raise SimulatedFault(
            1034, "Numero de RUC del nombre del archivo no coincide con el del contenido"
        )
    customer = xmlsafe.find_local(
        root, "AccountingCustomerParty", "Party", "PartyIdentification", "ID"
    )
    shown = (
        None
        if customer is None
        else f"{customer.get('schemeID', '-')}-{(customer.text or '').strip()}"
    )
    return document_id, shown


def judge_bill(received: Received, document_id: str, today: dt.date | None) -> Verdict:
    """Business rules: deadline, customer RUC on facturas, IGV arithmetic, totals, names."""
    root, fields = received.root, received.fields
    issued = _date(xmlsafe.text_of(root, "IssueDate"))
    letter = fields["series"][0]
    if today is not None and issued is not None and (today - issued).days > _DEADLINE_DAYS[letter]:
        return Verdict(2108, "Presentacion fuera de fecha")
    customer = xmlsafe.find_local(
        root, "AccountingCustomerParty", "Party", "PartyIdentification", "ID"
    )
    type_code = xmlsafe.find_local(root, "InvoiceTypeCode")
    operation = "" if type_code is None else type_code.get("listID", "")
    if (
        letter == "F"
        and operation not in _EXPORT_OPERATIONS
        and (customer is None or customer.get("schemeID") != "6")
    ):
        return Verdict(
            2800,
            "El tipo de documento de identidad del receptor no esta permitido",
        )
    for line in _lines(root):
        for subtotal in xmlsafe.iter_local(line, "TaxSubtotal"):
            if xmlsafe.text_of(subtotal, "TaxCategory", "TaxScheme", "ID") != "1000":
                continue
            base = _amount(xmlsafe.text_of(subtotal, "TaxableAmount"))
            tax = _amount(xmlsafe.text_of(subtotal, "TaxAmount"))
            percent = _amount(xmlsafe.text_of(subtotal, "TaxCategory", "Percent"))
            if abs(base * percent / 100 - tax) > _TOLERANCE:
                return Verdict(
                    3103,
                    "El IGV de la linea no es la base imponible por la tasa",
                )
    notes: list[str] = []
    totals = xmlsafe.find_local(root, "LegalMonetaryTotal")
    if totals is None:
        totals = xmlsafe.find_local(root, "RequestedMonetaryTotal")
    if totals is not None:
        expected = _amount(xmlsafe.text_of(totals, "LineExtensionAmount")) + _amount(
            xmlsafe.text_of(root, "TaxTotal", "TaxAmount")
        )
        if abs(expected - _amount(xmlsafe.text_of(totals, "PayableAmount"))) > _TOLERANCE:
            notes.append("4312 - El importe total no es la suma del valor de venta y los tributos")
    if xmlsafe.find_local(root, "AccountingSupplierParty", "Party", "PartyName") is None:
        # The observation real SUNAT CDRs carry for a missing nombre comercial.
        notes.append("4031 - Debe indicar el nombre comercial")
    return Verdict(0, accepted_text(fields["type"], document_id), tuple(notes))


def identity(received: Received) -> tuple[dt.date | None, Decimal | None]:
    """Issue date and total: what the Consulta Integrada asks besides the number."""
    totals = xmlsafe.find_local(received.root, "LegalMonetaryTotal")
    if totals is None:
        totals = xmlsafe.find_local(received.root, "RequestedMonetaryTotal")
    payable = None if totals is None else xmlsafe.text_of(totals, "PayableAmount")
    total = None if payable is None else _amount(payable)
    return _date(xmlsafe.text_of(received.root, "IssueDate")), total


def check_summary(received: Received) -> str:
    """Name versus content for RC/RA; returns the document ID."""
    root, fields = received.root, received.fields
    expected_root = "SummaryDocuments" if fields["type"] == "RC" else "VoidedDocuments"
    if xmlsafe.local_name(root) != expected_root:
        raise SimulatedFault(1003, "El tipo de documento no coincide con el nombre del archivo")
    document_id = xmlsafe.text_of(root, "ID") or ""
    if document_id != f"{fields['type']}-{fields['date']}-{fields['number']}":
        raise SimulatedFault(2220, "El ID del documento no coincide con el nombre del archivo")
    supplier = xmlsafe.text_of(root, "AccountingSupplierParty", "CustomerAssignedAccountID")
    if supplier != fields["ruc"]:
        raise SimulatedFault(
            1034, "Numero de RUC del nombre del archivo no coincide con el del contenido"
        )
    return document_id


def judge_summary(received: Received, document_id: str) -> Verdict:
    fields = received.fields
    issued = xmlsafe.text_of(received.root, "IssueDate") or ""
    if issued.replace("-", "") != fields["date"]:
        code = 2346 if fields["type"] == "RC" else 2330
        return Verdict(
            code,
            "La fecha de generacion no coincide con la del nombre del archivo",
        )
    return Verdict(0, accepted_text(fields["type"], document_id))


def summary_lines(received: Received) -> list[tuple[str, str, str]]:
    """(document type, series-number, condition) per line; RA lines void (condition 3)."""
    found = []
    for line in _lines(received.root):
        doc_type = xmlsafe.text_of(line, "DocumentTypeCode") or ""
        if received.fields["type"] == "RC":
            found.append(
                (
                    doc_type,
                    xmlsafe.text_of(line, "ID") or "",
                    xmlsafe.text_of(line, "Status", "ConditionCode") or "1",
                )
            )
        else:
            series = xmlsafe.text_of(line, "DocumentSerialID") or ""
            number = xmlsafe.text_of(line, "DocumentNumberID") or ""
            found.append((doc_type, f"{series}-{number}", "3"))
    return found


def _lines(root: etree._Element) -> list[etree._Element]:
    names = {
        "InvoiceLine",
        "CreditNoteLine",
        "DebitNoteLine",
        "SummaryDocumentsLine",
        "VoidedDocumentsLine",
    }
    return [
        child for child in root if isinstance(child.tag, str) and xmlsafe.local_name(child) in names
    ]


def _amount(text: str | None) -> Decimal:
    try:
        return Decimal(text or "0")
    except InvalidOperation:
        return Decimal(0)


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text or "")
    except ValueError:
        return None
