"""Small, pure statistics over the samples of repeated runs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """Median and range of one metric over the runs of one side."""

    median: float
    low: float
    high: float
    runs: int


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        raise ValueError("summarize needs at least one value")
    return Summary(statistics.median(values), min(values), max(values), len(values))


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with ``fraction`` of the values at or below.

    Nearest rank never invents a value between two samples, which is what a
    latency report should show.
    """
    if not values:
        raise ValueError("percentile needs at least one value")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    ordered = sorted(values)
    rank = math.ceil(fraction * len(ordered))
    return ordered[rank - 1]


def ratio(capataz: float, peer: float) -> float | None:
    """capataz / peer, or None when the peer's value is zero (no meaningful ratio)."""
    if peer == 0:
        return None
    return capataz / peer
