"""The receipt model refuses invalid input before any XML exists, naming the field."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest

from facturacion import samples
from facturacion.catalogs import DocumentType, IdentityType, OperationType, PaymentForm
from facturacion.errors import InvalidDocumentError
from facturacion.model import Customer, Installment, Issuer, Line, NoteReference, PaymentTerms
from facturacion.validation import ruc_check_digit


def replace(obj: Any, **changes: Any) -> Any:
    return dataclasses.replace(obj, **changes)


def refused(field: str) -> Any:
    return pytest.raises(InvalidDocumentError, match="^" + re.escape(field) + ": ")


def test_factura_totals_are_computed_per_tributo_and_rounded() -> None:
    """Line bases and IGV are rounded per line; totals add the rounded lines."""
    factura = samples.factura()
    igv, exo = factura.subtotals
    assert (igv.tributo.code, igv.taxable, igv.tax) == (
        "1000",
        Decimal("3177.95"),
        Decimal("572.03"),
    )
    assert (exo.tributo.code, exo.taxable, exo.tax) == ("9997", Decimal("80.00"), Decimal("0.00"))
    assert factura.line_extension == Decimal("3257.95")
    assert factura.tax_total == Decimal("572.03")
    assert factura.payable == Decimal("3829.98")
    assert factura.key == "20000000001-01-F001-1"
    assert factura.document_id == "F001-1"


def test_factura_to_customer_without_ruc_is_refused() -> None:
    """A factura to a DNI holder is refused: issue a boleta instead."""
    with refused("customer.identity_type"):
        replace(samples.factura(), customer=samples.PERSON)


def test_export_factura_may_go_to_a_foreign_customer() -> None:
    """Export operations (0200) with export lines (40) accept a non-domiciled buyer."""
    foreigner = Customer(IdentityType.NO_DOMICILIADO, "US-99812", "ACME CORP")
    line = Line("Café orgánico", Decimal(100), Decimal("12.5"), unit_code="KGM", affectation="40")
    factura = replace(
        samples.factura(),
        customer=foreigner,
        lines=(line,),
        operation_type=OperationType.EXPORTACION_BIENES,
    )
    assert factura.tax_total == Decimal("0.00")
    assert factura.subtotals[0].tributo.code == "9995"
    with refused("lines[1].affectation"):
        replace(factura, operation_type=OperationType.VENTA_INTERNA, customer=samples.COMPANY)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (Line("Mouse", Decimal(-1), Decimal(10)), "lines[1].quantity"),
        (Line("Mouse", Decimal(0), Decimal(10)), "lines[1].quantity"),
        (Line("Mouse", Decimal("NaN"), Decimal(10)), "lines[1].quantity"),
        (Line("Mouse", Decimal(1), Decimal(-10)), "lines[1].unit_value"),
        (Line("  ", Decimal(1), Decimal(10)), "lines[1].description"),
        (Line("Mouse", Decimal(1), Decimal(10), unit_code="unidad"), "lines[1].unit_code"),
        (Line("Mouse", Decimal(1), Decimal(10), affectation="99"), "lines[1].affectation"),
        (Line("Arroz pilado", Decimal(1), Decimal(10), affectation="17"), "lines[1].affectation"),
    ],
)
def test_bad_lines_are_refused_naming_the_field(line: Line, field: str) -> None:
    """Negative or zero quantities, negative prices, unknown codes name the line and field."""
    with refused(field):
        replace(samples.factura(), lines=(line,))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"series": "B001"}, "series"),
        ({"series": "F01"}, "series"),
        ({"series": "f001"}, "series"),
        ({"number": 0}, "number"),
        ({"number": 100_000_000}, "number"),
        ({"currency": "GBP"}, "currency"),
        ({"lines": ()}, "lines"),
        ({"reference": NoteReference(DocumentType.FACTURA, "F001", 1, "01", "x")}, "reference"),
    ],
)
def test_bad_headers_are_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    """A bad series, number or currency is refused with the field's name."""
    with refused(field):
        replace(samples.factura(), **changes)


