"""A rate limit shared by every worker process, kept in the billing store.

Eight workers each with its own limiter would call a third party eight times too
often. Here one row per limit holds the next free moment (the generic cell rate
algorithm): a caller takes ``max(next_free, now)`` and moves ``next_free`` on by
``1/rate``, in one transaction. A caller whose slot is too far away does not take it,
and is told how long to wait instead (the job releases itself for that long).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from facturacion.billing.store import BillingStore


@dataclass(frozen=True)
class Slot:
    """``wait`` seconds until the call may go; ``taken`` False means come back later."""

    wait: float
    taken: bool


class SharedRateLimiter:
    def __init__(self, store: BillingStore, *, clock: Callable[[], float] = time.time) -> None:
        # Wall time: the slots are compared across processes.
        self._store = store
        self._clock = clock

    def take(self, name: str, rate: float, *, max_wait: float) -> Slot:
        """Reserve the next slot for ``name`` at ``rate`` calls per second."""
        if rate <= 0:
            raise ValueError(f"rate must be more than 0 calls per second, not {rate!r}")
        now = self._clock()
        with self._store.transaction() as db:
            # The row exists before it is locked, so two first callers cannot both see
            # "no row" and both take the same slot.
            db.execute(
                "INSERT INTO rate_limits (name, next_free) VALUES (?, 0)"
                " ON CONFLICT (name) DO NOTHING",
                (name,),
            )
            (row,) = db.query(
                "SELECT next_free FROM rate_limits WHERE name = ?" + db.lock_rows,  # noqa: S608 - a fixed suffix
                (name,),
            )
            slot = max(now, float(row["next_free"]))
            wait = slot - now
            if wait > max_wait:
                return Slot(wait, taken=False)
            db.execute(
                "UPDATE rate_limits SET next_free = ? WHERE name = ?", (slot + 1.0 / rate, name)
            )
        return Slot(wait, taken=True)
