"""Realistic sample documents and a self-signed certificate, for the simulator, docs and tests.

SUNAT's beta service accepts any self-signed certificate and the RUC 20000000001, so
these samples are also what a first run against beta should send.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from facturacion.catalogs import DocumentType, IdentityType, PaymentForm, SummaryCondition
from facturacion.model import (
    Comprobante,
    Customer,
    Installment,
    Issuer,
    Line,
    NoteReference,
    PaymentTerms,
)
from facturacion.signing import SigningCredentials
from facturacion.summaries import DailySummary, SummaryLine, VoidCommunication, VoidedLine

BETA_RUC = "20000000001"
ISSUE_DATE = dt.date(2026, 12, 3)

ISSUER = Issuer(ruc=BETA_RUC, legal_name="DISTRIBUIDORA ANDINA S.A.C.", trade_name="ANDINA")
COMPANY = Customer(IdentityType.RUC, "20600995805", "ABLIMATEX EXPORT SAC")
PERSON = Customer(IdentityType.DNI, "44556677", "ROSA QUISPE MAMANI")


def _lines() -> tuple[Line, ...]:
    return (
        Line("Laptop 14 pulgadas", Decimal(2), Decimal("1525.42"), product_code="LAP-14"),
        Line("Mouse inalámbrico", Decimal(3), Decimal("42.37"), product_code="MOU-01"),
        Line("Libro de contabilidad", Decimal(1), Decimal("80.00"), affectation="20"),
    )


def factura(
    number: int = 1, *, series: str = "F001", lines: tuple[Line, ...] | None = None
) -> Comprobante:
    return Comprobante(
        document_type=DocumentType.FACTURA,
        series=series,
        number=number,
        issue_date=ISSUE_DATE,
        issue_time=dt.time(10, 30),
        issuer=ISSUER,
        customer=COMPANY,
        lines=lines or _lines(),
    )


def factura_con_obsequio(number: int = 3) -> Comprobante:
    """A sale with a free sample (retiro gravado, 13) and a free book (exonerado, 21)."""
    return factura(
        number,
        lines=(
            Line("Impresora láser", Decimal(1), Decimal("850.00"), product_code="IMP-01"),
            Line("Tóner de muestra (obsequio)", Decimal(2), Decimal("120.00"), affectation="13"),
            Line("Manual impreso (obsequio)", Decimal(1), Decimal("30.00"), affectation="21"),
        ),
    )


def factura_credito(number: int = 2) -> Comprobante:
    base = factura(number)
    return Comprobante(
        document_type=DocumentType.FACTURA,
        series="F001",
        number=number,
        issue_date=ISSUE_DATE,
        issuer=ISSUER,
        customer=COMPANY,
        lines=base.lines,
        payment=PaymentTerms(
            PaymentForm.CREDITO,
            (
                Installment(Decimal("2000.00"), ISSUE_DATE + dt.timedelta(days=30)),
                Installment(base.payable - Decimal("2000.00"), ISSUE_DATE + dt.timedelta(days=60)),
            ),
        ),
    )


def boleta(number: int = 1, *, series: str = "B001") -> Comprobante:
    return Comprobante(
        document_type=DocumentType.BOLETA,
        series=series,
        number=number,
        issue_date=ISSUE_DATE,
        issue_time=dt.time(18, 5, 12),
        issuer=ISSUER,
        customer=PERSON,
        lines=(
            Line("Cuaderno A4 cuadriculado", Decimal(10), Decimal("4.2373")),
            Line("Lapicero azul", Decimal(12), Decimal("1.10"), unit_code="NIU"),
        ),
    )


def nota_credito(number: int = 1, *, affected: Comprobante | None = None) -> Comprobante:
    target = affected or factura()
    letter = target.series[0]
    return Comprobante(
        document_type=DocumentType.NOTA_CREDITO,
        series=f"{letter}C01",
        number=number,
        issue_date=ISSUE_DATE,
        issuer=ISSUER,
        customer=target.customer,
        lines=(target.lines[1],),
        reference=NoteReference(
            target.document_type, target.series, target.number, "07", "Devolución de un mouse"
        ),
    )


def nota_debito(number: int = 1) -> Comprobante:
    target = factura()
    return Comprobante(
        document_type=DocumentType.NOTA_DEBITO,
        series="FD01",
        number=number,
        issue_date=ISSUE_DATE,
        issuer=ISSUER,
        customer=target.customer,
        lines=(Line("Intereses por pago tardío", Decimal(1), Decimal("25.00")),),
        reference=NoteReference(target.document_type, target.series, 1, "01", "Intereses por mora"),
    )


def resumen_diario(sequence: int = 1) -> DailySummary:
    sold = boleta(1)
    returned = nota_credito(1, affected=sold)
    return DailySummary(
        issuer=ISSUER,
        issue_date=ISSUE_DATE,
        reference_date=ISSUE_DATE,
        sequence=sequence,
        lines=(
            SummaryLine.of(sold),
            SummaryLine.of(boleta(2)),
            SummaryLine.of(returned),
            SummaryLine.of(boleta(3), SummaryCondition.VOID),
        ),
    )


def comunicacion_baja(sequence: int = 1) -> VoidCommunication:
    return VoidCommunication(
        issuer=ISSUER,
        issue_date=ISSUE_DATE,
        reference_date=ISSUE_DATE - dt.timedelta(days=1),
        sequence=sequence,
        lines=(
            VoidedLine(DocumentType.FACTURA, "F001", 7, "ERROR EN EL RUC DEL CLIENTE"),
            VoidedLine(DocumentType.NOTA_CREDITO, "FC01", 2, "NOTA EMITIDA POR ERROR"),
        ),
    )


def self_signed_credentials(
    ruc: str = BETA_RUC, name: str = "DISTRIBUIDORA ANDINA S.A.C.", *, key_size: int = 2048
) -> SigningCredentials:
    """A throwaway certificate (what SUNAT beta accepts); never use one in production."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"RUC {ruc}"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PE"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SigningCredentials(key_pem, certificate.public_bytes(serialization.Encoding.PEM))
