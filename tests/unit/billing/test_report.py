"""The daily report: grouped sums equal the receipts; CSV and PDF say the same."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pypdf

from facturacion import samples
from facturacion.billing.report import csv_text, summarize, write_report
from facturacion.billing.store import BillingStore, ReceiptState


def _day(store: BillingStore) -> None:
    receipts = [samples.factura(1), samples.factura(2), samples.boleta(1), samples.nota_credito(1)]
    store.add_many((r, "") for r in receipts)
    store.record_outcome(receipts[0].key, ReceiptState.ACCEPTED, code=0)
    store.record_outcome(receipts[1].key, ReceiptState.REJECTED, code=2800, message="RUC, mal")
    store.record_outcome(receipts[2].key, ReceiptState.ACCEPTED, code=0)
    store.record_outcome(receipts[3].key, ReceiptState.ACCEPTED, code=0)


def test_the_summary_groups_by_type_currency_and_state(store: BillingStore) -> None:
    """A rejected factura is its own row; every row sums its receipts."""
    _day(store)
    receipts = store.of_day(samples.ISSUE_DATE)
    rows = summarize(receipts)
    assert [(r.document_type, r.currency, r.state, r.count) for r in rows] == [
        ("01", "PEN", "accepted", 1), ("01", "PEN", "rejected", 1),
        ("03", "PEN", "accepted", 1), ("07", "PEN", "accepted", 1),
    ]  # fmt: skip
    assert sum((r.total for r in rows), Decimal(0)) == sum((r.total for r in receipts), Decimal(0))
    assert sum(r.igv for r in rows) == sum(r.igv for r in receipts)


def test_csv_and_pdf_are_written_together(store: BillingStore, tmp_path: Path) -> None:
    """ventas-DAY.csv lists each receipt; ventas-DAY.pdf shows the groups and the day's total."""
    _day(store)
    receipts = store.of_day(samples.ISSUE_DATE)
    files = write_report(receipts, samples.ISSUE_DATE, tmp_path / "reports", "ANDINA")
    rows = list(csv.DictReader(io.StringIO(files.csv_path.read_text())))
    assert [row["key"] for row in rows] == [r.key for r in receipts]
    assert rows[1]["message"] == "RUC, mal"
    assert rows[1]["sunat_code"] == "2800"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(files.pdf_path).pages)
    total = sum((r.total for r in receipts), Decimal("0.00"))
    assert f"Total PEN: 4 comprobantes, {total:.2f}" in text
    assert "Nota de crédito" in text
    assert "ANDINA" in text
    assert not list((tmp_path / "reports").glob(".*partial"))


def test_an_empty_day_still_writes_a_report(tmp_path: Path) -> None:
    """No receipts: a CSV with only the header and a PDF that says nothing was sold."""
    files = write_report([], dt.date(2026, 1, 1), tmp_path, "")
    assert csv_text([]).count("\n") == 1
    assert files.csv_path.read_text() == csv_text([])
    assert files.rows == []
