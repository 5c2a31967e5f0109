"""One writing transaction on a shared SQLite connection, for every store that has one.

``BEGIN IMMEDIATE`` takes the database's write lock at once, so writers queue up
for it (within the connection's busy timeout) instead of upgrading a read lock
later and failing with SQLITE_BUSY half-way through.

A COMMIT can fail and leave the transaction open (a deferred constraint, a busy
database): the transaction is then rolled back here, so the connection is never
left inside a transaction that every later ``BEGIN`` would refuse.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager


@contextmanager
def write_transaction(db: sqlite3.Connection, lock: AbstractContextManager[object]
                      ) -> Iterator[sqlite3.Connection]:
    """Hold ``lock`` (the connection's, shared by its threads), BEGIN IMMEDIATE, yield the
    connection; COMMIT when the block ends, ROLLBACK when it or the COMMIT raises."""
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
