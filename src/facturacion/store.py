"""Where each document's signed bytes, state, ticket and CDR live: one SQLite table.

The key is ``RUC-TT-SERIE-NUMERO`` (or ``RUC-RC-YYYYMMDD-n``). Once a row exists its
signed XML and zip never change: every send of that number sends exactly those bytes.
Each state change is one guarded UPDATE, so two workers cannot both claim a send.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from capataz.sqlite_write import write_transaction
from facturacion.errors import UnknownDocumentError


class State(StrEnum):
    PREPARED = "prepared"  # signed and stored, never sent
    SENDING = "sending"  # a worker claimed the send (crash here = unknown outcome)
    PENDING = "pending"  # a transient failure: retry the same bytes
    UNKNOWN = "unknown"  # sent, no answer: query or resend the same bytes
    TICKET = "ticket"  # summary accepted for processing: poll getStatus
    ACCEPTED = "accepted"
    OBSERVED = "observed"
    REJECTED = "rejected"
    VOIDED = "voided"  # getStatusCdr 0003: accepted, then voided (de baja)
    DUPLICATE = "duplicate"  # SUNAT already holds the number: reconcile by hand
    CONFIGURATION = "configuration"  # alert a person; resend after the fix

    @property
    def is_final(self) -> bool:
        return self in {State.ACCEPTED, State.OBSERVED, State.REJECTED, State.VOIDED}


_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    signed_xml BLOB NOT NULL,
    zip BLOB NOT NULL,
    digest_value TEXT NOT NULL,
    state TEXT NOT NULL,
    sends INTEGER NOT NULL DEFAULT 0,
    uncertain INTEGER NOT NULL DEFAULT 0,
    polls INTEGER NOT NULL DEFAULT 0,
    claimed_at REAL,
    ticket TEXT,
    response_code INTEGER,
    message TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '[]',
    cdr_zip BLOB,
    evidence BLOB,
    claimed_by TEXT
)
"""


@dataclass(frozen=True)
class StoredDocument:
    key: str
    fingerprint: str
    signed_xml: bytes
    zip: bytes
    digest_value: str
    state: State
    sends: int
    uncertain: bool  # a send may have registered without us seeing the answer
    polls: int
    claimed_at: float | None
    ticket: str | None
    response_code: int | None
    message: str
    notes: tuple[str, ...]
    cdr_zip: bytes | None
    # A status answer that settled the document without a CDR (the Consulta Integrada's
    # JSON for a boleta), kept as received: the proof of the recorded state.
    evidence: bytes | None = None
    claimed_by: str | None = None  # HOST:PID of the process that claimed the send


