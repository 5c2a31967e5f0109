"""The demo's batch and its script: every document type, every scripted path, repeatable."""

from __future__ import annotations

from collections import Counter

from facturacion.billing.demo.batch import make_receipts, script
from facturacion.billing.store import ReceiptState
from facturacion.catalogs import DocumentType


def test_a_batch_holds_all_four_types_and_valid_notes() -> None:
    """Facturas, boletas and both notes; each note points at an earlier bill of its letter."""
    receipts = make_receipts(200, seed=3)
    assert len({r.key for r, _ in receipts}) == 200
    types = Counter(r.document_type for r, _ in receipts)
    assert set(types) == set(DocumentType)
    seen: set[tuple[str, int]] = set()
    for receipt, email in receipts:
        assert "@" in email
        if receipt.reference is not None:
            assert (receipt.reference.series, receipt.reference.number) in seen
            assert receipt.series[0] == receipt.reference.series[0]
        seen.add((receipt.series, receipt.number))
    assert any(r.currency == "USD" for r, _ in receipts)
    assert any(r.payment.installments for r, _ in receipts)


def test_the_same_seed_gives_the_same_batch() -> None:
    """A run can be repeated: same seed, same receipts (up to the day's date)."""
    assert make_receipts(30, seed=5) == make_receipts(30, seed=5)
    assert make_receipts(30, seed=5) != make_receipts(30, seed=6)


def test_even_a_small_batch_walks_every_path() -> None:
    """Forty receipts still get a reject, an observation, a transient fault and a late answer."""
    batch = script(make_receipts(40), read_timeout=3)
    scripts = Counter(e.script for e in batch.expectations.values())
    assert set(scripts) == {"accepted", "rejected", "observed", "transient", "unknown-outcome"}
    assert batch.scripted("rejected") == 2
    for expectation in batch.expectations.values():
        if expectation.script == "rejected":
            assert expectation.final_state is ReceiptState.REJECTED
            assert 2000 <= expectation.code < 4000
        series = expectation.key.split("-")[2]
        if expectation.script in {"rejected", "observed"}:
            assert series.startswith("F"), "a boleta's lost CDR cannot be asked for again"
        if expectation.script == "unknown-outcome":
            # A late boleta is settled by the Consulta Integrada, which gives no CDR.
            assert expectation.proof == ("consulta" if series.startswith("B") else "cdr")
        else:
            assert expectation.proof == "cdr"
    late = {e.key.split("-")[2][0] for e in batch.expectations.values()
            if e.script == "unknown-outcome"}  # fmt: skip
    assert late == {"F", "B"}
    slow = [rule for rule in batch.rules if rule["kind"] == "slow"]
    assert slow
    assert all(rule["delay"] == 5 for rule in slow)
    assert {rule["match"] for rule in batch.rules} <= set(batch.expectations)
