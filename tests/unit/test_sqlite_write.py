"""write_transaction: commit, roll back, and never leave a connection inside a transaction."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from capataz.sqlite_write import write_transaction


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    # A deferred foreign key is checked at COMMIT: the way to make a COMMIT itself fail.
    connection.execute(
        "CREATE TABLE child (parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
    )
    yield connection
    connection.close()


COUNT = {"parent": "SELECT count(*) FROM parent", "child": "SELECT count(*) FROM child"}


def _count(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(COUNT[table]).fetchone()[0])


def test_the_block_s_writes_are_committed(db: sqlite3.Connection) -> None:
    with write_transaction(db, threading.Lock()) as tx:
        tx.execute("INSERT INTO parent VALUES (1)")
        assert db.in_transaction
    assert not db.in_transaction
    assert _count(db, "parent") == 1


def _insert_then_fail(db: sqlite3.Connection) -> None:
    with write_transaction(db, threading.Lock()) as tx:
        tx.execute("INSERT INTO parent VALUES (1)")
        raise KeyError("the caller's own failure")


def test_an_error_in_the_block_rolls_everything_back(db: sqlite3.Connection) -> None:
    with pytest.raises(KeyError):
        _insert_then_fail(db)
    assert not db.in_transaction
    assert _count(db, "parent") == 0


def test_a_failed_commit_is_rolled_back_and_the_next_transaction_works(
    db: sqlite3.Connection,
) -> None:
    """Left open, the failed transaction would make every later BEGIN fail."""
    lock = threading.Lock()
    with pytest.raises(sqlite3.IntegrityError), write_transaction(db, lock) as tx:
        tx.execute("INSERT INTO child VALUES (42)")  # no parent 42: refused at COMMIT
    assert not db.in_transaction
    assert not lock.locked()
    with write_transaction(db, lock) as tx:
        tx.execute("INSERT INTO parent VALUES (42)")
        tx.execute("INSERT INTO child VALUES (42)")
    assert (_count(db, "parent"), _count(db, "child")) == (1, 1)


def test_begin_immediate_takes_the_write_lock_at_once(db: sqlite3.Connection, tmp_path: Path
                                                      ) -> None:
    """While one connection's transaction is open, another's writer waits (here: gives up
    at once) at BEGIN, before its block has run."""
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None, timeout=0)
    ran = []
    try:
        with write_transaction(db, threading.Lock()):
            with pytest.raises(sqlite3.OperationalError, match="locked"), \
                    write_transaction(other, threading.Lock()):
                ran.append("block")
            assert not other.in_transaction
    finally:
        other.close()
    assert ran == []


class StoreFailedError(Exception):
    pass


def _as_store_failure(exc: sqlite3.Error, begun: bool) -> Exception:
    return StoreFailedError(f"{'after' if begun else 'at'} BEGIN: {exc}")


def test_failure_turns_database_errors_into_the_store_s_own(db: sqlite3.Connection,
                                                             tmp_path: Path) -> None:
    """A refused BEGIN and a failed COMMIT come out as what ``failure`` makes of them, told
    apart; the caller's own errors pass through as they are."""
    lock = threading.Lock()
    with pytest.raises(StoreFailedError, match=r"^after BEGIN: FOREIGN KEY"), \
            write_transaction(db, lock, _as_store_failure) as tx:
        tx.execute("INSERT INTO child VALUES (7)")
    assert not db.in_transaction
    with pytest.raises(KeyError):
        _insert_then_fail(db)
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None, timeout=0)
    try:
        with write_transaction(db, lock), \
                pytest.raises(StoreFailedError, match=r"^at BEGIN: database is locked"), \
                write_transaction(other, threading.Lock(), _as_store_failure):
            pass
    finally:
        other.close()
