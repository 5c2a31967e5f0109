"""The PostgreSQL store's two connections: one for commands, one that LISTENs.

Both share one :class:`~capataz.queue.backends.outage.Outage`, so a restart
of the server is logged once, and both are replaced when it comes back. The
command connection is shared by the worker's thread and its heartbeat thread
under a lock; the listening one is used by the worker's thread only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from capataz.queue.backends.outage import Outage, retry_link
from capataz.queue.backends.pg_schema import PgTarget
from capataz.queue.clock import Clock
from capataz.queue.errors import StoreError, StoreUnavailableError

T = TypeVar("T")
PgConnection = psycopg.Connection[Any]
LOG = logging.getLogger("capataz.queue.postgres")


#: Refusals at connect time that waiting will not cure. libpq gives connect errors no
#: SQLSTATE, so they are told apart by the server's (English) message; a localised
#: server only makes them slower to report, as they are retried like a restart.
_PERMANENT = ("does not exist", "authentication failed", "no pg_hba.conf entry",
              "permission denied", "password")


def is_link_error(error: BaseException) -> bool:
    """A lost or refused connection, or the server restarting: worth waiting for.

    Not a deadlock, a bad query, or a connection the server refuses for good
    (unknown database or role, wrong password).
    """
    if not isinstance(error, psycopg.OperationalError):
        return False
    state = error.sqlstate
    if state is None:
        return not any(text in str(error) for text in _PERMANENT)
    return state.startswith(("08", "57P"))


class PgLink:
    def __init__(self, target: PgTarget, clock: Clock) -> None:
        self.target = target
        self._clock = clock
        self._lock = threading.RLock()
        self._conn: PgConnection | None = None
        self._listener: PgConnection | None = None
        self._listen_lock = threading.RLock()
        self.outage = Outage(target.where, LOG, clock, self.drop_listener)

    def __repr__(self) -> str:
        state = "down" if self.outage.down else "up"
        return f"<PgLink {self.target.where} {state}>"

    def connection(self) -> PgConnection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.target.conninfo, autocommit=True)
        return self._conn

    def drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def retry(self, attempt: Callable[[], T], patience: float) -> T:
        """Call ``attempt`` until it works, retrying link errors for ``patience`` seconds."""
        return retry_link(attempt, is_link_error, self.outage, self._clock, patience)

    def use(self, action: Callable[[PgConnection], T], *, patience: float = 0.0) -> T:
        """Run ``action`` on the command connection, riding out a broken link.

        A connection found broken is replaced at once (the server restarted since
        it was last used); a server still away is retried with backoff for up to
        ``patience`` seconds, then :class:`StoreUnavailableError`. Other database
        errors become :class:`StoreError`.
        """
        def attempt() -> T:
            with self._lock:
                fresh = self._conn is None or self._conn.closed
                conn = self.connection()
                try:
                    return action(conn)
                except psycopg.OperationalError:
                    if not conn.broken:
                        raise
                    self.drop()
                    if fresh:
                        raise
                # A stale connection from before a server restart: one more go, now.
                return action(self.connection())

        try:
            return self.retry(attempt, patience)
        except StoreUnavailableError:
            raise
        except psycopg.Error as exc:
            raise StoreError(f"the queue store in {self.target.where} failed: {exc}") from exc

    # -- LISTEN -------------------------------------------------------------
    def start_listening(self) -> PgConnection | None:
        """LISTEN before the first claim, so no NOTIFY falls between claim and wait."""
        with self._listen_lock:  # threads claiming at once must not open one each
            if self._listener is not None and not self._listener.closed:
                return self._listener
            try:
                listener = psycopg.connect(self.target.conninfo, autocommit=True)
                listener.execute(
                    sql.SQL("LISTEN {}").format(sql.Identifier(self.target.channel))
                )
            except psycopg.OperationalError as exc:
                self.outage.failed(exc)
                return None
            self._listener = listener
            return listener

    def wait(self, timeout: float) -> bool:
        """Block until a NOTIFY or ``timeout``; while the server is away, try to get it back."""
        if self.outage.down:
            self._clock.sleep(min(max(0.0, timeout), self.outage.seconds_to_next_try()))
            if not self.outage.may_try():
                return False
            try:
                self.use(lambda conn: conn.execute("SELECT 1"))
            except StoreUnavailableError:
                return False
            # Back: whatever was dispatched meanwhile is waiting, so claim now.
            return self.start_listening() is not None
        listener = self.start_listening()
        if listener is None:
            return False
        try:
            woken = any(True for _ in listener.notifies(timeout=max(0.0, timeout), stop_after=1))
            if woken:  # one wake-up covers every notification already queued
                for _ in listener.notifies(timeout=0.0):
                    pass
        except psycopg.OperationalError as exc:
            self.drop_listener()
            self.outage.failed(exc)
            return False
        return woken

    def drop_listener(self) -> None:
        with self._listen_lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None

    def close(self) -> None:
        with self._lock:
            self.drop()
            self.drop_listener()
