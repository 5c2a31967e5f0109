"""UBL builders: the shape, codes and amounts SUNAT reads, for every document type."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from lxml import etree

from facturacion import samples, ubl
from facturacion.summaries import SummaryLine
from facturacion.xmlbuild import PREFIXES

NS = {**PREFIXES, "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"}


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def texts(root: etree._Element, path: str) -> list[str]:
    return [
        str(node.text if isinstance(node, etree._Element) else node)
        for node in root.xpath(path, namespaces=NS)
    ]


def test_factura_carries_header_codes_parties_and_totals() -> None:
    """A factura: versions 2.1/2.0, ID, type 01 with operation 0101, legend, parties, totals."""
    doc = parse(ubl.build_comprobante(samples.factura()))
    assert etree.QName(doc).localname == "Invoice"
    assert texts(doc, "cbc:UBLVersionID") == ["2.1"]
    assert texts(doc, "cbc:CustomizationID") == ["2.0"]
    assert texts(doc, "cbc:ID") == ["F001-1"]
    assert texts(doc, "cbc:IssueTime") == ["10:30:00"]
    assert texts(doc, "cbc:InvoiceTypeCode") == ["01"]
    assert texts(doc, "cbc:InvoiceTypeCode/@listID") == ["0101"]
    assert texts(doc, "cbc:Note[@languageLocaleID='1000']") == [
        "SON: TRES MIL OCHOCIENTOS VEINTINUEVE CON 98/100 SOLES"
    ]
    assert texts(doc, "cac:AccountingSupplierParty//cbc:ID/@schemeID") == ["6"]
    assert texts(doc, "cac:AccountingSupplierParty//cbc:AddressTypeCode") == ["0000"]
    assert texts(doc, "cac:AccountingCustomerParty//cbc:ID") == ["20600995805"]
    assert texts(doc, "cac:PaymentTerms/cbc:PaymentMeansID") == ["Contado"]
    assert texts(doc, "cac:TaxTotal/cbc:TaxAmount") == ["572.03"]
    assert texts(doc, "cac:TaxTotal/cac:TaxSubtotal//cbc:ID") == ["1000", "9997"]
    assert texts(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["3829.98"]
    assert set(texts(doc, "//@currencyID")) == {"PEN"}
    # The signature slot is the first child and empty.
    assert texts(doc, "cac:Signature/cac:DigitalSignatureAttachment//cbc:URI") == ["#SignatureSP"]
    assert (
        len(doc.xpath("ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent/*", namespaces=NS))
        == 0
    )


def test_invoice_lines_carry_prices_and_exemption_codes() -> None:
    """Each line: quantity with unit, value without IGV, price with IGV, catálogo 07 code."""
    doc = parse(ubl.build_comprobante(samples.factura()))
    first, _, third = doc.xpath("cac:InvoiceLine", namespaces=NS)
    assert texts(first, "cbc:InvoicedQuantity") == ["2.00"]
    assert texts(first, "cbc:InvoicedQuantity/@unitCode") == ["NIU"]
    assert texts(first, "cbc:LineExtensionAmount") == ["3050.84"]
    assert texts(first, ".//cbc:PriceTypeCode") == ["01"]
    assert texts(first, "cac:PricingReference//cbc:PriceAmount") == ["1799.9956"]
    assert texts(first, "cac:Price/cbc:PriceAmount") == ["1525.42"]
    assert texts(first, ".//cbc:TaxExemptionReasonCode") == ["10"]
    assert texts(first, ".//cbc:Percent") == ["18.00"]
    assert texts(first, "cac:TaxTotal/cbc:TaxAmount") == ["549.15"]
    assert texts(first, "cac:Item/cac:SellersItemIdentification/cbc:ID") == ["LAP-14"]
    assert texts(third, ".//cbc:TaxExemptionReasonCode") == ["20"]
    assert texts(third, ".//cbc:Percent") == ["0.00"]
    assert texts(third, ".//cac:TaxScheme/cbc:Name") == ["EXO"]


def test_credit_sale_lists_instalments() -> None:
    """Credito: the total owed, then Cuota001.. with amounts and due dates."""
    doc = parse(ubl.build_comprobante(samples.factura_credito()))
    assert texts(doc, "cac:PaymentTerms/cbc:PaymentMeansID") == ["Credito", "Cuota001", "Cuota002"]
    assert texts(doc, "cac:PaymentTerms/cbc:Amount") == ["3829.98", "2000.00", "1829.98"]
    assert texts(doc, "cac:PaymentTerms/cbc:PaymentDueDate") == ["2027-01-02", "2027-02-01"]


def test_boleta_is_an_invoice_of_type_03() -> None:
    """A boleta is an Invoice with type code 03 and a DNI customer."""
    doc = parse(ubl.build_comprobante(samples.boleta()))
    assert texts(doc, "cbc:InvoiceTypeCode") == ["03"]
    assert texts(doc, "cac:AccountingCustomerParty//cbc:ID/@schemeID") == ["1"]
    assert texts(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["65.58"]


def test_credit_note_references_the_affected_document() -> None:
    """A CreditNote carries the reason (catálogo 09) and the affected factura."""
    doc = parse(ubl.build_comprobante(samples.nota_credito()))
    assert etree.QName(doc).localname == "CreditNote"
    assert texts(doc, "cac:DiscrepancyResponse/cbc:ReferenceID") == ["F001-1"]
    assert texts(doc, "cac:DiscrepancyResponse/cbc:ResponseCode") == ["07"]
    assert texts(doc, "cac:BillingReference//cbc:DocumentTypeCode") == ["01"]
    assert texts(doc, "*[local-name()='CreditNoteLine']/*[local-name()='CreditedQuantity']") == [
        "3.00"
    ]
    assert doc.xpath("cac:PaymentTerms", namespaces=NS) == []
    assert doc.xpath("cbc:InvoiceTypeCode", namespaces=NS) == []


def test_debit_note_uses_requested_monetary_total() -> None:
    """A DebitNote totals in RequestedMonetaryTotal and lines in DebitedQuantity."""
    doc = parse(ubl.build_comprobante(samples.nota_debito()))
    assert etree.QName(doc).localname == "DebitNote"
    assert texts(doc, "cac:RequestedMonetaryTotal/cbc:PayableAmount") == ["29.50"]
    assert texts(doc, "cac:DiscrepancyResponse/cbc:ResponseCode") == ["01"]
    assert len(doc.xpath("cac:DebitNoteLine/cbc:DebitedQuantity", namespaces=NS)) == 1


def test_daily_summary_lists_boletas_and_notes() -> None:
    """RC: UBL 2.0/1.1, RC-YYYYMMDD-n, one line per document with condition and totals."""
    doc = parse(ubl.render(samples.resumen_diario()))
    assert etree.QName(doc).localname == "SummaryDocuments"
    assert texts(doc, "cbc:CustomizationID") == ["1.1"]
    assert texts(doc, "cbc:ID") == ["RC-20261203-1"]
    assert texts(doc, "cac:AccountingSupplierParty/cbc:CustomerAssignedAccountID") == [
        "20000000001"
    ]
    lines = doc.xpath("sac:SummaryDocumentsLine", namespaces=NS)
    assert [texts(line, "cbc:DocumentTypeCode")[0] for line in lines] == ["03", "03", "07", "03"]
    assert [texts(line, "cac:Status/cbc:ConditionCode")[0] for line in lines] == [
        "1",
        "1",
        "1",
        "3",
    ]
    assert texts(lines[0], "sac:TotalAmount") == ["65.58"]
    assert texts(lines[0], "sac:BillingPayment/cbc:InstructionID") == ["01"]
    assert texts(lines[2], "cac:BillingReference//cbc:ID") == ["B001-1"]


def test_void_communication_lists_series_and_numbers() -> None:
    """RA: UBL 2.0/1.0, one line per voided document with its reason."""
    doc = parse(ubl.render(samples.comunicacion_baja()))
    assert etree.QName(doc).localname == "VoidedDocuments"
    assert texts(doc, "cbc:CustomizationID") == ["1.0"]
    assert texts(doc, "cbc:ReferenceDate") == ["2026-12-02"]
    assert texts(doc, "sac:VoidedDocumentsLine/sac:DocumentSerialID") == ["F001", "FC01"]
    assert texts(doc, "sac:VoidedDocumentsLine/sac:DocumentNumberID") == ["7", "2"]


def test_builders_are_deterministic() -> None:
    """The same model gives the same bytes: how a second dispatch is recognised."""
    assert ubl.render(samples.factura()) == ubl.render(samples.factura())


def test_render_refuses_foreign_objects() -> None:
    """Rendering something that is not a document says what to pass."""
    import pytest

    with pytest.raises(TypeError, match="Comprobante"):
        ubl.render("F001-1")


def test_free_items_are_referenced_not_charged() -> None:
    """Free lines: reference value with PriceTypeCode 02, price 0, tax scheme 9996 (GRA);
    their value and IGV stay out of the totals the buyer pays; legend 1002 is added."""
    document = samples.factura_con_obsequio()
    assert document.line_extension == Decimal("850.00")
    assert document.tax_total == Decimal("153.00")
    assert document.payable == Decimal("1003.00")
    doc = parse(ubl.build_comprobante(document))
    assert texts(doc, "cbc:Note/@languageLocaleID") == ["1000", "1002"]
    assert texts(doc, "cac:TaxTotal/cbc:TaxAmount") == ["153.00"]
    subtotals = doc.xpath("cac:TaxTotal/cac:TaxSubtotal", namespaces=NS)
    assert [texts(s, ".//cac:TaxScheme/cbc:ID")[0] for s in subtotals] == ["1000", "9996"]
    assert texts(subtotals[1], "cbc:TaxableAmount") == ["270.00"]
    assert texts(subtotals[1], "cbc:TaxAmount") == ["43.20"]
    assert texts(doc, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount") == ["850.00"]
    assert texts(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["1003.00"]
    _, toner, manual = doc.xpath("cac:InvoiceLine", namespaces=NS)
    assert texts(toner, ".//cbc:PriceTypeCode") == ["02"]
    assert texts(toner, "cac:PricingReference//cbc:PriceAmount") == ["120.00"]
    assert texts(toner, "cac:Price/cbc:PriceAmount") == ["0.00"]
    assert texts(toner, "cbc:LineExtensionAmount") == ["240.00"]
    assert texts(toner, "cac:TaxTotal/cbc:TaxAmount") == ["43.20"]
    assert texts(toner, ".//cbc:Percent") == ["18.00"]
    assert texts(toner, ".//cac:TaxScheme/cbc:Name") == ["GRA"]
    assert texts(manual, ".//cbc:TaxExemptionReasonCode") == ["21"]
    assert texts(manual, "cac:TaxTotal/cbc:TaxAmount") == ["0.00"]
    assert texts(manual, ".//cbc:Percent") == ["0.00"]


def test_summary_reports_free_values_as_instruction_05() -> None:
    """A boleta with a free item reports its reference value as BillingPayment 05."""
    boleta = samples.boleta()
    line = samples.Line("Llavero (obsequio)", Decimal(1), Decimal("5.00"), affectation="15")
    with_gift = dataclasses.replace(boleta, lines=(*boleta.lines, line))
    summary = dataclasses.replace(samples.resumen_diario(), lines=(SummaryLine.of(with_gift),))
    doc = parse(ubl.render(summary))
    assert texts(doc, "//sac:BillingPayment/cbc:InstructionID") == ["01", "05"]
    assert texts(doc, "//sac:BillingPayment/cbc:PaidAmount") == ["55.57", "5.00"]
