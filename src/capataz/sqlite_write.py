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
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

#: Turns a database error into the store's own: (the error, whether BEGIN had succeeded).
Failure = Callable[[sqlite3.Error, bool], Exception]


@contextmanager
def write_transaction(db: sqlite3.Connection, lock: AbstractContextManager[object],
                      failure: Failure | None = None) -> Iterator[sqlite3.Connection]:
    """Hold ``lock`` (the connection's, shared by its threads), BEGIN IMMEDIATE, yield the
    connection; COMMIT when the block ends, ROLLBACK when it or the COMMIT raises. With
    ``failure``, a database error is raised as what it returns."""
    # One generator, not one wrapped in another: the queue's store runs one of these per job.
    with lock:
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            if failure is None:
                raise
            raise failure(exc, False) from exc
        try:
            yield db
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if failure is not None and isinstance(exc, sqlite3.Error):
                raise failure(exc, True) from exc
            raise
