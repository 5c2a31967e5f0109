"""The billing store: every receipt, its SUNAT state and where its files are.

One SQLite file (WAL) shared by every worker process, or the queue's PostgreSQL
database when the queue runs there (see ``sqllink``). The SUNAT side of a receipt (its
signed bytes, ticket and CDR) lives in ``facturacion.store.DocumentStore`` under the
same key; this table holds what the rest of the business needs: the customer and their
e-mail, the amounts, a state a person can read, and the paths of the XML, CDR and PDF.

Each change is one guarded UPDATE: a final state (accepted, observed, rejected) is never
overwritten, so a retried or duplicated job cannot undo an answer. Wall-clock time is
used on purpose: the timestamps are compared across processes and shown to people.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from facturacion.billing.codec import receipt_to_json
from facturacion.billing.errors import UnknownReceiptError
from facturacion.billing.records import FINAL_STATES, Receipt, ReceiptState, receipt_from_row
from facturacion.billing.sqllink import Link, Row, is_postgres_url, open_link
from facturacion.model import Comprobante

__all__ = ["FINAL_STATES", "BillingStore", "Receipt", "ReceiptState"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS receipts (
    key TEXT PRIMARY KEY,
    document_type TEXT NOT NULL,
    series TEXT NOT NULL,
    number INTEGER NOT NULL,
    issue_date TEXT NOT NULL,
    currency TEXT NOT NULL,
    customer_number TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    customer_email TEXT NOT NULL DEFAULT '',
    taxable TEXT NOT NULL,
    igv TEXT NOT NULL,
    total TEXT NOT NULL,
    document TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    sunat_code INTEGER,
    message TEXT NOT NULL DEFAULT '',
    digest_value TEXT,
    xml_path TEXT,
    cdr_path TEXT,
    pdf_path TEXT,
    email_claimed_at DOUBLE PRECISION,
    emailed_at DOUBLE PRECISION,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS receipts_by_state ON receipts (state, updated_at);
CREATE INDEX IF NOT EXISTS receipts_by_day ON receipts (issue_date);
CREATE TABLE IF NOT EXISTS rate_limits (
    name TEXT PRIMARY KEY,
    next_free DOUBLE PRECISION NOT NULL
);
"""


