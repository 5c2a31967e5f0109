"""The watchdog thread: renews the running job's lease and stops a job past its timeout.

One thread per worker does both. While a job runs it renews the job's lease
every third of the lease time, so a job that runs for an hour keeps its lease
and is never handed to a second worker, while a worker that is SIGKILLed stops
renewing and its job becomes available again within one lease time.

The timeout is enforced here rather than with ``SIGALRM`` because a thread
works the same for plain and ``async def`` jobs and cannot be swallowed by a
job's own signal handling. On expiry the worker settles the job (released or
failed, as Laravel does) and the process exits, so its supervisor starts a
clean one: a stuck job's thread cannot be stopped safely from outside. A job
stuck inside C code that holds the GIL stops every Python thread; then the
lease stops being renewed and the job becomes available again after the lease.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

Renew = Callable[[str], bool]


class Watchdog(Protocol):
    def arm(self, lease_token: str, timeout: float, on_timeout: Callable[[], None]) -> None:
        """Start guarding a job: renew its lease; call ``on_timeout`` once if it runs too long."""

    def disarm(self) -> None:
        """The job is over: stop renewing and timing it."""

    def close(self) -> None: ...


class ThreadWatchdog:
    def __init__(
        self,
        renew: Renew,
        lease_seconds: float,
        on_lease_lost: Callable[[str], None] | None = None,
    ) -> None:
        self._renew = renew
        self._interval = max(0.05, lease_seconds / 3)
        self._on_lease_lost = on_lease_lost
        self._cond = threading.Condition()
        self._token: str | None = None
        self._deadline: float | None = None
        self._on_timeout: Callable[[], None] | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="capataz-watchdog", daemon=True)
        self._thread.start()

    def arm(self, lease_token: str, timeout: float, on_timeout: Callable[[], None]) -> None:
        with self._cond:
            self._token = lease_token
            self._deadline = time.monotonic() + timeout if timeout > 0 else None
            self._on_timeout = on_timeout
            self._cond.notify()

    def disarm(self) -> None:
        with self._cond:
            self._token = self._deadline = self._on_timeout = None
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        next_renewal = 0.0
        while True:
            with self._cond:
                while self._token is None and not self._closed:
                    self._cond.wait()
                    next_renewal = time.monotonic() + self._interval
                if self._closed:
                    return
                token, deadline, on_timeout = self._token, self._deadline, self._on_timeout
                now = time.monotonic()
                if deadline is not None and now >= deadline and on_timeout is not None:
                    self._token = self._deadline = self._on_timeout = None
                else:
                    wake = next_renewal if deadline is None else min(next_renewal, deadline)
                    if now < wake:
                        self._cond.wait(wake - now)
                        continue
                    on_timeout = None
            # Outside the lock: the store call or the timeout handler may take a while.
            if on_timeout is not None:
                on_timeout()
                continue
            next_renewal = time.monotonic() + self._interval
            assert token is not None  # noqa: S101 - guarded by the loop above
            if not self._safe_renew(token) and self._on_lease_lost is not None:
                self._on_lease_lost(token)

    def _safe_renew(self, token: str) -> bool:
        try:
            return self._renew(token)
        except Exception:  # a store hiccup must not kill the watchdog
            return True