@pytest.mark.parametrize(
    ("ruc", "problem"),
    [("2012345678", "11 digits"), ("30000000001", "11 digits"), ("20000000002", "check digit")],
)
def test_issuer_ruc_is_checked(ruc: str, problem: str) -> None:
    """The RUC needs 11 digits, a valid prefix and the modulus-11 check digit."""
    with pytest.raises(InvalidDocumentError, match=f"issuer.ruc: .*{problem}"):
        Issuer(ruc=ruc, legal_name="X")


def test_ruc_check_digit_matches_real_rucs() -> None:
    """Real RUCs from SUNAT's own documents pass the check digit."""
    assert ruc_check_digit("2060099580") == 5
    assert ruc_check_digit("2013131295") == 5
    assert ruc_check_digit("2000000000") == 1


@pytest.mark.parametrize(
    ("customer", "field"),
    [
        (lambda: Customer(IdentityType.DNI, "1234567", "ANA"), "customer.number"),
        (lambda: Customer(IdentityType.PASAPORTE, "", "ANA"), "customer.number"),
        (lambda: Customer(IdentityType.DNI, "12345678", ""), "customer.name"),
        (lambda: Customer("9", "12345678", "ANA"), "customer.identity_type"),  # type: ignore[arg-type]
    ],
)
def test_bad_customers_are_refused(customer: Any, field: str) -> None:
    """Identity numbers are checked by their catálogo 06 type."""
    with refused(field):
        customer()


def test_anonymous_boleta_above_700_soles_is_refused() -> None:
    """Boletas over S/ 700 must identify the buyer; smaller ones may not."""
    anonymous = Customer(IdentityType.NO_DOMICILIADO, "-", "CLIENTES VARIOS")
    small = replace(samples.boleta(), customer=anonymous)
    assert small.payable < 700
    big_line = Line("Televisor", Decimal(1), Decimal(800))
    with refused("customer.number"):
        replace(small, lines=(big_line,))


def test_credit_sale_instalments_must_add_up() -> None:
    """Credit needs instalments after the issue date adding up to the payable amount."""
    factura = samples.factura_credito()
    assert factura.payment.form == PaymentForm.CREDITO
    due = factura.issue_date + dt.timedelta(days=30)
    with refused("payment.installments"):
        replace(factura, payment=PaymentTerms(PaymentForm.CREDITO, (Installment(Decimal(1), due),)))
    with refused("payment.installments"):
        replace(factura, payment=PaymentTerms(PaymentForm.CREDITO))
    with refused("payment.installments"):
        replace(factura, payment=PaymentTerms(PaymentForm.CONTADO, (Installment(Decimal(1), due),)))
    with refused("payment.installments[1].due_date"):
        late = Installment(factura.payable, factura.issue_date)
        replace(factura, payment=PaymentTerms(PaymentForm.CREDITO, (late,)))
    with refused("payment.installments[1].amount"):
        replace(
            factura, payment=PaymentTerms(PaymentForm.CREDITO, (Installment(Decimal(-1), due),))
        )


def test_notes_need_a_matching_reference() -> None:
    """A note names the document it modifies, with a same-letter series and a catalogued reason."""
    note = samples.nota_credito()
    assert note.key == "20000000001-07-FC01-1"
    with refused("reference"):
        replace(note, reference=None)
    with refused("reference.series"):
        replace(note, reference=replace(note.reference, series="B001"))
    with refused("reference.reason_code"):
        replace(note, reference=replace(note.reference, reason_code="99"))
    with refused("reference.reason"):
        replace(note, reference=replace(note.reference, reason=""))
    with refused("reference.document_type"):
        replace(note, reference=replace(note.reference, document_type=DocumentType.NOTA_DEBITO))
    with refused("reference.number"):
        replace(note, reference=replace(note.reference, number=0))
    boleta_note = samples.nota_credito(affected=samples.boleta())
    assert boleta_note.series == "BC01"
    with refused("series"):
        replace(boleta_note, series="FC01")


def test_issuer_address_code_is_four_digits() -> None:
    """The establishment code is 4 digits (0000 = domicilio fiscal)."""
    with refused("issuer.address_code"):
        Issuer(ruc="20000000001", legal_name="X", address_code="1")
