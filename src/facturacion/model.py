"""The typed model of a receipt: a ``Comprobante`` cannot exist in an invalid state.

Every check runs in ``__post_init__``, so invalid input is refused before any XML is
built, with an ``InvalidDocumentError`` naming the field (``lines[2].quantity``).
Amounts are ``Decimal`` end to end; derived totals are computed once, here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from functools import cached_property

from facturacion import validation as check
from facturacion.amounts import money
from facturacion.catalogs import (
    AFFECTATIONS,
    BOLETA_ANONYMOUS_LIMIT,
    CREDIT_NOTE_REASONS,
    CURRENCIES,
    DEBIT_NOTE_REASONS,
    GRATUITO,
    IGV_RATE,
    SUPPORTED_AFFECTATIONS,
    DocumentType,
    IdentityType,
    OperationType,
    PaymentForm,
    Tributo,
)
from facturacion.errors import InvalidDocumentError

_EXPORT_OPERATIONS = frozenset(
    {OperationType.EXPORTACION_BIENES, OperationType.EXPORTACION_SERVICIOS}
)


@dataclass(frozen=True)
class Issuer:
    """The company issuing the receipt (emisor)."""

    ruc: str
    legal_name: str
    trade_name: str = ""
    address_code: str = "0000"  # código de establecimiento; 0000 = domicilio fiscal

    def __post_init__(self) -> None:
        check.check_ruc("issuer.ruc", self.ruc)
        check.check_text("issuer.legal_name", self.legal_name)
        if not (len(self.address_code) == 4 and self.address_code.isdigit()):
            raise InvalidDocumentError(
                "issuer.address_code",
                f"use the 4-digit establishment code, got {self.address_code!r}",
            )


@dataclass(frozen=True)
class Customer:
    """The buyer (adquirente), identified by a catálogo 06 document."""

    identity_type: IdentityType
    number: str
    name: str

    def __post_init__(self) -> None:
        check.check_choice(
            "customer.identity_type", self.identity_type, set(IdentityType), "catálogo 06 code"
        )
        check.check_identity("customer.number", self.identity_type, self.number)
        check.check_text("customer.name", self.name)


@dataclass(frozen=True)
class Line:
    """One line: quantity x unit value (without IGV), with its catálogo 07 affectation."""

    description: str
    quantity: Decimal
    unit_value: Decimal
    unit_code: str = "NIU"
    affectation: str = "10"
    product_code: str = ""

    def validate(self, prefix: str) -> None:
        check.check_text(f"{prefix}.description", self.description)
        check.check_positive(f"{prefix}.quantity", self.quantity)
        check.check_not_negative(f"{prefix}.unit_value", self.unit_value)
        check.check_unit_code(f"{prefix}.unit_code", self.unit_code)
        check.check_choice(
            f"{prefix}.affectation", self.affectation, AFFECTATIONS, "catálogo 07 code"
        )
        if self.affectation not in SUPPORTED_AFFECTATIONS:
            raise InvalidDocumentError(
                f"{prefix}.affectation",
                "IVAP lines (17) are not supported yet",
            )

    @property
    def tributo(self) -> Tributo:
        return AFFECTATIONS[self.affectation].tributo

    @property
    def free(self) -> bool:
        """A free transfer (retiro, bonificación, muestra); ``unit_value`` is its reference."""
        return AFFECTATIONS[self.affectation].free

    @property
    def base(self) -> Decimal:
        """Valor de venta of the line (reference value if free), without tax, in cents."""
        return money(self.quantity * self.unit_value)

    @property
    def igv(self) -> Decimal:
        return (
            money(self.base * IGV_RATE)
            if AFFECTATIONS[self.affectation].charges_igv
            else Decimal("0.00")
        )

    @property
    def unit_price(self) -> Decimal:
        """PricingReference's price: with tax (type 01), or a free item's reference value (02)."""
        if AFFECTATIONS[self.affectation].charges_igv and not self.free:
            return self.unit_value * (1 + IGV_RATE)
        return self.unit_value

    @property
    def charged_unit_value(self) -> Decimal:
        """``cac:Price``: what the buyer pays per unit before tax (nothing for a free item)."""
        return Decimal(0) if self.free else self.unit_value


@dataclass(frozen=True)
class Installment:
    """One credit instalment (cuota)."""

    amount: Decimal
    due_date: date


@dataclass(frozen=True)
class PaymentTerms:
    form: PaymentForm = PaymentForm.CONTADO
    installments: tuple[Installment, ...] = ()


@dataclass(frozen=True)
class NoteReference:
    """What a nota de crédito/débito modifies, and why (catálogo 09 or 10)."""

    document_type: DocumentType
    series: str
    number: int
    reason_code: str
    reason: str

    @property
    def document_id(self) -> str:
        return f"{self.series}-{self.number}"


@dataclass(frozen=True)
class TaxSubtotal:
    tributo: Tributo
    taxable: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Comprobante:
    """A factura (01), boleta (03), nota de crédito (07) or nota de débito (08)."""

    document_type: DocumentType
    series: str
    number: int
    issue_date: date
    issuer: Issuer
    customer: Customer
    lines: tuple[Line, ...]
    currency: str = "PEN"
    issue_time: time | None = None
    operation_type: OperationType = OperationType.VENTA_INTERNA
    payment: PaymentTerms = field(default_factory=PaymentTerms)
    reference: NoteReference | None = None

    def __post_init__(self) -> None:
        check.check_choice(
            "document_type", self.document_type, set(DocumentType), "catálogo 01 code"
        )
        check.check_series("series", self.series, self._series_letter())
        check.check_number("number", self.number)
        check.check_choice(
            "currency", self.currency, CURRENCIES, "currency SUNAT accepts (PEN, USD, EUR)"
        )
        if not self.lines:
            raise InvalidDocumentError("lines", "a receipt needs at least one line")
        for index, line in enumerate(self.lines, start=1):
            line.validate(f"lines[{index}]")
        self._check_customer()
        self._check_export()
        self._check_payment()
        self._check_reference()

    # -------------------------------------------------------------- derived values
    @property
    def document_id(self) -> str:
        """``cbc:ID``: the number formatted exactly as in the file name."""
        return f"{self.series}-{self.number}"

    @property
    def key(self) -> str:
        """Idempotency key and file name base: ``RUC-TT-SERIE-NUMERO``."""
        return f"{self.issuer.ruc}-{self.document_type.value}-{self.series}-{self.number}"

    @property
    def is_note(self) -> bool:
        return self.document_type in {DocumentType.NOTA_CREDITO, DocumentType.NOTA_DEBITO}

    @cached_property
    def subtotals(self) -> tuple[TaxSubtotal, ...]:
        """One subtotal per tributo used, in catálogo 05 order."""
        sums: dict[str, tuple[Tributo, Decimal, Decimal]] = {}
        for line in self.lines:
            tributo, taxable, tax = sums.get(
                line.tributo.code, (line.tributo, Decimal(0), Decimal(0))
            )
            sums[line.tributo.code] = (tributo, taxable + line.base, tax + line.igv)
        return tuple(TaxSubtotal(t, money(b), money(x)) for _, (t, b, x) in sorted(sums.items()))

    @cached_property
    def line_extension(self) -> Decimal:
        """Total valor de venta: paid lines only (free items are not sold)."""
        return money(sum((line.base for line in self.lines if not line.free), Decimal(0)))

    @cached_property
    def tax_total(self) -> Decimal:
        """Taxes charged: the IGV computed on free items (9996) is not charged to the buyer."""
        return money(
            sum((s.tax for s in self.subtotals if s.tributo.code != GRATUITO.code), Decimal(0))
        )

    @property
    def has_free_items(self) -> bool:
        return any(line.free for line in self.lines)

    @property
    def payable(self) -> Decimal:
        return money(self.line_extension + self.tax_total)

    def taxable_by(self, tributo_code: str) -> Decimal:
        return next(
            (s.taxable for s in self.subtotals if s.tributo.code == tributo_code), Decimal("0.00")
        )

    # -------------------------------------------------------------- cross-field rules
    def _series_letter(self) -> str:
        if self.document_type == DocumentType.FACTURA:
            return "F"
        if self.document_type == DocumentType.BOLETA:
            return "B"
        affected = self.reference.document_type if self.reference else None
        return "B" if affected == DocumentType.BOLETA else "F"

    def _check_customer(self) -> None:
        invoices_a_company = self._series_letter() == "F"
        exporting = self.operation_type in _EXPORT_OPERATIONS
        if invoices_a_company and self.customer.identity_type != IdentityType.RUC and not exporting:
            raise InvalidDocumentError(
                "customer.identity_type",
                "a factura (and its notes) needs the customer's RUC (type 6); "
                "issue a boleta to a customer without RUC",
            )
        anonymous = self.customer.identity_type == IdentityType.NO_DOMICILIADO
        if (
            not invoices_a_company
            and anonymous
            and self.currency == "PEN"
            and self.payable > BOLETA_ANONYMOUS_LIMIT
        ):
            raise InvalidDocumentError(
                "customer.number",
                f"a boleta above S/ {BOLETA_ANONYMOUS_LIMIT} must identify the buyer "
                "(DNI, CE or RUC)",
            )

    def _check_export(self) -> None:
        exporting = self.operation_type in _EXPORT_OPERATIONS
        for index, line in enumerate(self.lines, start=1):
            if (line.affectation == "40") != exporting:
                raise InvalidDocumentError(
                    f"lines[{index}].affectation",
                    "export lines (40) go only, and always, on export operations (0200/0201)",
                )

    def _check_payment(self) -> None:
        terms = self.payment
        if terms.form == PaymentForm.CONTADO:
            if terms.installments:
                raise InvalidDocumentError(
                    "payment.installments", "a cash (Contado) sale has no instalments"
                )
            return
        if not terms.installments:
            raise InvalidDocumentError(
                "payment.installments", "a credit sale needs at least one instalment"
            )
        for index, installment in enumerate(terms.installments, start=1):
            check.check_positive(f"payment.installments[{index}].amount", installment.amount)
            if installment.due_date <= self.issue_date:
                raise InvalidDocumentError(
                    f"payment.installments[{index}].due_date", "must be after the issue date"
                )
        owed = money(sum((i.amount for i in terms.installments), Decimal(0)))
        if owed != self.payable:
            raise InvalidDocumentError(
                "payment.installments",
                f"the instalments add up to {owed}, the receipt to {self.payable}",
            )

    def _check_reference(self) -> None:
        if not self.is_note:
            if self.reference is not None:
                raise InvalidDocumentError(
                    "reference", "only notes (07/08) reference another document"
                )
            return
        ref = self.reference
        if ref is None:
            raise InvalidDocumentError("reference", "a note must name the document it modifies")
        check.check_choice(
            "reference.document_type",
            ref.document_type,
            {DocumentType.FACTURA, DocumentType.BOLETA},
            "modifiable document type (01 or 03)",
        )
        check.check_series("reference.series", ref.series, self._series_letter())
        check.check_number("reference.number", ref.number)
        reasons = (
            CREDIT_NOTE_REASONS
            if self.document_type == DocumentType.NOTA_CREDITO
            else DEBIT_NOTE_REASONS
        )
        check.check_choice(
            "reference.reason_code", ref.reason_code, reasons, "reason code for this note"
        )
        check.check_text("reference.reason", ref.reason, 250)
