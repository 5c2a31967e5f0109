"""The billing store's contract on both backends: SQLite and PostgreSQL.

The same behaviours, parametrised: receipts stored once, final states kept, the
e-mail claim exclusive across connections, the rate limit shared across connections,
progress and resume queries. PostgreSQL runs when its test server answers (it is
skipped locally without one and required in CI).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from facturacion import samples
from facturacion.billing.errors import SettingsError
from facturacion.billing.ratelimit import SharedRateLimiter
from facturacion.billing.store import BillingStore, ReceiptState

Opener = Callable[[], BillingStore]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[Opener]:
    if request.param == "sqlite":
        target: str | Path = tmp_path / "billing.sqlite3"
        yield lambda: BillingStore(target, clock=clock)
        return
    base: str = request.getfixturevalue("postgres_url")
    schema = f"billing_test_{uuid.uuid4().hex[:10]}"
    url = f"{base}{'&' if '?' in base else '?'}schema={schema}"
    yield lambda: BillingStore(url, clock=clock)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[call-overload]


def test_receipts_states_and_progress(opener: Opener, clock: Clock) -> None:
    """Stored once; a final state is kept; counts, progress and resume agree."""
    store = opener()
    try:
        receipts = [samples.factura(1), samples.boleta(1), samples.nota_credito(1)]
        assert store.add_many((r, "a@b.example") for r in receipts) == 3
        assert store.add_many((r, "") for r in receipts) == 0
        store.record_outcome(receipts[0].key, ReceiptState.ACCEPTED, code=0, cdr_path="/c.zip")
        store.record_outcome(receipts[0].key, ReceiptState.ERROR, code=1033)
        store.record_outcome(receipts[1].key, ReceiptState.REJECTED, code=2800)
        store.set_pdf(receipts[0].key, "/p.pdf")
        assert store.get(receipts[0].key).state is ReceiptState.ACCEPTED
        assert store.get(receipts[0].key).comprobante() == receipts[0]
        assert store.counts()[ReceiptState.PENDING] == 1
        assert store.progress() == {"total": 3, "final": 2, "pdfs": 1, "emails": 0, "valid": 1}
        assert store.unfinished() == {"send": [receipts[2].key], "pdf": [],
                                      "email": [receipts[0].key]}  # fmt: skip
        assert len(store.of_day(samples.ISSUE_DATE)) == 3
        clock.now += 10
        assert len(store.in_states({ReceiptState.PENDING}, updated_before=clock.now)) == 1
    finally:
        store.close()


def test_the_email_claim_and_the_rate_limit_hold_across_connections(
    opener: Opener, clock: Clock
) -> None:
    """Two connections (two workers): one claim wins; slots are shared, not duplicated."""
    first, second = opener(), opener()
    try:
        receipt = samples.factura(2)
        first.add(receipt, "a@b.example")
        assert first.claim_email(receipt.key, stale_after=30)
        assert not second.claim_email(receipt.key, stale_after=30)
        assert second.email_claim_stale_in(receipt.key, stale_after=30) == 30
        second.mark_emailed(receipt.key)
        assert first.get(receipt.key).emailed_at == clock.now
        waits = [SharedRateLimiter(store, clock=clock).take("erp", 4, max_wait=1).wait
                 for store in (first, second, first)]  # fmt: skip
        assert waits == [0.0, 0.25, 0.5]
        with pytest.raises(RuntimeError), first.transaction():
            raise RuntimeError("rolled back")
    finally:
        first.close()
        second.close()


def test_a_bad_postgresql_target_says_what_is_wrong(postgres_url: str) -> None:
    """A schema that is not a plain name, or a server that does not answer, is a clear error."""
    with pytest.raises(SettingsError, match="plain schema name"):
        BillingStore(f"{postgres_url}{'&' if '?' in postgres_url else '?'}schema=a-b")
    with pytest.raises(SettingsError, match="cannot open the billing store"):
        BillingStore("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