class DocumentStore:
    """SQLite (WAL) table of prepared documents; safe across threads and processes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path), timeout=30, isolation_level=None, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add columns newer versions use to a store an older version created."""
        columns = {row["name"] for row in self._db.execute("PRAGMA table_info(documents)")}
        if "uncertain" not in columns:
            self._db.execute(
                "ALTER TABLE documents ADD COLUMN uncertain INTEGER NOT NULL DEFAULT 0"
            )
        if "evidence" not in columns:
            self._db.execute("ALTER TABLE documents ADD COLUMN evidence BLOB")
        if "claimed_by" not in columns:
            self._db.execute("ALTER TABLE documents ADD COLUMN claimed_by TEXT")

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return write_transaction(self._db, self._lock)

    def insert_if_absent(
        self, key: str, fingerprint: str, signed_xml: bytes, zip_bytes: bytes, digest: str
    ) -> StoredDocument:
        """Store a newly signed document unless the key exists; return what is stored."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO documents"
                " (key, fingerprint, signed_xml, zip, digest_value, state)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, fingerprint, signed_xml, zip_bytes, digest, State.PREPARED.value),
            )
        return self.get(key)

    def find(self, key: str) -> StoredDocument | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM documents WHERE key = ?", (key,)).fetchone()
        return None if row is None else _document(row)

    def documents(self, state: State | None = None) -> list[StoredDocument]:
        """Every stored document (or those in ``state``), by key."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM documents WHERE :state IS NULL OR state = :state ORDER BY key",
                {"state": None if state is None else state.value},
            ).fetchall()
        return [_document(row) for row in rows]

    def get(self, key: str) -> StoredDocument:
        found = self.find(key)
        if found is None:
            raise UnknownDocumentError(
                f"no document is prepared under {key}; prepare (build and sign) it before sending"
            )
        return found

    def claim(
        self,
        key: str,
        allowed: frozenset[State],
        now: float,
        stale_before: float,
        claimer: str | None = None,
    ) -> bool:
        """Move to SENDING if the state allows it, or a previous claim went stale (a crash).

        Taking over a stale claim marks the document uncertain: the dead worker may
        have sent it. ``claimer`` (``HOST:PID``) tells an operator who holds the send.
        """
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE documents SET state = :sending, claimed_at = :now, sends = sends + 1,"
                " claimed_by = :claimer,"
                " uncertain = CASE WHEN state = :sending THEN 1 ELSE uncertain END"
                " WHERE key = :key AND (state IN (SELECT value FROM json_each(:allowed))"
                " OR (state = :sending AND claimed_at < :stale_before))",
                {
                    "sending": State.SENDING.value,
                    "now": now,
                    "claimer": claimer,
                    "key": key,
                    "allowed": json.dumps(sorted(state.value for state in allowed)),
                    "stale_before": stale_before,
                },
            )
            return cursor.rowcount == 1

    def record(
        self,
        key: str,
        state: State,
        *,
        code: int | None = None,
        message: str = "",
        notes: tuple[str, ...] = (),
        cdr_zip: bytes | None = None,
        evidence: bytes | None = None,
    ) -> StoredDocument:
        with self._transaction() as db:
            db.execute(
                "UPDATE documents SET state = :state, claimed_at = NULL, response_code = :code,"
                " message = :message, notes = :notes, cdr_zip = COALESCE(:cdr_zip, cdr_zip),"
                " evidence = COALESCE(:evidence, evidence),"
                " uncertain = CASE WHEN :state = :unknown THEN 1 ELSE uncertain END"
                " WHERE key = :key",
                {
                    "state": state.value,
                    "code": code,
                    "message": message,
                    "notes": json.dumps(list(notes)),
                    "cdr_zip": cdr_zip,
                    "evidence": evidence,
                    "unknown": State.UNKNOWN.value,
                    "key": key,
                },
            )
        return self.get(key)

    def keep_ticket(self, key: str, ticket: str) -> StoredDocument:
        """Persist a summary's ticket the moment it arrives, before anything else happens."""
        with self._transaction() as db:
            db.execute(
                "UPDATE documents SET ticket = ?, state = ?, claimed_at = NULL WHERE key = ?",
                (ticket, State.TICKET.value, key),
            )
        return self.get(key)

    def count_poll(self, key: str) -> int:
        with self._transaction() as db:
            db.execute("UPDATE documents SET polls = polls + 1 WHERE key = ?", (key,))
            row = db.execute("SELECT polls FROM documents WHERE key = ?", (key,)).fetchone()
        return int(row[0])


def _document(row: Any) -> StoredDocument:
    """A ``sqlite3.Row`` (columns by name) as a typed record."""
    return StoredDocument(
        key=row["key"],
        fingerprint=row["fingerprint"],
        signed_xml=bytes(row["signed_xml"]),
        zip=bytes(row["zip"]),
        digest_value=row["digest_value"],
        state=State(row["state"]),
        sends=row["sends"],
        uncertain=bool(row["uncertain"]),
        polls=row["polls"],
        claimed_at=row["claimed_at"],
        ticket=row["ticket"],
        response_code=row["response_code"],
        message=row["message"],
        notes=tuple(json.loads(row["notes"])),
        cdr_zip=None if row["cdr_zip"] is None else bytes(row["cdr_zip"]),
        evidence=None if row["evidence"] is None else bytes(row["evidence"]),
        claimed_by=row["claimed_by"],
    )
