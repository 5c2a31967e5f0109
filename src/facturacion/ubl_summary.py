"""UBL 2.0 XML for the resumen diario (RC, customization 1.1) and the baja (RA, 1.0)."""

from __future__ import annotations

from typing import Final

from lxml import etree

from facturacion.catalogs import IGV
from facturacion.summaries import DailySummary, SummaryLine, VoidCommunication
from facturacion.xmlbuild import (
    amount,
    extension_slot,
    root,
    serialize,
    signature_reference,
    sub,
    summary_supplier,
    tax_scheme,
)

_SUMMARY: Final = "urn:sunat:names:specification:ubl:peru:schema:xsd:SummaryDocuments-1"
_VOIDED: Final = "urn:sunat:names:specification:ubl:peru:schema:xsd:VoidedDocuments-1"

# sac:BillingPayment/cbc:InstructionID per operation class (RC customization 1.1).
_PAYMENT_INSTRUCTIONS: Final = (
    ("gravado", "01"),
    ("exonerado", "02"),
    ("inafecto", "03"),
    ("gratuito", "05"),
)


def _heading(namespace: str, tag: str, customization: str,
             document: DailySummary | VoidCommunication) -> etree._Element:
    """The root and what both kinds of summary document start with: versions, their own id,
    the date of the receipts they cover, the date they are sent, signature and issuer."""
    xml = root(namespace, tag)
    extension_slot(xml)
    sub(xml, "cbc:UBLVersionID", "2.0")
    sub(xml, "cbc:CustomizationID", customization)
    sub(xml, "cbc:ID", document.document_id)
    sub(xml, "cbc:ReferenceDate", document.reference_date.isoformat())
    sub(xml, "cbc:IssueDate", document.issue_date.isoformat())
    signature_reference(xml, document.issuer)
    summary_supplier(xml, document.issuer)
    return xml


def build_daily_summary(summary: DailySummary) -> bytes:
    xml = _heading(_SUMMARY, "SummaryDocuments", "1.1", summary)
    for number, line in enumerate(summary.lines, start=1):
        _summary_line(sub(xml, "sac:SummaryDocumentsLine"), number, line)
    return serialize(xml)


def _summary_line(node: etree._Element, number: int, line: SummaryLine) -> None:
    currency = line.currency
    sub(node, "cbc:LineID", str(number))
    sub(node, "cbc:DocumentTypeCode", line.document_type.value)
    sub(node, "cbc:ID", line.document_id)
    customer = sub(node, "cac:AccountingCustomerParty")
    sub(customer, "cbc:CustomerAssignedAccountID", line.customer.number)
    sub(customer, "cbc:AdditionalAccountID", line.customer.identity_type.value)
    if line.reference is not None:
        billing = sub(sub(node, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        sub(billing, "cbc:ID", line.reference.document_id)
        sub(billing, "cbc:DocumentTypeCode", line.reference.document_type.value)
    sub(sub(node, "cac:Status"), "cbc:ConditionCode", line.condition.value)
    amount(node, "sac:TotalAmount", line.total, currency)
    for attribute, instruction in _PAYMENT_INSTRUCTIONS:
        value = getattr(line, attribute)
        if value:
            payment = sub(node, "sac:BillingPayment")
            amount(payment, "cbc:PaidAmount", value, currency)
            sub(payment, "cbc:InstructionID", instruction)
    tax = sub(node, "cac:TaxTotal")
    amount(tax, "cbc:TaxAmount", line.igv, currency)
    subtotal = sub(tax, "cac:TaxSubtotal")
    amount(subtotal, "cbc:TaxAmount", line.igv, currency)
    tax_scheme(sub(subtotal, "cac:TaxCategory"), IGV)


def build_void_communication(communication: VoidCommunication) -> bytes:
    xml = _heading(_VOIDED, "VoidedDocuments", "1.0", communication)
    for number, line in enumerate(communication.lines, start=1):
        node = sub(xml, "sac:VoidedDocumentsLine")
        sub(node, "cbc:LineID", str(number))
        sub(node, "cbc:DocumentTypeCode", line.document_type.value)
        sub(node, "sac:DocumentSerialID", line.series)
        sub(node, "sac:DocumentNumberID", str(line.number))
        sub(node, "sac:VoidReasonDescription", line.reason)
    return serialize(xml)
