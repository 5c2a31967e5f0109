"""SUNAT's catalogues (anexo 8 of the UBL 2.1 guide) as far as the documents use them.

Each table maps a code to what the XML needs next to it, so a builder never spells a
code twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

IGV_RATE: Final = Decimal("0.18")
IGV_PERCENT: Final = Decimal(18)


class DocumentType(StrEnum):
    """Catálogo 01: the receipts this package issues."""

    FACTURA = "01"
    BOLETA = "03"
    NOTA_CREDITO = "07"
    NOTA_DEBITO = "08"


class IdentityType(StrEnum):
    """Catálogo 06: the customer's identity document."""

    NO_DOMICILIADO = "0"  # also "sin documento" on small boletas
    DNI = "1"
    CARNET_EXTRANJERIA = "4"
    RUC = "6"
    PASAPORTE = "7"


class OperationType(StrEnum):
    """Catálogo 51: tipo de operación, written as ``InvoiceTypeCode/@listID``."""

    VENTA_INTERNA = "0101"
    EXPORTACION_BIENES = "0200"
    EXPORTACION_SERVICIOS = "0201"
    SUJETA_DETRACCION = "1001"


class PaymentForm(StrEnum):
    """Forma de pago (RS 193-2020): written in ``cac:PaymentTerms``."""

    CONTADO = "Contado"
    CREDITO = "Credito"


class SummaryCondition(StrEnum):
    """Catálogo 19: what a resumen diario line does to its document."""

    ADD = "1"
    MODIFY = "2"
    VOID = "3"


@dataclass(frozen=True)
class Tributo:
    """Catálogo 05: one tax scheme (ID, name, UN/ECE 5153 type code)."""

    code: str
    name: str
    type_code: str


IGV: Final = Tributo("1000", "IGV", "VAT")
IVAP: Final = Tributo("1016", "IVAP", "VAT")
ISC: Final = Tributo("2000", "ISC", "EXC")
EXPORTACION: Final = Tributo("9995", "EXP", "FRE")
GRATUITO: Final = Tributo("9996", "GRA", "FRE")
EXONERADO: Final = Tributo("9997", "EXO", "VAT")
INAFECTO: Final = Tributo("9998", "INA", "FRE")
OTROS: Final = Tributo("9999", "OTROS", "OTH")


@dataclass(frozen=True)
class Affectation:
    """Catálogo 07: how IGV applies to a line, and what that implies."""

    code: str
    tributo: Tributo
    charges_igv: bool
    free: bool
    summary_instruction: str  # sac:BillingPayment/InstructionID in a resumen diario


# Every code SUNAT defines, so a code read back from a document is always known.
# IVAP (17) is listed for readers; the builders refuse it (see ``SUPPORTED_AFFECTATIONS``).
AFFECTATIONS: Final[dict[str, Affectation]] = {
    "10": Affectation("10", IGV, charges_igv=True, free=False, summary_instruction="01"),
    **{
        code: Affectation(code, GRATUITO, charges_igv=True, free=True, summary_instruction="05")
        for code in ("11", "12", "13", "14", "15", "16")
    },
    "17": Affectation("17", IVAP, charges_igv=True, free=False, summary_instruction="01"),
    "20": Affectation("20", EXONERADO, charges_igv=False, free=False, summary_instruction="02"),
    "21": Affectation("21", GRATUITO, charges_igv=False, free=True, summary_instruction="05"),
    "30": Affectation("30", INAFECTO, charges_igv=False, free=False, summary_instruction="03"),
    **{
        code: Affectation(code, GRATUITO, charges_igv=False, free=True, summary_instruction="05")
        for code in ("31", "32", "33", "34", "35", "36", "37")
    },
    "40": Affectation("40", EXPORTACION, charges_igv=False, free=False, summary_instruction="04"),
}

# Everything but IVAP (17), whose rice-only tax needs rules of its own.
SUPPORTED_AFFECTATIONS: Final = frozenset(AFFECTATIONS) - {"17"}

# Catálogo 09: reasons for a nota de crédito.
CREDIT_NOTE_REASONS: Final[dict[str, str]] = {
    "01": "Anulación de la operación",
    "02": "Anulación por error en el RUC",
    "03": "Corrección por error en la descripción",
    "04": "Descuento global",
    "05": "Descuento por ítem",
    "06": "Devolución total",
    "07": "Devolución por ítem",
    "08": "Bonificación",
    "09": "Disminución en el valor",
    "10": "Otros conceptos",
    "11": "Ajustes de operaciones de exportación",
    "12": "Ajustes afectos al IVAP",
    "13": "Corrección del monto neto pendiente de pago y/o fechas de vencimiento",
}

# Catálogo 10: reasons for a nota de débito.
DEBIT_NOTE_REASONS: Final[dict[str, str]] = {
    "01": "Intereses por mora",
    "02": "Aumento en el valor",
    "03": "Penalidades / otros conceptos",
    "11": "Ajustes de operaciones de exportación",
    "12": "Ajustes afectos al IVAP",
}

# Catálogo 02 (ISO 4217) as far as SUNAT accepts them, with the words for the legend.
CURRENCIES: Final[dict[str, str]] = {
    "PEN": "SOLES",
    "USD": "DÓLARES AMERICANOS",
    "EUR": "EUROS",
}

# Catálogo 03 (UN/ECE rec 20) units most invoices use; any other 2-3 character
# code is passed through, since the full list has hundreds of entries.
COMMON_UNITS: Final = frozenset({"NIU", "ZZ", "KGM", "LTR", "MTR", "BX", "HUR", "DAY", "MON"})

# Catálogo 52: legend codes.
LEGEND_AMOUNT_IN_WORDS: Final = "1000"
LEGEND_FREE_TRANSFER: Final = "1002"
FREE_TRANSFER_TEXT: Final = "TRANSFERENCIA GRATUITA DE UN BIEN Y/O SERVICIO PRESTADO GRATUITAMENTE"

# Catálogo 16: what PricingReference's price is.
PRICE_WITH_TAX: Final = "01"  # precio unitario, taxes included
REFERENCE_VALUE: Final = "02"  # valor referencial of a free (non-onerous) item

# Boletas above this total must identify the buyer (RS 185-2015, art. 4).
BOLETA_ANONYMOUS_LIMIT: Final = Decimal(700)
