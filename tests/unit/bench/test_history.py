"""Results as JSON, and capataz's before/after medians against an earlier run."""

import json
from pathlib import Path

import pytest
from bench.history import HistoryError, compare_section, load, to_json
from bench.report import RunInfo
from bench.runner import ScenarioResult, run_scenario
from bench.scenario import Better, Metric, NotBuilt, Sample, Scenario, Settings, Side

JOBS = Metric("jobs_per_s", "throughput", "jobs/s", Better.HIGHER)


def _result(value: float, name: str = "queue.process.sqlite") -> ScenarioResult:
    scenario = Scenario(name, lambda s: "title", (JOBS,),
                        (Side("capataz-sqlite", lambda s: {"jobs_per_s": value}, is_capataz=True),
                         Side("huey-sqlite", lambda s: {"jobs_per_s": 100.0})), "Queues")
    return run_scenario(scenario, Settings.quick_mode(), 2, log=lambda message: None)


INFO = RunInfo(date="2026-12-03 18:00 UTC", command="python -m bench", mode="quick", runs=2,
               seconds=1.0, machine={"cores": "2"}, versions={"huey": "3.5.4"})


def test_json_keeps_every_sample_and_state(tmp_path: Path) -> None:
    """The JSON twin holds each side's samples, so a later run can compare with it."""
    path = tmp_path / "before.json"
    path.write_text(to_json(INFO, [_result(400.0)]))
    document = load(path)
    sides = document["scenarios"]["queue.process.sqlite"]["sides"]
    assert sides["capataz-sqlite"]["samples"] == [{"jobs_per_s": 400.0}] * 2
    assert sides["capataz-sqlite"]["capataz"] is True
    assert document["mode"] == "quick"


def test_before_and_after_compares_capataz_medians(tmp_path: Path) -> None:
    """After a fix, the section shows the old and new medians of capataz and their ratio."""
    before = json.loads(to_json(INFO, [_result(400.0)]))
    text = compare_section(before, "before.json", [_result(1000.0)])
    assert "| `queue.process.sqlite` | throughput (jobs/s) | 400 | 1,000 | 2.5x |" in text


def test_nothing_to_compare_is_said_plainly() -> None:
    """Scenarios absent from the earlier run, or capataz not built, give no rows."""
    before = json.loads(to_json(INFO, [_result(400.0, name="queue.process.redis")]))

    def not_built(settings: Settings) -> Sample:
        raise NotBuilt("no store")

    scenario = Scenario("queue.process.redis", lambda s: "t", (JOBS,),
                        (Side("capataz-redis", not_built, is_capataz=True),), "Queues")
    result = run_scenario(scenario, Settings.quick_mode(), 1, log=lambda message: None)
    text = compare_section(before, "before.json", [_result(1.0), result])
    assert "No scenario measured capataz in both runs." in text


@pytest.mark.parametrize("content", ["not json", json.dumps({"date": "x"})])
def test_unreadable_earlier_results_are_refused(tmp_path: Path, content: str) -> None:
    """A file that is not a results JSON is named in a clear error."""
    path = tmp_path / "old.json"
    path.write_text(content)
    with pytest.raises(HistoryError, match=r"old\.json"):
        load(path)
