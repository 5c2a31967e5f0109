"""Receipts as JSON: every sample survives the round trip; bad data gets a clear error."""

from __future__ import annotations

import json

import pytest

from facturacion import samples
from facturacion.billing.codec import receipt_from_json, receipt_to_json
from facturacion.billing.errors import BillingError
from facturacion.model import Comprobante


@pytest.mark.parametrize(
    "receipt",
    [
        samples.factura(),
        samples.factura_credito(),
        samples.boleta(),
        samples.nota_credito(),
        samples.nota_debito(),
    ],
    ids=["factura", "factura-credito", "boleta", "nota-credito", "nota-debito"],
)
def test_round_trip_through_json_text(receipt: Comprobante) -> None:
    """The JSON text (what a payload or the store holds) rebuilds an equal receipt."""
    text = json.dumps(receipt_to_json(receipt))
    assert receipt_from_json(json.loads(text)) == receipt


def test_malformed_data_names_the_problem() -> None:
    """A missing field or a non-number says it is malformed, never a bare KeyError."""
    data = receipt_to_json(samples.factura())
    del data["issuer"]
    with pytest.raises(BillingError, match="malformed"):
        receipt_from_json(data)
    data = receipt_to_json(samples.factura())
    data["lines"][0]["quantity"] = "many"
    with pytest.raises(BillingError, match="malformed"):
        receipt_from_json(data)


def test_invalid_receipts_are_refused_with_the_field() -> None:
    """Data that parses but breaks a SUNAT rule is refused with the model's message."""
    data = receipt_to_json(samples.factura())
    data["customer"] = {"identity_type": "1", "number": "44556677", "name": "ROSA"}
    with pytest.raises(BillingError, match=r"customer\.identity_type"):
        receipt_from_json(data)
