"""What the printed representation (the PDF) needs from a signed receipt.

SUNAT requires the printed copy to show the signature's digest value ("hash") and a QR
code whose text is ``RUC|TIPO|SERIE|NUMERO|IGV|TOTAL|YYYY-MM-DD|TIPO_DOC|NUM_DOC|``.
Render it after signing: the digest exists only then.
"""

from __future__ import annotations

from dataclasses import dataclass

from facturacion.amounts import amount_in_words, money_text
from facturacion.model import Comprobante


def qr_text(document: Comprobante) -> str:
    customer = document.customer
    fields = (
        document.issuer.ruc,
        document.document_type.value,
        document.series,
        str(document.number),
        money_text(document.tax_total),
        money_text(document.payable),
        document.issue_date.isoformat(),
        customer.identity_type.value,
        customer.number,
    )
    return "|".join(fields) + "|"


@dataclass(frozen=True)
class PrintedFacts:
    """The strings a PDF renderer prints besides the receipt's own fields."""

    digest_value: str
    qr_text: str
    amount_in_words: str

    @classmethod
    def of(cls, document: Comprobante, digest_value: str) -> PrintedFacts:
        return cls(
            digest_value, qr_text(document), amount_in_words(document.payable, document.currency)
        )
