"""UBL 2.1 XML for facturas, boletas and notes (the shape SUNAT's guide and greenter use).

The builders are pure: the same model always gives the same bytes, which is what lets
the service recognise a second dispatch of the same document.
"""

from __future__ import annotations

from typing import Final

from lxml import etree

from facturacion.amounts import amount_in_words, unit_text
from facturacion.catalogs import (
    AFFECTATIONS,
    FREE_TRANSFER_TEXT,
    IGV_PERCENT,
    LEGEND_AMOUNT_IN_WORDS,
    LEGEND_FREE_TRANSFER,
    PRICE_WITH_TAX,
    REFERENCE_VALUE,
    DocumentType,
)
from facturacion.model import Comprobante, Line, NoteReference
from facturacion.xmlbuild import (
    amount,
    extension_slot,
    root,
    serialize,
    signature_reference,
    sub,
    tax_scheme,
)

_INVOICE: Final = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_CREDIT_NOTE: Final = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_DEBIT_NOTE: Final = "urn:oasis:names:specification:ubl:schema:xsd:DebitNote-2"

# Root, line element and quantity element per document type.
_SHAPES: Final = {
    DocumentType.FACTURA: (_INVOICE, "Invoice", "InvoiceLine", "InvoicedQuantity"),
    DocumentType.BOLETA: (_INVOICE, "Invoice", "InvoiceLine", "InvoicedQuantity"),
    DocumentType.NOTA_CREDITO: (_CREDIT_NOTE, "CreditNote", "CreditNoteLine", "CreditedQuantity"),
    DocumentType.NOTA_DEBITO: (_DEBIT_NOTE, "DebitNote", "DebitNoteLine", "DebitedQuantity"),
}


def build_comprobante(document: Comprobante) -> bytes:
    """The unsigned XML of a factura, boleta or note, with an empty signature slot."""
    namespace, root_name, line_name, quantity_name = _SHAPES[document.document_type]
    xml = root(namespace, root_name)
    currency = document.currency
    extension_slot(xml)
    sub(xml, "cbc:UBLVersionID", "2.1")
    sub(xml, "cbc:CustomizationID", "2.0")
    sub(xml, "cbc:ID", document.document_id)
    sub(xml, "cbc:IssueDate", document.issue_date.isoformat())
    if document.issue_time is not None:
        sub(xml, "cbc:IssueTime", document.issue_time.strftime("%H:%M:%S"))
    if not document.is_note:
        sub(
            xml,
            "cbc:InvoiceTypeCode",
            document.document_type.value,
            listID=document.operation_type.value,
        )
    legend = amount_in_words(document.payable, currency)
    sub(xml, "cbc:Note", legend, languageLocaleID=LEGEND_AMOUNT_IN_WORDS)
    if document.has_free_items:
        sub(xml, "cbc:Note", FREE_TRANSFER_TEXT, languageLocaleID=LEGEND_FREE_TRANSFER)
    sub(xml, "cbc:DocumentCurrencyCode", currency)
    if document.reference is not None:
        _note_reference(xml, document.reference)
    signature_reference(xml, document.issuer)
    _supplier(xml, document)
    _customer(xml, document)
    if not document.is_note:
        _payment_terms(xml, document)
    _tax_total(xml, document)
    totals_name = (
        "cac:RequestedMonetaryTotal" if root_name == "DebitNote" else "cac:LegalMonetaryTotal"
    )
    totals = sub(xml, totals_name)
    amount(totals, "cbc:LineExtensionAmount", document.line_extension, currency)
    amount(totals, "cbc:TaxInclusiveAmount", document.payable, currency)
    amount(totals, "cbc:PayableAmount", document.payable, currency)
    for number, line in enumerate(document.lines, start=1):
        _line(xml, f"cac:{line_name}", f"cbc:{quantity_name}", number, line, currency=currency)
    return serialize(xml)


def _note_reference(xml: etree._Element, reference: NoteReference) -> None:
    discrepancy = sub(xml, "cac:DiscrepancyResponse")
    sub(discrepancy, "cbc:ReferenceID", reference.document_id)
    sub(discrepancy, "cbc:ResponseCode", reference.reason_code)
    sub(discrepancy, "cbc:Description", reference.reason)
    billing = sub(sub(xml, "cac:BillingReference"), "cac:InvoiceDocumentReference")
    sub(billing, "cbc:ID", reference.document_id)
    sub(billing, "cbc:DocumentTypeCode", reference.document_type.value)


