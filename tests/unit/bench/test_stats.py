"""The harness's statistics: medians, ranges, nearest-rank percentiles and ratios."""

import pytest
from bench.stats import percentile, ratio, summarize


def test_summary_holds_median_and_range() -> None:
    """A summary of runs is their median with the lowest and highest run."""
    summary = summarize([3.0, 1.0, 2.0, 10.0])
    assert (summary.median, summary.low, summary.high, summary.runs) == (2.5, 1.0, 10.0, 4)


def test_summary_of_nothing_is_refused() -> None:
    """No runs cannot be summarised; the harness must say so, not report zero."""
    with pytest.raises(ValueError, match="at least one"):
        summarize([])


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.5, 50.0), (0.99, 99.0), (1.0, 100.0), (0.001, 1.0)],
)
def test_percentile_is_nearest_rank(fraction: float, expected: float) -> None:
    """Percentiles pick a measured value (nearest rank), never an interpolated one."""
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, fraction) == expected


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_percentile_rejects_fractions_outside_range(fraction: float) -> None:
    """A fraction outside (0, 1] is a programming error and is reported."""
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], fraction)


def test_percentile_of_nothing_is_refused() -> None:
    """An empty latency list has no percentile."""
    with pytest.raises(ValueError, match="at least one"):
        percentile([], 0.5)


def test_ratio_is_capataz_over_peer_and_none_for_zero_peer() -> None:
    """The ratio divides capataz by the peer; a zero peer value gives no ratio."""
    assert ratio(1.0, 4.0) == 0.25
    assert ratio(1.0, 0.0) is None
