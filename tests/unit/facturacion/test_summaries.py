"""Resumen diario and comunicación de baja refuse what SUNAT would refuse, naming the field."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from facturacion import samples
from facturacion.catalogs import DocumentType, SummaryCondition
from facturacion.errors import InvalidDocumentError
from facturacion.summaries import SummaryLine, VoidedLine


def test_summary_line_takes_the_boleta_totals() -> None:
    """A summary line copies the boleta's computed totals and the note's reference."""
    line = SummaryLine.of(samples.boleta(), SummaryCondition.MODIFY)
    assert (line.total, line.gravado, line.igv, line.condition) == (
        Decimal("65.58"), Decimal("55.57"), Decimal("10.01"), SummaryCondition.MODIFY,
    )  # fmt: skip
    note = SummaryLine.of(samples.nota_credito(affected=samples.boleta()))
    assert note.reference is not None
    assert note.reference.document_id == "B001-1"
    summary = samples.resumen_diario()
    assert (summary.document_id, summary.key) == ("RC-20261203-1", "20000000001-RC-20261203-1")
    baja = samples.comunicacion_baja()
    assert (baja.document_id, baja.key) == ("RA-20261203-1", "20000000001-RA-20261203-1")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sequence": 0}, "sequence"),
        ({"sequence": 100_000}, "sequence"),
        ({"reference_date": dt.date(2026, 12, 4)}, "reference_date"),
        ({"lines": ()}, "lines"),
    ],
)
def test_summary_headers_are_checked(changes: dict[str, object], field: str) -> None:
    """Sequence 1-99999, reference date not after the issue date, 1-500 lines."""
    for document in (samples.resumen_diario(), samples.comunicacion_baja()):
        with pytest.raises(InvalidDocumentError, match=f"^{field}: "):
            dataclasses.replace(document, **changes)  # type: ignore[arg-type]


def test_summary_lines_are_boletas_and_their_notes() -> None:
    """An RC refuses facturas (void them with an RA) and F series."""
    summary = samples.resumen_diario()
    factura_line = SummaryLine.of(samples.factura())
    with pytest.raises(
        InvalidDocumentError, match=r"^lines\[1\].document_type: .*comunicación de baja"
    ):
        dataclasses.replace(summary, lines=(factura_line,))
    f_series_note = dataclasses.replace(
        summary.lines[0], document_type=DocumentType.NOTA_CREDITO, series="FC01"
    )
    with pytest.raises(InvalidDocumentError, match=r"^lines\[1\].series: "):
        dataclasses.replace(summary, lines=(f_series_note,))
    negative = dataclasses.replace(summary.lines[0], total=Decimal(-1))
    with pytest.raises(InvalidDocumentError, match=r"^lines\[1\].total: "):
        dataclasses.replace(summary, lines=(negative,))


def test_void_lines_are_facturas_and_their_notes() -> None:
    """An RA refuses boletas (void them in an RC with condition 3) and needs a reason."""
    baja = samples.comunicacion_baja()
    with pytest.raises(InvalidDocumentError, match=r"^lines\[1\].document_type: .*condition 3"):
        dataclasses.replace(baja, lines=(VoidedLine(DocumentType.BOLETA, "B001", 1, "x"),))
    with pytest.raises(InvalidDocumentError, match=r"^lines\[1\].series: "):
        dataclasses.replace(baja, lines=(VoidedLine(DocumentType.FACTURA, "B001", 1, "x"),))
    with pytest.raises(InvalidDocumentError, match=r"^lines\[1\].reason: "):
        dataclasses.replace(baja, lines=(VoidedLine(DocumentType.FACTURA, "F001", 1, " "),))
    with pytest.raises(InvalidDocumentError, match=r"^lines\[1\].number: "):
        dataclasses.replace(baja, lines=(VoidedLine(DocumentType.FACTURA, "F001", 0, "x"),))
