"""The PostgreSQL store's URL, its SQL bound to one schema, and its migrations.

A store lives in one schema of a database (``capataz`` unless the URL says
``?schema=...``), so its ``jobs`` table never collides with an application's
own (a Laravel application already has one). Every statement names the schema,
which lets the same SQL run on a caller's connection whatever its search_path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from capataz.queue.backends.sqlfile import load_queries
from capataz.queue.errors import QueueURLError, StoreError

RAW = load_queries("postgres_queries.sql")
SCHEMA_VERSION = max(int(name.split("_")[1]) for name in RAW if name.startswith("migration_"))
DEFAULT_SCHEMA = "capataz"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")
#: libpq settings we add when the URL does not choose: fail fast, detect dead peers.
_DEFAULTS = {
    "connect_timeout": "5",
    "application_name": "capataz",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    # A query sent into a dead link fails after 30 s instead of TCP's ~15 minutes.
    "tcp_user_timeout": "30000",
}


@dataclass(frozen=True)
class PgTarget:
    #: Holds the password, if any: kept out of repr() and so out of logs and tracebacks.
    conninfo: str = field(repr=False)
    schema: str
    #: host:port/dbname, without credentials: what log lines and errors name.
    where: str

    @property
    def channel(self) -> str:
        return f"capataz:{self.schema}"


def parse_url(url: str) -> PgTarget:
    """``postgresql://user:pass@host:5432/db?schema=capataz&sslmode=...`` -> a target."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    schema = params.pop("schema", DEFAULT_SCHEMA)
    if not _IDENTIFIER.match(schema):
        raise QueueURLError(
            f"?schema={schema!r} is not a plain schema name; use letters, digits and _ "
            "(for example ?schema=capataz)"
        )
    for key, value in _DEFAULTS.items():
        params.setdefault(key, value)
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(params), ""))
    host = parts.hostname or "localhost"
    where = f"PostgreSQL at {host}:{parts.port or 5432}{parts.path or '/'}"
    return PgTarget(conninfo, schema, where)


class Queries:
    """Every named statement, composed once with the store's schema.

    Kept as bytes, not as :class:`psycopg.sql.Composed`: psycopg renders a
    Composed again on every execute (quoting the schema through libpq), which
    cost a worker several percent of its time per job.
    """

    def __init__(self, schema: str) -> None:
        name = sql.Identifier(schema)
        self._rendered = {
            key: sql.SQL(text).format(schema=name).as_bytes(None)
            for key, text in RAW.items()
        }

    def __getitem__(self, name: str) -> bytes:
        return self._rendered[name]


def migrate(conn: psycopg.Connection[Any], target: PgTarget, q: Queries) -> None:
    """Create or upgrade the schema; several processes may call this at once."""
    table = f'"{target.schema}".schema_version'
    exists = conn.execute(q["schema_version_exists"], {"table": table}).fetchone()
    if exists and exists[0]:
        row = conn.execute(q["get_schema_version"]).fetchone()
        if row and row[0] == SCHEMA_VERSION:
            return  # the common case: nothing to do, no lock taken
    with conn.transaction():
        conn.execute(q["lock_for_migration"], {"schema": target.schema})
        conn.execute(q["create_schema"])
        conn.execute(q["create_schema_version"])
        row = conn.execute(q["get_schema_version"]).fetchone()
        current = int(row[0]) if row else 0
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"the queue store in schema {target.schema} of {target.where} has schema "
                f"version {current}, newer than this capataz knows ({SCHEMA_VERSION}); "
                "upgrade capataz"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            conn.execute(q[f"migration_{version}"])
        if current < SCHEMA_VERSION:
            conn.execute(q["clear_schema_version"])
            conn.execute(q["insert_schema_version"], {"version": SCHEMA_VERSION})
