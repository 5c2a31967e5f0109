"""Rendering results: cells, ratios, the not-built state and the targets verdicts."""

from collections.abc import Iterator

import pytest
from bench.report import RunInfo, fmt, render, table, targets_table
from bench.runner import ScenarioResult, SideResult, Status, run_scenario
from bench.scenario import (
    Better,
    Metric,
    NotBuilt,
    Sample,
    Scenario,
    Settings,
    Side,
    Unavailable,
)
from bench.targets import TARGETS, evaluate, evaluate_all

SECONDS = Metric("seconds", "time", "s")


def _constant(value: float) -> Side:
    return Side("supervisord", lambda settings: {"seconds": value})


def _not_built(settings: Settings) -> Sample:
    raise NotBuilt("capatazd exits 70")


def _scenario(name: str, capataz: Side, *peers: Side, metric: Metric = SECONDS) -> Scenario:
    return Scenario(name, lambda s: "title", (metric,), (capataz, *peers), "Group")


def _run(scenario: Scenario, runs: int = 3) -> ScenarioResult:
    return run_scenario(scenario, Settings.quick_mode(), runs, log=lambda message: None)


@pytest.mark.parametrize(
    ("value", "text"),
    [(12345.6, "12,346"), (42.42, "42.4"), (1.234, "1.23"), (0.0001234, "0.000123"), (0, "0")],
)
def test_numbers_never_use_scientific_notation(value: float, text: str) -> None:
    """Table numbers keep a few significant digits and read as plain decimals."""
    assert fmt(value) == text


def test_table_escapes_pipes_in_cells() -> None:
    """A reason containing '|' cannot break the Markdown table."""
    assert table(["a"], [["x|y"]]).splitlines()[-1] == "| x\\|y |"


def test_not_built_capataz_is_reported_and_runs_once() -> None:
    """A capataz side that has not landed shows 'capataz: not built yet', never a number."""
    calls: list[int] = []

    def not_built(settings: Settings) -> Sample:
        calls.append(1)
        raise NotBuilt("capatazd exits 70")

    result = _run(_scenario("sup.start.200", Side("capatazd", not_built, is_capataz=True),
                            _constant(2.0)))
    assert calls == [1]
    assert result.capataz is not None
    assert result.capataz.status is Status.NOT_BUILT
    section = render(_info(), [result], evaluate_all([result]))
    assert "| capatazd | capataz: not built yet |" in section
    assert "| supervisord | 2.00 [2.00, 2.00] | - |" in section
    verdict = evaluate(TARGETS[0], [result])
    assert (verdict.state, verdict.detail) == ("not built", "capataz: not built yet")


def test_ratio_target_met_and_missed_against_the_peer_median() -> None:
    """A ratio target compares capataz's median with the peer's median from the same run."""
    values = iter([0.1, 0.3, 0.2])

    def capataz(settings: Settings) -> Sample:
        return {"seconds": next(values)}

    result = _run(_scenario("sup.start.200", Side("capatazd", capataz, is_capataz=True),
                            _constant(2.0)))
    verdict = evaluate(TARGETS[0], [result])
    assert (verdict.state, verdict.detail) == ("met", "0.1x supervisord")
    text = render(_info(), [result], [verdict])
    assert "| capatazd | 0.2 [0.1, 0.3] |  |" in text
    assert "| supervisord | 2.00 [2.00, 2.00] | 0.1x |" in text

    slow = _run(_scenario("sup.start.200", Side("capatazd", lambda s: {"seconds": 1.0},
                                                     is_capataz=True), _constant(2.0)))
    assert evaluate(TARGETS[0], [slow]).state == "missed"


def test_best_peer_is_chosen_by_the_metric_direction() -> None:
    """For 'higher is better' the best peer is the fastest one, and ratio ≥ targets use it."""
    jobs = Metric("jobs_per_s", "throughput", "jobs/s", Better.HIGHER)
    peers = [Side("rq", lambda s: {"jobs_per_s": 1000.0}),
             Side("dramatiq", lambda s: {"jobs_per_s": 4000.0})]
    capataz = Side("capataz", lambda s: {"jobs_per_s": 5000.0}, is_capataz=True)
    result = _run(_scenario("queue.process.redis", capataz, *peers, metric=jobs), runs=1)
    target = next(t for t in TARGETS if t.scenario == "queue.process.redis"
                  and t.limit is None)
    verdict = evaluate(target, [result])
    assert (verdict.state, verdict.detail) == ("missed", "1.25x dramatiq")


