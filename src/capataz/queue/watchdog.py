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
    """Checks the running job every ``tick`` seconds.

    Arming and disarming only set fields under a lock: a busy worker arms and
    disarms thousands of times a second, and waking a thread for each would cost
    more than the jobs. The price is that a timeout fires up to one tick late.
    """

    def __init__(
        self,
        renew: Renew,
        lease_seconds: float,
        on_lease_lost: Callable[[str], None] | None = None,
        *,
        tick: float = 0.05,
    ) -> None:
        self._renew = renew
        self._interval = max(0.05, lease_seconds / 3)
        self._tick = min(tick, self._interval / 2)
        self._on_lease_lost = on_lease_lost
        self._lock = threading.Lock()
        self._token: str | None = None
        self._deadline: float | None = None
        self._next_renewal = 0.0
        self._on_timeout: Callable[[], None] | None = None
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="capataz-watchdog", daemon=True)
        self._thread.start()

    def arm(self, lease_token: str, timeout: float, on_timeout: Callable[[], None]) -> None:
        now = time.monotonic()
        with self._lock:
            self._token = lease_token
            self._deadline = now + timeout if timeout > 0 else None
            self._next_renewal = now + self._interval
            self._on_timeout = on_timeout

    def disarm(self) -> None:
        with self._lock:
            self._token = self._deadline = self._on_timeout = None

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._closed.wait(self._tick):
            fire: Callable[[], None] | None = None
            renew: str | None = None
            with self._lock:
                now = time.monotonic()
                if self._token is None:
                    continue
                if self._deadline is not None and now >= self._deadline:
                    fire = self._on_timeout
                    self._token = self._deadline = self._on_timeout = None
                elif now >= self._next_renewal:
                    renew = self._token
                    self._next_renewal = now + self._interval
            # Outside the lock: the store call or the timeout handler may take a while.
            if fire is not None:
                fire()
            elif renew is not None and not self._safe_renew(renew):
                with self._lock:
                    still_running = self._token == renew
                if still_running and self._on_lease_lost is not None:
                    self._on_lease_lost(renew)

    def _safe_renew(self, token: str) -> bool:
        try:
            return self._renew(token)
        except Exception:  # a store hiccup must not kill the watchdog; it renews next tick
            return True