class BillingStore:
    """Receipts by key; safe to share between threads, and between processes."""

    def __init__(self, target: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        """``target``: a SQLite file path, or a ``postgresql://`` URL."""
        self.target = target
        self._clock = clock
        self._link: Link = open_link(target, _SCHEMA)

    @property
    def where(self) -> str:
        return self._link.where

    @property
    def is_postgres(self) -> bool:
        return isinstance(self.target, str) and is_postgres_url(self.target)

    def close(self) -> None:
        self._link.close()

    @contextmanager
    def transaction(self) -> Iterator[Link]:
        """One writing transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: ``BEGIN``)."""
        with self._link.transaction() as link:
            yield link

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return self._link.query(sql, tuple(params))

    # ------------------------------------------------------------------ adding
    def add(self, receipt: Comprobante, email: str = "") -> bool:
        """Store a new receipt; False when its key is already stored (nothing changes)."""
        return self.add_many([(receipt, email)]) == 1

    def add_many(self, receipts: Iterable[tuple[Comprobante, str]]) -> int:
        now = self._clock()
        rows = [
            (
                r.key, r.document_type.value, r.series, r.number, r.issue_date.isoformat(),
                r.currency, r.customer.number, r.customer.name, email, str(r.line_extension),
                str(r.tax_total), str(r.payable), json.dumps(receipt_to_json(r)), now, now,
            )
            for r, email in receipts
        ]  # fmt: skip
        with self.transaction() as db:
            return sum(
                db.execute(
                    "INSERT INTO receipts (key, document_type, series, number, issue_date,"
                    " currency, customer_number, customer_name, customer_email, taxable, igv,"
                    " total, document, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (key) DO NOTHING",
                    row,
                )
                for row in rows
            )

    # ------------------------------------------------------------------ reading
    def find(self, key: str) -> Receipt | None:
        rows = self._query("SELECT * FROM receipts WHERE key = ?", (key,))
        return receipt_from_row(rows[0]) if rows else None

    def get(self, key: str) -> Receipt:
        found = self.find(key)
        if found is None:
            raise UnknownReceiptError(
                f"no receipt {key} in the billing store {self.where}; add it before dispatching"
            )
        return found

    def all(self) -> list[Receipt]:
        return [receipt_from_row(row) for row in self._query("SELECT * FROM receipts ORDER BY key")]

    def of_day(self, day: dt.date) -> list[Receipt]:
        rows = self._query(
            "SELECT * FROM receipts WHERE issue_date = ? ORDER BY key", (day.isoformat(),)
        )
        return [receipt_from_row(row) for row in rows]

    def in_states(
        self, states: Iterable[ReceiptState], *, updated_before: float | None = None
    ) -> list[Receipt]:
        values = [state.value for state in states]
        marks = ",".join("?" * len(values))
        sql = f"SELECT * FROM receipts WHERE state IN ({marks})"  # noqa: S608 - placeholders only
        params: list[Any] = list(values)
        if updated_before is not None:
            sql += " AND updated_at < ?"
            params.append(updated_before)
        return [receipt_from_row(row) for row in self._query(sql + " ORDER BY key", params)]

    def counts(self) -> dict[ReceiptState, int]:
        rows = self._query("SELECT state, COUNT(*) AS n FROM receipts GROUP BY state")
        found = {ReceiptState(row["state"]): int(row["n"]) for row in rows}
        return {state: found.get(state, 0) for state in ReceiptState}

    def progress(self) -> dict[str, int]:
        """How far the batch is: totals, final answers, PDFs made and e-mails sent."""
        row = self._query(
            "SELECT COUNT(*) AS total,"
            " SUM(CASE WHEN state IN ('accepted', 'observed', 'rejected') THEN 1 ELSE 0 END)"
            " AS final,"
            " SUM(CASE WHEN pdf_path IS NOT NULL THEN 1 ELSE 0 END) AS pdfs,"
            " SUM(CASE WHEN emailed_at IS NOT NULL THEN 1 ELSE 0 END) AS emails,"
            " SUM(CASE WHEN state IN ('accepted', 'observed') THEN 1 ELSE 0 END) AS valid"
            " FROM receipts"
        )[0]
        return {name: int(value or 0) for name, value in row.items()}

    # ------------------------------------------------------------------ state changes
    def mark_signed(self, key: str, xml_path: str, digest_value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE receipts SET xml_path = ?, digest_value = ?, updated_at = ? WHERE key = ?",
                (xml_path, digest_value, self._clock(), key),
            )

    def record_outcome(
        self,
        key: str,
        state: ReceiptState,
        *,
        code: int | None = None,
        message: str = "",
        cdr_path: str | None = None,
    ) -> Receipt:
        """Record SUNAT's answer; a receipt already in a final state keeps it."""
        with self.transaction() as db:
            db.execute(
                "UPDATE receipts SET state = ?, sunat_code = ?, message = ?,"
                " cdr_path = COALESCE(?, cdr_path), updated_at = ?"
                " WHERE key = ? AND state NOT IN ('accepted', 'observed', 'rejected')",
                (state.value, code, message, cdr_path, self._clock(), key),
            )
        return self.get(key)

    def set_pdf(self, key: str, pdf_path: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE receipts SET pdf_path = ?, updated_at = ? WHERE key = ?",
                (pdf_path, self._clock(), key),
            )

    def claim_email(self, key: str, *, stale_after: float) -> bool:
        """Take the right to e-mail this receipt; a claim older than ``stale_after`` s is dead.

        A worker killed between the SMTP send and ``mark_emailed`` leaves a claim behind;
        once it is stale the next attempt sends again (at least once, never silently never).
        """
        now = self._clock()
        with self.transaction() as db:
            claimed = db.execute(
                "UPDATE receipts SET email_claimed_at = ? WHERE key = ? AND emailed_at IS NULL"
                " AND (email_claimed_at IS NULL OR email_claimed_at < ?)",
                (now, key, now - stale_after),
            )
            return claimed == 1

    def email_claim_stale_in(self, key: str, *, stale_after: float) -> float:
        """Seconds until the current e-mail claim goes stale (0 when there is none)."""
        rows = self._query("SELECT email_claimed_at FROM receipts WHERE key = ?", (key,))
        if not rows or rows[0]["email_claimed_at"] is None:
            return 0.0
        return max(0.0, float(rows[0]["email_claimed_at"]) + stale_after - self._clock())

    def mark_emailed(self, key: str) -> None:
        now = self._clock()
        with self.transaction() as db:
            db.execute(
                "UPDATE receipts SET emailed_at = ?, updated_at = ? WHERE key = ?", (now, now, key)
            )

    def release_email(self, key: str) -> None:
        """Give the claim back after a failed send, so the retry can claim it at once."""
        with self.transaction() as db:
            db.execute(
                "UPDATE receipts SET email_claimed_at = NULL WHERE key = ? AND emailed_at IS NULL",
                (key,),
            )

    # ------------------------------------------------------------------ resuming
    def unfinished(self) -> dict[str, list[str]]:
        """Keys whose next step never happened: to send, to print, to e-mail."""
        send = self._query(
            "SELECT key FROM receipts WHERE state IN ('pending', 'sent') ORDER BY key"
        )
        pdf = self._query(
            "SELECT key FROM receipts WHERE state IN ('accepted', 'observed')"
            " AND pdf_path IS NULL ORDER BY key"
        )
        mail = self._query(
            "SELECT key FROM receipts WHERE pdf_path IS NOT NULL AND emailed_at IS NULL"
            " AND customer_email != '' ORDER BY key"
        )
        return {
            "send": [row["key"] for row in send],
            "pdf": [row["key"] for row in pdf],
            "email": [row["key"] for row in mail],
        }
