"""The printed representation of a receipt (representación impresa) as a PDF.

What SUNAT requires on the paper copy: the document title and number, issuer and
customer, the lines and totals, the amount in words, the digest value of the signed
XML (the "hash") and a QR code whose content is
``RUC|TIPO|SERIE|NUMERO|IGV|TOTAL|FECHA|TIPO_DOC_CLIENTE|NUM_DOC_CLIENTE|``. Rendered
after signing, since the digest comes from the signed bytes.

fpdf2's core fonts cover Latin-1, which holds Spanish; any other character is
replaced rather than failing the job.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final, Literal

import qrcode
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from facturacion.amounts import amount_in_words, money_text, unit_text
from facturacion.catalogs import CREDIT_NOTE_REASONS, DEBIT_NOTE_REASONS, DocumentType
from facturacion.model import Comprobante

TITLES: Final = {
    DocumentType.FACTURA: "FACTURA ELECTRÓNICA",
    DocumentType.BOLETA: "BOLETA DE VENTA ELECTRÓNICA",
    DocumentType.NOTA_CREDITO: "NOTA DE CRÉDITO ELECTRÓNICA",
    DocumentType.NOTA_DEBITO: "NOTA DE DÉBITO ELECTRÓNICA",
}
_IDENTITY_LABELS: Final = {"6": "RUC", "1": "DNI", "4": "C.E.", "7": "PASAPORTE", "0": "DOC."}
_TOTAL_LABELS: Final = (
    ("1000", "Op. gravadas"),
    ("9997", "Op. exoneradas"),
    ("9998", "Op. inafectas"),
    ("9995", "Op. exportación"),
)
_COLUMNS: Final = (("Cant.", 16), ("Unid.", 14), ("Descripción", 82), ("V. unit.", 24),
                   ("P. unit.", 24), ("Importe", 26))  # fmt: skip


def qr_payload(receipt: Comprobante) -> str:
    """The QR content SUNAT specifies; the trailing ``|`` is part of it."""
    fields = (
        receipt.issuer.ruc,
        receipt.document_type.value,
        receipt.series,
        str(receipt.number),
        money_text(receipt.tax_total),
        money_text(receipt.payable),
        receipt.issue_date.isoformat(),
        receipt.customer.identity_type.value,
        receipt.customer.number,
    )
    return "|".join(fields) + "|"


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


class _Page(FPDF):
    def write_cell(
        self, width: float, text: str, *, align: str = "L", border: Literal[0, 1] = 0
    ) -> None:
        self.cell(width, 5.5, _latin1(text), border=border, align=align)

    def write_line(self, text: str, *, size: float = 9, bold: bool = False) -> None:
        self.set_font("Helvetica", "B" if bold else "", size)
        self.cell(0, 5, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(receipt: Comprobante, digest_value: str) -> bytes:
    pdf = _Page(format="A4")
    pdf.set_title(receipt.key)
    pdf.set_subject(qr_payload(receipt))
    pdf.set_creator("facturacion")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    _header(pdf, receipt)
    _parties(pdf, receipt)
    _lines(pdf, receipt)
    _totals(pdf, receipt)
    _footer(pdf, receipt, digest_value)
    return bytes(pdf.output())


def _header(pdf: _Page, receipt: Comprobante) -> None:
    top = pdf.get_y()
    pdf.write_line(receipt.issuer.legal_name, size=13, bold=True)
    if receipt.issuer.trade_name:
        pdf.write_line(receipt.issuer.trade_name)
    pdf.write_line(f"RUC {receipt.issuer.ruc}")
    pdf.set_xy(125, top)
    pdf.set_font("Helvetica", "B", 11)
    box = f"R.U.C. {receipt.issuer.ruc}\n{TITLES[receipt.document_type]}\n{receipt.document_id}"
    pdf.multi_cell(75, 7, _latin1(box), border=1, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _parties(pdf: _Page, receipt: Comprobante) -> None:
    label = _IDENTITY_LABELS.get(receipt.customer.identity_type.value, "DOC.")
    pdf.write_line(f"Señor(es): {receipt.customer.name}")
    pdf.write_line(f"{label}: {receipt.customer.number}")
    issued = receipt.issue_date.isoformat()
    if receipt.issue_time is not None:
        issued += f" {receipt.issue_time.isoformat(timespec='seconds')}"
    pdf.write_line(f"Fecha de emisión: {issued}")
    pdf.write_line(f"Moneda: {receipt.currency}    Forma de pago: {receipt.payment.form.value}")
    for index, installment in enumerate(receipt.payment.installments, start=1):
        pdf.write_line(
            f"  Cuota {index:03d}: {money_text(installment.amount)} "
            f"vence {installment.due_date.isoformat()}"
        )
    if receipt.reference is not None:
        reasons = (
            CREDIT_NOTE_REASONS
            if receipt.document_type is DocumentType.NOTA_CREDITO
            else DEBIT_NOTE_REASONS
        )
        reason = reasons.get(receipt.reference.reason_code, receipt.reference.reason_code)
        pdf.write_line(f"Documento que modifica: {receipt.reference.document_id}")
        pdf.write_line(f"Motivo ({reason}): {receipt.reference.reason}")
    pdf.ln(3)


def _lines(pdf: _Page, receipt: Comprobante) -> None:
    pdf.set_font("Helvetica", "B", 8)
    for title, width in _COLUMNS:
        pdf.write_cell(width, title, border=1, align="C")
    pdf.ln()
    pdf.set_font("Helvetica", "", 8)
    for line in receipt.lines:
        values = (
            (unit_text(line.quantity), "R"),
            (line.unit_code, "C"),
            (line.description[:55], "L"),
            (unit_text(line.unit_value), "R"),
            (money_text(line.unit_price), "R"),
            (money_text(line.base), "R"),
        )
        for (text, align), (_, width) in zip(values, _COLUMNS, strict=True):
            pdf.write_cell(width, text, border=1, align=align)
        pdf.ln()
    pdf.ln(3)


def _totals(pdf: _Page, receipt: Comprobante) -> None:
    rows: list[tuple[str, Decimal]] = [
        (label, receipt.taxable_by(code))
        for code, label in _TOTAL_LABELS
        if receipt.taxable_by(code) or code == "1000"
    ]
    rows += [("IGV 18%", receipt.tax_total), ("Importe total", receipt.payable)]
    for label, amount in rows:
        pdf.set_x(125)
        pdf.set_font("Helvetica", "B" if label == "Importe total" else "", 9)
        pdf.write_cell(45, label)
        pdf.write_cell(30, f"{receipt.currency} {money_text(amount)}", align="R")
        pdf.ln()
    pdf.ln(2)
    pdf.write_line(amount_in_words(receipt.payable, receipt.currency), bold=True)
    pdf.ln(3)


def _footer(pdf: _Page, receipt: Comprobante, digest_value: str) -> None:
    payload = qr_payload(receipt)
    image = qrcode.make(payload, box_size=4, border=1).get_image()
    top = pdf.get_y()
    pdf.image(image, x=pdf.l_margin, y=top, w=32, h=32)
    pdf.set_xy(pdf.l_margin + 36, top)
    pdf.set_font("Helvetica", "", 8)
    text = (
        f"Resumen (hash): {digest_value}\n"
        f"Representación impresa de la {TITLES[receipt.document_type]}.\n"
        "Consulte su validez en www.sunat.gob.pe\n"
        f"QR: {payload}"
    )
    pdf.multi_cell(0, 5, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
