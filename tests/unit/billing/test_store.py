"""The billing store: receipts by key, guarded state changes, and what a restart resumes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from facturacion import samples
from facturacion.billing.errors import UnknownReceiptError
from facturacion.billing.store import BillingStore, ReceiptState
from facturacion.model import Comprobante

from .conftest import WallClock


def test_a_receipt_is_stored_once_with_its_amounts(
    store: BillingStore, factura: Comprobante
) -> None:
    """Adding the same key twice stores it once; the amounts are the receipt's own."""
    assert store.add(factura, "compras@cliente.example")
    assert not store.add(factura, "otro@cliente.example")
    stored = store.get(factura.key)
    assert stored.state is ReceiptState.PENDING
    assert stored.customer_email == "compras@cliente.example"
    assert (stored.taxable, stored.igv, stored.total) == (
        factura.line_extension, factura.tax_total, factura.payable,
    )  # fmt: skip
    assert stored.document_id == "F001-1"
    assert stored.comprobante() == factura


def test_an_unknown_key_says_what_to_do(store: BillingStore) -> None:
    """Asking for a key never stored raises an error that names the key and the remedy."""
    assert store.find("nope") is None
    with pytest.raises(UnknownReceiptError, match="add it before dispatching"):
        store.get("20000000001-01-F001-99")


def test_a_final_state_is_never_overwritten(store: BillingStore, factura: Comprobante) -> None:
    """Once accepted, a late duplicate answer (a retried job) cannot change the state."""
    store.add(factura)
    store.record_outcome(factura.key, ReceiptState.SENT, message="no answer yet")
    store.record_outcome(factura.key, ReceiptState.ACCEPTED, code=0, cdr_path="/x/R.zip")
    after = store.record_outcome(factura.key, ReceiptState.ERROR, code=1033, message="dup")
    assert after.state is ReceiptState.ACCEPTED
    assert after.sunat_code == 0
    assert after.cdr_path == "/x/R.zip"


def test_the_email_claim_is_exclusive_until_it_goes_stale(
    store: BillingStore, factura: Comprobante, clock: WallClock
) -> None:
    """One worker holds the right to e-mail; a dead worker's claim expires; a sent one ends it."""
    store.add(factura, "a@b.example")
    assert store.email_claim_stale_in(factura.key, stale_after=60) == 0
    assert store.claim_email(factura.key, stale_after=60)
    assert not store.claim_email(factura.key, stale_after=60)
    clock.advance(20)
    assert store.email_claim_stale_in(factura.key, stale_after=60) == 40
    clock.advance(41)
    assert store.claim_email(factura.key, stale_after=60)
    store.release_email(factura.key)
    assert store.claim_email(factura.key, stale_after=60)
    store.mark_emailed(factura.key)
    sent_at = clock.now
    clock.advance(3600)
    assert not store.claim_email(factura.key, stale_after=60)
    assert store.get(factura.key).emailed_at == sent_at


def test_unfinished_lists_the_step_each_receipt_still_needs(store: BillingStore) -> None:
    """After a stop, every receipt's next step is known: send, print or e-mail."""
    to_send, to_print, to_mail, done, rejected = (samples.factura(n) for n in range(1, 6))
    for receipt in (to_send, to_print, to_mail, done, rejected):
        store.add(receipt, "c@d.example")
    for receipt in (to_print, to_mail, done):
        store.record_outcome(receipt.key, ReceiptState.ACCEPTED, code=0)
    store.record_outcome(rejected.key, ReceiptState.REJECTED, code=2800)
    store.set_pdf(to_mail.key, "/p.pdf")
    store.set_pdf(done.key, "/p.pdf")
    store.mark_emailed(done.key)
    assert store.unfinished() == {
        "send": [to_send.key], "pdf": [to_print.key], "email": [to_mail.key],
    }  # fmt: skip


def test_counts_progress_and_queries(store: BillingStore, clock: WallClock) -> None:
    """Counts by state, the batch's progress, receipts of a day and stale receipts by state."""
    receipts = [samples.factura(1), samples.boleta(1), samples.nota_credito(1)]
    assert store.add_many((r, "") for r in receipts) == 3
    clock.advance(100)
    store.record_outcome(receipts[0].key, ReceiptState.OBSERVED, code=0)
    store.set_pdf(receipts[0].key, "/p.pdf")
    store.record_outcome(receipts[1].key, ReceiptState.SENT)
    counts = store.counts()
    assert counts[ReceiptState.OBSERVED] == 1
    assert counts[ReceiptState.SENT] == 1
    assert counts[ReceiptState.PENDING] == 1
    assert counts[ReceiptState.REJECTED] == 0
    assert store.progress() == {"total": 3, "final": 1, "pdfs": 1, "emails": 0, "valid": 1}
    assert [r.key for r in store.of_day(samples.ISSUE_DATE)] == sorted(r.key for r in receipts)
    assert store.of_day(dt.date(2000, 1, 1)) == []
    stale = store.in_states({ReceiptState.PENDING, ReceiptState.SENT}, updated_before=clock.now)
    assert [r.key for r in stale] == [receipts[2].key]
    assert len(store.in_states({ReceiptState.PENDING, ReceiptState.SENT})) == 2
    assert sum((r.total for r in store.all()), Decimal(0)) == sum(r.payable for r in receipts)


def test_states_know_which_are_final_and_valid() -> None:
    """Accepted and observed are valid receipts; rejected is final but not valid."""
    assert ReceiptState.OBSERVED.is_valid_receipt
    assert ReceiptState.REJECTED.is_final
    assert not ReceiptState.REJECTED.is_valid_receipt
    assert not ReceiptState.ERROR.is_final


def test_a_second_store_on_the_same_file_sees_the_changes(
    store: BillingStore, factura: Comprobante, tmp_path: object
) -> None:
    """Workers are separate processes: one file, many connections, one truth."""
    store.add(factura)
    other = BillingStore(store.target)
    try:
        other.record_outcome(factura.key, ReceiptState.ACCEPTED, code=0)
    finally:
        other.close()
    assert store.get(factura.key).state is ReceiptState.ACCEPTED
    with pytest.raises(RuntimeError), store.transaction():
        raise RuntimeError("rolled back")
    memory = BillingStore(":memory:")
    memory.close()
