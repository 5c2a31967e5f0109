"""Resumen diario (RC) and comunicación de baja (RA): the two documents sent by ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from facturacion import validation as check
from facturacion.catalogs import GRATUITO, IGV, DocumentType, SummaryCondition
from facturacion.errors import InvalidDocumentError
from facturacion.model import Comprobante, Customer, Issuer, NoteReference

MAX_SUMMARY_LINES = 500
MAX_SEQUENCE = 99_999


@dataclass(frozen=True)
class SummaryLine:
    """One boleta or note to a boleta, as a resumen diario reports it."""

    document_type: DocumentType
    series: str
    number: int
    condition: SummaryCondition
    currency: str
    customer: Customer
    total: Decimal
    gravado: Decimal
    exonerado: Decimal
    inafecto: Decimal
    igv: Decimal
    gratuito: Decimal = Decimal("0.00")
    reference: NoteReference | None = None

    @classmethod
    def of(
        cls, document: Comprobante, condition: SummaryCondition = SummaryCondition.ADD
    ) -> SummaryLine:
        """Summarise a boleta (or a note to one) from its own computed totals."""
        return cls(
            document_type=document.document_type,
            series=document.series,
            number=document.number,
            condition=condition,
            currency=document.currency,
            customer=document.customer,
            total=document.payable,
            gravado=document.taxable_by(IGV.code),
            exonerado=document.taxable_by("9997"),
            inafecto=document.taxable_by("9998"),
            igv=document.tax_total,
            gratuito=document.taxable_by(GRATUITO.code),
            reference=document.reference,
        )

    @property
    def document_id(self) -> str:
        return f"{self.series}-{self.number}"


def _check_header(issuer: Issuer, issue_date: date, reference_date: date, sequence: int) -> None:
    del issuer  # validated by its own constructor
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise InvalidDocumentError("sequence", f"must be 1 to {MAX_SEQUENCE}, got {sequence}")
    if reference_date > issue_date:
        raise InvalidDocumentError(
            "reference_date", "the documents summarised cannot be dated after the summary"
        )


@dataclass(frozen=True)
class DailySummary:
    """Resumen diario de boletas (RC): one per reference date, sent with sendSummary."""

    issuer: Issuer
    issue_date: date
    reference_date: date
    sequence: int
    lines: tuple[SummaryLine, ...]

    def __post_init__(self) -> None:
        _check_header(self.issuer, self.issue_date, self.reference_date, self.sequence)
        if not 1 <= len(self.lines) <= MAX_SUMMARY_LINES:
            raise InvalidDocumentError(
                "lines", f"a resumen diario holds 1 to {MAX_SUMMARY_LINES} lines"
            )
        allowed = {DocumentType.BOLETA, DocumentType.NOTA_CREDITO, DocumentType.NOTA_DEBITO}
        for index, line in enumerate(self.lines, start=1):
            if line.document_type not in allowed:
                raise InvalidDocumentError(
                    f"lines[{index}].document_type",
                    "a resumen diario reports boletas (03) and their notes (07/08) only; "
                    "void facturas with a comunicación de baja",
                )
            check.check_series(f"lines[{index}].series", line.series, "B")
            check.check_number(f"lines[{index}].number", line.number)
            check.check_not_negative(f"lines[{index}].total", line.total)

    @property
    def document_id(self) -> str:
        return f"RC-{self.issue_date:%Y%m%d}-{self.sequence}"

    @property
    def key(self) -> str:
        return f"{self.issuer.ruc}-{self.document_id}"


@dataclass(frozen=True)
class VoidedLine:
    """A factura or a note to one that the issuer voids (anula)."""

    document_type: DocumentType
    series: str
    number: int
    reason: str


@dataclass(frozen=True)
class VoidCommunication:
    """Comunicación de baja (RA): voids accepted facturas and their notes."""

    issuer: Issuer
    issue_date: date
    reference_date: date
    sequence: int
    lines: tuple[VoidedLine, ...]

    def __post_init__(self) -> None:
        _check_header(self.issuer, self.issue_date, self.reference_date, self.sequence)
        if not 1 <= len(self.lines) <= MAX_SUMMARY_LINES:
            raise InvalidDocumentError(
                "lines", f"a comunicación de baja holds 1 to {MAX_SUMMARY_LINES} lines"
            )
        allowed = {DocumentType.FACTURA, DocumentType.NOTA_CREDITO, DocumentType.NOTA_DEBITO}
        for index, line in enumerate(self.lines, start=1):
            if line.document_type not in allowed:
                raise InvalidDocumentError(
                    f"lines[{index}].document_type",
                    "a comunicación de baja voids facturas (01) and their notes (07/08); "
                    "void boletas in a resumen diario with condition 3",
                )
            check.check_series(f"lines[{index}].series", line.series, "F")
            check.check_number(f"lines[{index}].number", line.number)
            check.check_text(f"lines[{index}].reason", line.reason, 100)

    @property
    def document_id(self) -> str:
        return f"RA-{self.issue_date:%Y%m%d}-{self.sequence}"

    @property
    def key(self) -> str:
        return f"{self.issuer.ruc}-{self.document_id}"
