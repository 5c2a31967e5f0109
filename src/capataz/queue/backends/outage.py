"""Riding out a lost server: backoff between reconnects, one log line when it goes, one when back.

Shared by the PostgreSQL and Redis stores (the ``pg_`` prefix only marks the
module as part of the server-backed stores). A worker must survive its server
restarting: instead of crashing (and being restarted by its supervisor until
the supervisor gives up), it keeps its loop, claims nothing while the server is
away, and tries again with exponential backoff. Eight workers on a host must
not write eight lines per second while the database restarts, so an outage is
reported once when it starts and once when it ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from capataz.queue.clock import Clock
from capataz.queue.errors import StoreUnavailableError

T = TypeVar("T")

#: First wait between reconnect attempts, doubled after each failure up to MAX_BACKOFF.
FIRST_BACKOFF = 0.1
MAX_BACKOFF = 5.0


class Outage:
    """The state of one link to a server: up, or down since when and retrying when."""

    def __init__(self, what: str, logger: logging.Logger, clock: Clock,
                 on_recovered: Callable[[], None] | None = None) -> None:
        self.what = what
        self._log = logger
        self._clock = clock
        #: Called when the link is back: drop other connections that died with the server.
        self._on_recovered = on_recovered
        # The worker's thread and its heartbeat thread share one link.
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.failures = 0
        self._next_try = 0.0

    def __repr__(self) -> str:
        state = "up" if self.down_since is None else f"down ({self.failures} failures)"
        return f"<Outage {self.what} {state}>"

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def may_try(self) -> bool:
        """Is a reconnect attempt due (always, while the link is up)?"""
        return self.seconds_to_next_try() <= 0

    def seconds_to_next_try(self) -> float:
        if self.down_since is None:
            return 0.0
        return max(0.0, self._next_try - self._clock.monotonic())

    def failed(self, error: BaseException) -> None:
        now = self._clock.monotonic()
        with self._lock:
            newly_down = self.down_since is None
            if newly_down:
                self.down_since = now
            self.failures += 1
            backoff = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (self.failures - 1))
            self._next_try = now + backoff
        if newly_down:
            self._log.warning(
                "lost the connection to %s (%s); reconnecting with backoff",
                self.what, first_line(error),
            )

    def recovered(self) -> bool:
        """Mark the link up; True (and one log line) if it was down."""
        with self._lock:
            if self.down_since is None:
                return False
            away = self._clock.monotonic() - self.down_since
            self.down_since = None
            self.failures = 0
        self._log.warning("reconnected to %s after %.1fs", self.what, away)
        if self._on_recovered is not None:
            self._on_recovered()
        return True


def first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def retry_link(
    attempt: Callable[[], T],
    is_link_error: Callable[[BaseException], bool],
    outage: Outage,
    clock: Clock,
    patience: float,
) -> T:
    """Call ``attempt`` until it works; retry link errors for up to ``patience`` seconds.

    A link error that outlasts the patience becomes :class:`StoreUnavailableError`;
    any other error is raised at once.
    """
    deadline = clock.monotonic() + patience
    while True:
        try:
            result = attempt()
        except Exception as exc:
            if not is_link_error(exc):
                raise
            outage.failed(exc)
            wait = outage.seconds_to_next_try()
            if clock.monotonic() + wait > deadline:
                raise StoreUnavailableError(
                    f"{outage.what} cannot be reached ({first_line(exc)}); check that the "
                    "server is running and the URL is right"
                ) from exc
            clock.sleep(wait)
            continue
        outage.recovered()
        return result
