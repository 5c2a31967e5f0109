"""The demo's summary names the receipts a person must look at, and says why."""

from __future__ import annotations

from facturacion import samples
from facturacion.billing.demo.run import Demo
from facturacion.billing.store import BillingStore, ReceiptState


def test_receipts_in_error_are_listed_with_their_message(store: BillingStore) -> None:
    """Up to five are shown with SUNAT's message; the rest are counted; none: no line."""
    receipts = [samples.boleta(n) for n in range(1, 8)]
    store.add_many((r, "") for r in receipts)
    assert Demo._needs_a_person({r.key: r for r in store.all()}) == ""
    for receipt in receipts:
        store.record_outcome(receipt.key, ReceiptState.ERROR, code=1033,
                             message="SUNAT fault 1033: registrado previamente")  # fmt: skip
    text = Demo._needs_a_person({r.key: r for r in store.all()})
    assert "needs a person:  7" in text
    assert f"{receipts[0].key}: SUNAT fault 1033" in text
    assert "... and 2 more" in text
