"""A receipt as JSON and back: job payloads and the billing store hold JSON, never pickle.

Amounts travel as strings so a ``Decimal`` never passes through a float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from facturacion.billing.errors import BillingError
from facturacion.catalogs import DocumentType, IdentityType, OperationType, PaymentForm
from facturacion.errors import FacturacionError
from facturacion.model import (
    Comprobante,
    Customer,
    Installment,
    Issuer,
    Line,
    NoteReference,
    PaymentTerms,
)


def receipt_to_json(receipt: Comprobante) -> dict[str, Any]:
    return {
        "document_type": receipt.document_type.value,
        "series": receipt.series,
        "number": receipt.number,
        "issue_date": receipt.issue_date.isoformat(),
        "issue_time": receipt.issue_time.isoformat() if receipt.issue_time else None,
        "currency": receipt.currency,
        "operation_type": receipt.operation_type.value,
        "issuer": {
            "ruc": receipt.issuer.ruc,
            "legal_name": receipt.issuer.legal_name,
            "trade_name": receipt.issuer.trade_name,
            "address_code": receipt.issuer.address_code,
        },
        "customer": {
            "identity_type": receipt.customer.identity_type.value,
            "number": receipt.customer.number,
            "name": receipt.customer.name,
        },
        "lines": [
            {
                "description": line.description,
                "quantity": str(line.quantity),
                "unit_value": str(line.unit_value),
                "unit_code": line.unit_code,
                "affectation": line.affectation,
                "product_code": line.product_code,
            }
            for line in receipt.lines
        ],
        "payment": {
            "form": receipt.payment.form.value,
            "installments": [
                {"amount": str(i.amount), "due_date": i.due_date.isoformat()}
                for i in receipt.payment.installments
            ],
        },
        "reference": None
        if receipt.reference is None
        else {
            "document_type": receipt.reference.document_type.value,
            "series": receipt.reference.series,
            "number": receipt.reference.number,
            "reason_code": receipt.reference.reason_code,
            "reason": receipt.reference.reason,
        },
    }


def receipt_from_json(data: dict[str, Any]) -> Comprobante:
    """Rebuild a receipt; malformed data raises ``BillingError`` naming what is wrong."""
    try:
        reference = data.get("reference")
        time_text = data.get("issue_time")
        return Comprobante(
            document_type=DocumentType(data["document_type"]),
            series=data["series"],
            number=int(data["number"]),
            issue_date=dt.date.fromisoformat(data["issue_date"]),
            issue_time=dt.time.fromisoformat(time_text) if time_text else None,
            currency=data.get("currency", "PEN"),
            operation_type=OperationType(data.get("operation_type", "0101")),
            issuer=Issuer(**data["issuer"]),
            customer=Customer(
                IdentityType(data["customer"]["identity_type"]),
                data["customer"]["number"],
                data["customer"]["name"],
            ),
            lines=tuple(
                Line(
                    description=line["description"],
                    quantity=Decimal(line["quantity"]),
                    unit_value=Decimal(line["unit_value"]),
                    unit_code=line.get("unit_code", "NIU"),
                    affectation=line.get("affectation", "10"),
                    product_code=line.get("product_code", ""),
                )
                for line in data["lines"]
            ),
            payment=PaymentTerms(
                PaymentForm(data.get("payment", {}).get("form", "Contado")),
                tuple(
                    Installment(Decimal(i["amount"]), dt.date.fromisoformat(i["due_date"]))
                    for i in data.get("payment", {}).get("installments", ())
                ),
            ),
            reference=None
            if reference is None
            else NoteReference(
                DocumentType(reference["document_type"]),
                reference["series"],
                int(reference["number"]),
                reference["reason_code"],
                reference["reason"],
            ),
        )
    except FacturacionError as error:
        raise BillingError(f"the stored receipt is invalid: {error}") from error
    except (KeyError, TypeError, ValueError, InvalidOperation) as error:
        raise BillingError(
            f"the stored receipt is malformed ({type(error).__name__}: {error}); "
            "store receipts with receipt_to_json"
        ) from error
