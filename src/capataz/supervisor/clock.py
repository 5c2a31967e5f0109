"""Time for the daemon's timers: the event loop's monotonic clock, or a fake one.

Every timing rule (startsecs, the backoff delays, stopwaitsecs) is a timer on
a ``Clock``, so the unit tests run them on ``FakeClock`` without sleeping and
the daemon reacts the moment a deadline passes instead of on a polling tick.
Wall-clock time is only for display (start and stop times shown to clients).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def wall(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer: ...


class LoopClock:
    """The running event loop's clock; timers are ``loop.call_later``."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop or asyncio.get_running_loop()

    def monotonic(self) -> float:
        return self.loop.time()

    def wall(self) -> float:
        return time.time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return self.loop.call_later(max(delay, 0.0), callback)


class _FakeTimer:
    def __init__(self, when: float) -> None:
        self.when = when
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock that moves only when told to; due timers run in deadline order."""

    def __init__(self, start: float = 1000.0, wall_offset: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_offset
        self._order = itertools.count()
        self._timers: list[tuple[float, int, _FakeTimer, Callable[[], None]]] = []

    def monotonic(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._wall_offset + self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = _FakeTimer(self._now + max(delay, 0.0))
        heapq.heappush(self._timers, (timer.when, next(self._order), timer, callback))
        return timer

    def pending(self) -> list[float]:
        """Deadlines of the timers not yet run nor cancelled, soonest first."""
        return sorted(t.when for _, _, t, _ in self._timers if not t.cancelled)

    def advance(self, seconds: float) -> None:
        """Move time forward, running each timer that falls due at its own deadline."""
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            when, _, timer, callback = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._now = max(self._now, when)
            callback()
        self._now = target
