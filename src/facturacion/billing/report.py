"""The daily sales report: every receipt of a day as CSV, and a PDF summary.

The summary groups by document type, currency and SUNAT state, so a rejected
factura never hides inside the day's sales. Amounts are summed as ``Decimal``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from facturacion.billing.files import write_atomically
from facturacion.billing.store import Receipt

CSV_COLUMNS: Final = (
    "key", "document_type", "series", "number", "issue_date", "customer_number",
    "customer_name", "currency", "taxable", "igv", "total", "state", "sunat_code", "message",
)  # fmt: skip
TYPE_NAMES: Final = {"01": "Factura", "03": "Boleta", "07": "Nota de crédito",
                     "08": "Nota de débito"}  # fmt: skip


@dataclass(frozen=True)
class SummaryRow:
    document_type: str
    currency: str
    state: str
    count: int
    taxable: Decimal
    igv: Decimal
    total: Decimal


def summarize(receipts: Iterable[Receipt]) -> list[SummaryRow]:
    groups: dict[tuple[str, str, str], list[Receipt]] = {}
    for receipt in receipts:
        group = (receipt.document_type, receipt.currency, receipt.state.value)
        groups.setdefault(group, []).append(receipt)
    return [
        SummaryRow(
            document_type, currency, state, len(members),
            sum((r.taxable for r in members), Decimal("0.00")),
            sum((r.igv for r in members), Decimal("0.00")),
            sum((r.total for r in members), Decimal("0.00")),
        )
        for (document_type, currency, state), members in sorted(groups.items())
    ]  # fmt: skip


def csv_text(receipts: Iterable[Receipt]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in receipts:
        writer.writerow(
            (r.key, r.document_type, r.series, r.number, r.issue_date.isoformat(),
             r.customer_number, r.customer_name, r.currency, f"{r.taxable:.2f}",
             f"{r.igv:.2f}", f"{r.total:.2f}", r.state.value,
             "" if r.sunat_code is None else r.sunat_code, r.message)
        )  # fmt: skip
    return out.getvalue()


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def summary_pdf(day: dt.date, rows: list[SummaryRow], issuer: str = "") -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(f"Reporte de ventas {day.isoformat()}")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    heading = f"Reporte diario de ventas - {day.isoformat()}"
    pdf.cell(0, 8, _latin1(heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if issuer:
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 6, _latin1(issuer), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    widths = (38, 18, 26, 16, 32, 28, 32)
    pdf.set_font("Helvetica", "B", 9)
    for title, width in zip(("Tipo", "Moneda", "Estado", "Cant.", "Valor venta", "IGV",
                             "Total"), widths, strict=True):  # fmt: skip
        pdf.cell(width, 6, _latin1(title), border=1, align="C")
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for row in rows:
        name = TYPE_NAMES.get(row.document_type, row.document_type)
        cells = (name, row.currency, row.state, str(row.count), f"{row.taxable:.2f}",
                 f"{row.igv:.2f}", f"{row.total:.2f}")  # fmt: skip
        for index, (text, width) in enumerate(zip(cells, widths, strict=True)):
            pdf.cell(width, 6, _latin1(text), border=1, align="R" if index >= 3 else "L")
        pdf.ln()
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 9)
    for currency in sorted({row.currency for row in rows}):
        count = sum(row.count for row in rows if row.currency == currency)
        total = sum((row.total for row in rows if row.currency == currency), Decimal("0.00"))
        line = f"Total {currency}: {count} comprobantes, {total:.2f}"
        pdf.cell(0, 6, _latin1(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


@dataclass(frozen=True)
class ReportFiles:
    csv_path: Path
    pdf_path: Path
    rows: list[SummaryRow]


def write_report(
    receipts: list[Receipt], day: dt.date, directory: Path, issuer: str = ""
) -> ReportFiles:
    """Write ``ventas-YYYY-MM-DD.csv`` and ``.pdf`` atomically (a reader never sees half)."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = summarize(receipts)
    csv_path = directory / f"ventas-{day.isoformat()}.csv"
    pdf_path = directory / f"ventas-{day.isoformat()}.pdf"
    write_atomically(csv_path, csv_text(receipts).encode())
    write_atomically(pdf_path, summary_pdf(day, rows, issuer))
    return ReportFiles(csv_path, pdf_path, rows)
