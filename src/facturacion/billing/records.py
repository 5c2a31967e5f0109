"""A receipt as the billing store holds it, and the states a person reads."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from facturacion.billing.codec import receipt_from_json
from facturacion.model import Comprobante


class ReceiptState(StrEnum):
    PENDING = "pending"  # stored, not yet answered by SUNAT (maybe being retried)
    SENT = "sent"  # sent, outcome unknown: the status sync asks SUNAT
    ACCEPTED = "accepted"
    OBSERVED = "observed"  # accepted with observations
    REJECTED = "rejected"  # final: the number is consumed
    ERROR = "error"  # configuration or duplicate: a person must look

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def is_valid_receipt(self) -> bool:
        """Accepted by SUNAT (with or without observations): print it and mail it."""
        return self in {ReceiptState.ACCEPTED, ReceiptState.OBSERVED}


FINAL_STATES: Final = frozenset(
    {ReceiptState.ACCEPTED, ReceiptState.OBSERVED, ReceiptState.REJECTED}
)

@dataclass(frozen=True)
class Receipt:
    key: str
    document_type: str
    series: str
    number: int
    issue_date: dt.date
    currency: str
    customer_number: str
    customer_name: str
    customer_email: str
    taxable: Decimal
    igv: Decimal
    total: Decimal
    document: dict[str, Any]
    state: ReceiptState
    sunat_code: int | None
    message: str
    digest_value: str | None
    xml_path: str | None
    cdr_path: str | None
    pdf_path: str | None
    emailed_at: float | None
    created_at: float
    updated_at: float

    @property
    def document_id(self) -> str:
        return f"{self.series}-{self.number}"

    def comprobante(self) -> Comprobante:
        return receipt_from_json(self.document)


def receipt_from_row(row: dict[str, Any]) -> Receipt:
    return Receipt(
        key=row["key"],
        document_type=row["document_type"],
        series=row["series"],
        number=row["number"],
        issue_date=dt.date.fromisoformat(row["issue_date"]),
        currency=row["currency"],
        customer_number=row["customer_number"],
        customer_name=row["customer_name"],
        customer_email=row["customer_email"],
        taxable=Decimal(row["taxable"]),
        igv=Decimal(row["igv"]),
        total=Decimal(row["total"]),
        document=json.loads(row["document"]),
        state=ReceiptState(row["state"]),
        sunat_code=row["sunat_code"],
        message=row["message"],
        digest_value=row["digest_value"],
        xml_path=row["xml_path"],
        cdr_path=row["cdr_path"],
        pdf_path=row["pdf_path"],
        emailed_at=row["emailed_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
