"""One SQL connection for the billing store: SQLite (a file) or PostgreSQL (a URL).

The store's SQL is written once, in the dialect both share (``ON CONFLICT``,
``RETURNING``, ``CASE``, ``DOUBLE PRECISION``) with ``?`` placeholders; this module
hides the rest: placeholders, row access by column name, how a transaction that
writes is opened, and where PostgreSQL keeps the tables (a schema of their own,
``facturacion`` unless the URL says ``?schema=``, so they never meet the queue's).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from capataz.sqlite_write import write_transaction
from facturacion.billing.errors import SettingsError

Row = dict[str, Any]
DEFAULT_SCHEMA = "facturacion"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class Link(Protocol):
    #: Appended to a SELECT that reads a row about to be changed (" FOR UPDATE" or "").
    lock_rows: str
    where: str

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    def transaction(self) -> Any: ...
    def close(self) -> None: ...


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


class SqliteLink:
    lock_rows = ""  # BEGIN IMMEDIATE already holds the write lock

    def __init__(self, path: Path | str, schema: str) -> None:
        self.where = str(path)
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            str(path), timeout=30, isolation_level=None, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.executescript(schema)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return [dict(row) for row in self._db.execute(sql, tuple(params)).fetchall()]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._lock:
            return int(self._db.execute(sql, tuple(params)).rowcount)

    @contextmanager
    def transaction(self) -> Iterator[SqliteLink]:
        """``BEGIN IMMEDIATE``: writers queue up for the lock instead of failing later."""
        with write_transaction(self._db, self._lock):
            yield self

    def close(self) -> None:
        self._db.close()


class PostgresLink:
    lock_rows = " FOR UPDATE"

    def __init__(self, url: str, schema_sql: str) -> None:
        try:
            import psycopg
            from psycopg.rows import dict_row
        except ImportError as error:  # pragma: no cover - only without the postgres extra
            raise SettingsError(
                f"a postgresql:// billing store needs psycopg 3 ({error}); "
                "pip install 'capataz[postgres]'"
            ) from error
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        schema = params.pop("schema", DEFAULT_SCHEMA)
        if not _IDENTIFIER.match(schema):
            raise SettingsError(f"?schema={schema!r} is not a plain schema name; use letters, "
                                "digits and _ (for example ?schema=facturacion)")  # fmt: skip
        conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(params), ""))
        self.where = f"PostgreSQL at {parts.hostname or 'localhost'}:{parts.port or 5432}" \
            f"{parts.path or '/'} (schema {schema})"
        self._lock = threading.RLock()
        try:
            self._db = psycopg.connect(conninfo, autocommit=True, row_factory=dict_row)
        except psycopg.Error as error:
            raise SettingsError(
                f"cannot open the billing store in {self.where}: {error}"
            ) from error
        # Several workers may create the schema at once; the advisory lock orders them.
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (schema,))
            self._db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            self._db.execute(f'SET search_path TO "{schema}"')
            for statement in schema_sql.split(";"):
                if statement.strip():
                    self._db.execute(statement)
        self._db.execute(f'SET search_path TO "{schema}"')

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return list(self._db.execute(self._sql(sql), tuple(params)).fetchall())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._lock:
            return int(self._db.execute(self._sql(sql), tuple(params)).rowcount)

    @contextmanager
    def transaction(self) -> Iterator[PostgresLink]:
        with self._lock, self._db.transaction():
            yield self

    def close(self) -> None:
        self._db.close()


def open_link(target: Path | str, schema_sql: str) -> Link:
    """A PostgreSQL URL, or else a SQLite file path."""
    if isinstance(target, str) and is_postgres_url(target):
        return PostgresLink(target, schema_sql)
    return SqliteLink(target, schema_sql)
