"""The printed representation: SUNAT's QR payload, and a PDF that shows what it must."""

from __future__ import annotations

import io
from decimal import Decimal

import pypdf

from facturacion import samples
from facturacion.billing.printed import qr_payload, render_pdf
from facturacion.catalogs import IdentityType
from facturacion.model import Comprobante, Customer, Line


def _text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "".join(page.extract_text() for page in reader.pages)


def test_the_qr_payload_follows_sunat_order_and_ends_with_a_bar() -> None:
    """RUC|TIPO|SERIE|NUMERO|IGV|TOTAL|FECHA|TIPO_DOC|NUM_DOC| with two-decimal amounts."""
    receipt = samples.factura(7)
    assert qr_payload(receipt) == (
        f"20000000001|01|F001|7|{receipt.tax_total:.2f}|{receipt.payable:.2f}|2026-12-03|6|"
        "20600995805|"
    )
    assert qr_payload(samples.boleta(3)).split("|")[7:9] == ["1", "44556677"]


def test_the_pdf_carries_number_hash_qr_totals_and_words() -> None:
    """The PDF opens and shows the title, number, customer, totals, words, hash and QR text."""
    receipt = samples.factura_credito(2)
    text = _text(render_pdf(receipt, "DIGEST+value/=="))
    for expected in ("FACTURA ELECTRÓNICA", "F001-2", "ABLIMATEX EXPORT SAC", "RUC: 20600995805",
                     "Op. gravadas", "Op. exoneradas", "IGV 18%", f"{receipt.payable:.2f}",
                     "SON: ", "/100 SOLES", "DIGEST+value/==", qr_payload(receipt),
                     "Cuota 001", "Forma de pago: Credito"):  # fmt: skip
        assert expected in text, expected
    meta = pypdf.PdfReader(io.BytesIO(render_pdf(receipt, "d"))).metadata
    assert meta is not None
    assert meta.title == receipt.key


def test_a_note_names_the_document_it_modifies_and_why() -> None:
    """Credit and debit notes print the affected document and the catalogue reason."""
    credit = _text(render_pdf(samples.nota_credito(1), "d"))
    assert "NOTA DE CRÉDITO ELECTRÓNICA" in credit
    assert "Documento que modifica: F001-1" in credit
    assert "Devolución por ítem" in credit
    debit = _text(render_pdf(samples.nota_debito(1), "d"))
    assert "NOTA DE DÉBITO ELECTRÓNICA" in debit
    assert "Intereses por mora" in debit


def test_characters_outside_latin1_do_not_fail_the_job() -> None:
    """A customer name with a character the core font lacks is printed with a stand-in."""
    base = samples.boleta(9)
    receipt = Comprobante(
        base.document_type, base.series, base.number, base.issue_date, base.issuer,
        Customer(IdentityType.DNI, "44556677", "ZHANG 张 WEI"),
        (Line("Té verde — caja", Decimal(1), Decimal("10.00")),),
    )  # fmt: skip
    text = _text(render_pdf(receipt, "d"))
    assert "ZHANG ? WEI" in text
    assert "BOLETA DE VENTA ELECTRÓNICA" in text
