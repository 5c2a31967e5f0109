"""What is particular to the SQLite store: its schema, its file, its failures."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest

from capataz.queue import StoreError
from capataz.queue.backends.base import NewJob
from capataz.queue.backends.sqlite import SCHEMA_VERSION, SqliteBackend


def test_schema_is_created_once_with_a_version_and_wal(tmp_path):
    """A new file gets every table, schema_version = the latest, WAL journal mode."""
    SqliteBackend(tmp_path / "q.db").close()
    SqliteBackend(tmp_path / "q.db").close()  # opening again migrates nothing
    db = sqlite3.connect(tmp_path / "q.db")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"jobs", "failed_jobs", "markers", "schema_version"} <= tables
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_a_store_from_a_newer_capataz_is_refused(tmp_path):
    """A schema version above ours is refused with a message saying to upgrade."""
    SqliteBackend(tmp_path / "q.db").close()
    db = sqlite3.connect(tmp_path / "q.db")
    db.execute("UPDATE schema_version SET version = 999")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 999, newer than this capataz"):
        SqliteBackend(tmp_path / "q.db")


def test_many_processes_creating_the_store_at_once(tmp_path):
    """Six processes opening a new store together: one migrates, none fails."""
    code = (
        "import sys; from capataz.queue.backends.sqlite import SqliteBackend; "
        "SqliteBackend(sys.argv[1]).close()"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "q.db")])
             for _ in range(6)]
    assert [p.wait(timeout=60) for p in procs] == [0] * 6
    db = sqlite3.connect(tmp_path / "q.db")
    assert db.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 1
    db.close()


def test_a_bulk_push_is_all_or_nothing(tmp_path):
    """When one job of a bulk push cannot be stored, none is."""
    store = SqliteBackend(tmp_path / "q.db")
    now = time.time()
    good = NewJob("a", "default", "{}", now)
    broken = NewJob("b", "default", None, now)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="failed"):
        store.push([good, broken])
    assert store.stats() == []

    def interrupted():
        yield good
        raise RuntimeError("the caller gave up halfway")

    with pytest.raises(RuntimeError):
        store.push(interrupted())  # type: ignore[arg-type]
    assert store.stats() == []
    store.push([good])
    assert store.stats()[0].waiting == 1
    store.close()


def test_a_closed_or_unusable_store_raises_store_errors(tmp_path):
    """Using a closed store is a StoreError, not a sqlite3 traceback."""
    store = SqliteBackend(tmp_path / "q.db")
    store.close()
    with pytest.raises(StoreError):
        store.markers()
    with pytest.raises(StoreError, match="not writable"):
        store.push([NewJob("a", "default", "{}", 0)])