def test_share_of_reference_limit_and_absolute_bounds() -> None:
    """Limit targets divide by the reference scenario; absolute ones compare the median."""
    jobs = Metric("jobs_per_s", "throughput", "jobs/s", Better.HIGHER)
    capataz = Side("capataz", lambda s: {"jobs_per_s": 600.0}, is_capataz=True)
    process = _run(_scenario("queue.process.sqlite", capataz,
                             Side("huey", lambda s: {"jobs_per_s": 100.0}), metric=jobs), 1)
    limit = Scenario("ref.sqlite", lambda s: "ref", (jobs,),
                     (Side("sqlite", lambda s: {"dequeues_per_s": 1000.0}),), "Reference")
    share = next(t for t in TARGETS if t.scenario == "queue.process.sqlite" and t.limit)
    assert evaluate(share, [process]).state == "not measured"
    verdict = evaluate(share, [process, _run(limit, 1)])
    assert (verdict.state, verdict.detail) == ("met", "60% of 1,000/s")

    p50 = Metric("p50_ms", "p50", "ms")
    latency = _run(_scenario("queue.latency.sqlite", Side("capataz", lambda s: {"p50_ms": 80.0},
                                                           is_capataz=True), metric=p50), 1)
    bound = next(t for t in TARGETS if t.scenario == "queue.latency.sqlite")
    assert evaluate(bound, [latency]).state == "missed"


def test_failures_and_unavailable_peers_are_shown_with_their_reason() -> None:
    """A side that raises is reported failed with the error; an unavailable one as n/a."""
    def broken(settings: Settings) -> Sample:
        raise RuntimeError("daemon exited 1")

    def absent(settings: Settings) -> Sample:
        raise Unavailable("no bulk API")

    result = _run(_scenario("sup.start.200", Side("capatazd", broken, is_capataz=True),
                            Side("huey", absent)))
    text = render(_info(), [result], evaluate_all([result]))
    assert "failed (RuntimeError: daemon exited 1)" in text
    assert "n/a (no bulk API)" in text
    assert evaluate(TARGETS[0], [result]).state == "not measured"
    assert evaluate(TARGETS[1], [result]).detail == "scenario not selected"


def test_targets_table_lists_every_target() -> None:
    """The printed targets table has one row per target of the issue."""
    text = targets_table(evaluate_all([]))
    assert len(text.splitlines()) == len(TARGETS) + 2


def _info() -> RunInfo:
    return RunInfo(date="2026-12-03 18:00 UTC", command="python -m bench", mode="quick",
                   runs=3, seconds=60.0, machine={"cores": "2"}, versions={"rq": "3.0.0"})


def test_side_results_keep_samples_per_metric() -> None:
    """Values of a metric are read from the samples that hold it."""
    side = SideResult("x", False, "", samples=[{"a": 1.0}, {"b": 2.0}, {"a": 3.0}])
    assert side.values("a") == [1.0, 3.0]


def test_a_failed_run_is_retried_and_shown_beside_the_other_runs() -> None:
    """One failed run does not drop a side: later runs count, the failure is reported."""
    outcomes: Iterator[Exception | float] = iter([RuntimeError("worker exited 1"), 2.0, 4.0])

    def flaky(settings: Settings) -> Sample:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return {"seconds": outcome}

    result = _run(_scenario("sup.start.200", Side("capatazd", flaky, is_capataz=True),
                            _constant(10.0)))
    assert result.capataz is not None
    assert result.capataz.status is Status.MEASURED
    text = render(_info(), [result], evaluate_all([result]))
    assert ("| capatazd | 3.00 [2.00, 4.00] (1 run(s) failed: RuntimeError: worker exited 1) |"
            in text)
    assert evaluate(TARGETS[0], [result]).detail == "0.3x supervisord"


def test_info_target_is_judged_on_the_daemons_response_not_the_clients_parse() -> None:
    """getAllProcessInfo's target reads the unparsed response time: parsing is the client's."""
    metrics = (Metric("ms", "latency with xmlrpc.client", "ms"),
               Metric("response_ms", "response, unparsed", "ms"))
    capataz = Side("capatazd", lambda s: {"ms": 15.0, "response_ms": 1.5}, is_capataz=True)
    peer = Side("supervisord", lambda s: {"ms": 20.0, "response_ms": 20.0})
    result = run_scenario(Scenario("sup.info.200", lambda s: "title", metrics, (capataz, peer),
                                   "Group"), Settings.quick_mode(), 1, log=lambda message: None)
    target = next(t for t in TARGETS if t.scenario == "sup.info.200")
    verdict = evaluate(target, [result])
    assert (verdict.state, verdict.detail) == ("met", "0.075x supervisord")