def _supplier(xml: etree._Element, document: Comprobante) -> None:
    issuer = document.issuer
    party = sub(sub(xml, "cac:AccountingSupplierParty"), "cac:Party")
    sub(sub(party, "cac:PartyIdentification"), "cbc:ID", issuer.ruc, schemeID="6")
    if issuer.trade_name:
        sub(sub(party, "cac:PartyName"), "cbc:Name", issuer.trade_name)
    legal = sub(party, "cac:PartyLegalEntity")
    sub(legal, "cbc:RegistrationName", issuer.legal_name)
    address = sub(legal, "cac:RegistrationAddress")
    sub(address, "cbc:AddressTypeCode", issuer.address_code)


def _customer(xml: etree._Element, document: Comprobante) -> None:
    customer = document.customer
    party = sub(sub(xml, "cac:AccountingCustomerParty"), "cac:Party")
    identification = sub(party, "cac:PartyIdentification")
    sub(identification, "cbc:ID", customer.number, schemeID=customer.identity_type.value)
    sub(sub(party, "cac:PartyLegalEntity"), "cbc:RegistrationName", customer.name)


def _payment_terms(xml: etree._Element, document: Comprobante) -> None:
    terms = sub(xml, "cac:PaymentTerms")
    sub(terms, "cbc:ID", "FormaPago")
    sub(terms, "cbc:PaymentMeansID", document.payment.form.value)
    if not document.payment.installments:
        return
    amount(terms, "cbc:Amount", document.payable, document.currency)
    for index, installment in enumerate(document.payment.installments, start=1):
        quota = sub(xml, "cac:PaymentTerms")
        sub(quota, "cbc:ID", "FormaPago")
        sub(quota, "cbc:PaymentMeansID", f"Cuota{index:03d}")
        amount(quota, "cbc:Amount", installment.amount, document.currency)
        sub(quota, "cbc:PaymentDueDate", installment.due_date.isoformat())


def _tax_total(xml: etree._Element, document: Comprobante) -> None:
    total = sub(xml, "cac:TaxTotal")
    amount(total, "cbc:TaxAmount", document.tax_total, document.currency)
    for subtotal in document.subtotals:
        node = sub(total, "cac:TaxSubtotal")
        amount(node, "cbc:TaxableAmount", subtotal.taxable, document.currency)
        amount(node, "cbc:TaxAmount", subtotal.tax, document.currency)
        tax_scheme(sub(node, "cac:TaxCategory"), subtotal.tributo)


def _line(
    xml: etree._Element, line_tag: str, quantity_tag: str, number: int, line: Line, *, currency: str
) -> None:
    node = sub(xml, line_tag)
    sub(node, "cbc:ID", str(number))
    sub(node, quantity_tag, unit_text(line.quantity), unitCode=line.unit_code)
    amount(node, "cbc:LineExtensionAmount", line.base, currency)
    pricing = sub(sub(node, "cac:PricingReference"), "cac:AlternativeConditionPrice")
    sub(pricing, "cbc:PriceAmount", unit_text(line.unit_price), currencyID=currency)
    sub(pricing, "cbc:PriceTypeCode", REFERENCE_VALUE if line.free else PRICE_WITH_TAX)
    tax = sub(node, "cac:TaxTotal")
    amount(tax, "cbc:TaxAmount", line.igv, currency)
    subtotal = sub(tax, "cac:TaxSubtotal")
    amount(subtotal, "cbc:TaxableAmount", line.base, currency)
    amount(subtotal, "cbc:TaxAmount", line.igv, currency)
    category = sub(subtotal, "cac:TaxCategory")
    charges = AFFECTATIONS[line.affectation].charges_igv
    sub(category, "cbc:Percent", f"{IGV_PERCENT if charges else 0:.2f}")
    sub(category, "cbc:TaxExemptionReasonCode", line.affectation)
    tax_scheme(category, line.tributo)
    item = sub(node, "cac:Item")
    sub(item, "cbc:Description", line.description)
    if line.product_code:
        sub(sub(item, "cac:SellersItemIdentification"), "cbc:ID", line.product_code)
    price = unit_text(line.charged_unit_value)
    sub(sub(node, "cac:Price"), "cbc:PriceAmount", price, currencyID=currency)


def render(document: object) -> bytes:
    """The unsigned XML of any document this package issues."""
    from facturacion.summaries import DailySummary, VoidCommunication
    from facturacion.ubl_summary import build_daily_summary, build_void_communication

    if isinstance(document, Comprobante):
        return build_comprobante(document)
    if isinstance(document, DailySummary):
        return build_daily_summary(document)
    if isinstance(document, VoidCommunication):
        return build_void_communication(document)
    raise TypeError(f"cannot render {type(document).__name__}; pass a Comprobante or a summary")
