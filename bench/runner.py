"""Run scenarios: every side, alternating, ``runs`` times; collect samples or the reason why not."""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from bench import profiling
from bench.scenario import NotBuilt, Sample, Scenario, Settings, Side, Unavailable, run_order


class Status(Enum):
    MEASURED = "measured"
    NOT_BUILT = "not built"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"


@dataclass
class SideResult:
    label: str
    is_capataz: bool
    note: str
    samples: list[Sample] = field(default_factory=list)
    status: Status = Status.MEASURED
    reason: str = ""
    failures: list[str] = field(default_factory=list)  # runs that raised; others still count

    def values(self, key: str) -> list[float]:
        return [sample[key] for sample in self.samples if key in sample]


@dataclass
class ScenarioResult:
    scenario: Scenario
    title: str
    sides: list[SideResult]
    seconds: float = 0.0

    def side(self, label: str) -> SideResult | None:
        return next((s for s in self.sides if s.label == label), None)

    @property
    def capataz(self) -> SideResult | None:
        return next((s for s in self.sides if s.is_capataz), None)

    @property
    def peers(self) -> list[SideResult]:
        return [s for s in self.sides if not s.is_capataz]


Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_scenario(scenario: Scenario, settings: Settings, runs: int, log: Log = _stderr
                 ) -> ScenarioResult:
    title = scenario.title(settings)
    results = {side.label: SideResult(side.label, side.is_capataz, side.note)
               for side in scenario.sides}
    started = time.perf_counter()
    for run_index in range(runs):
        for side in run_order(scenario.sides, run_index):
            result = results[side.label]
            if result.status in {Status.NOT_BUILT, Status.UNAVAILABLE}:
                continue  # a side that cannot run once will not run the next time either
            prefix = f"[{scenario.name}] run {run_index + 1}/{runs} {side.label}"
            os.environ[profiling.TAG_ENV] = f"{scenario.name}.{side.label}.run{run_index + 1}"
            _run_side(side, settings, result, prefix, log)
    seconds = time.perf_counter() - started
    log(f"[{scenario.name}] done in {seconds:.0f} s")
    return ScenarioResult(scenario, title, [results[s.label] for s in scenario.sides], seconds)


def _run_side(side: Side, settings: Settings, result: SideResult, prefix: str, log: Log
              ) -> None:
    try:
        sample = side.run(settings)
    except NotBuilt as exc:
        result.status, result.reason = Status.NOT_BUILT, str(exc)
        log(f"{prefix}: not built yet ({exc})")
    except Unavailable as exc:
        result.status, result.reason = Status.UNAVAILABLE, str(exc)
        log(f"{prefix}: n/a ({exc})")
    except Exception as exc:  # one broken side must not end the whole run
        # A failed run is kept as such and the next run tries again: one flaky
        # start must not hide a side, and every failure is shown in the report.
        result.failures.append(f"{type(exc).__name__}: {exc}")
        if not result.samples:
            result.status, result.reason = Status.FAILED, result.failures[0]
        log(f"{prefix}: FAILED {result.failures[-1]}")
        log(traceback.format_exc())
    else:
        result.samples.append(sample)
        result.status, result.reason = Status.MEASURED, ""
        shown = ", ".join(f"{key}={value:.4g}" for key, value in sample.items())
        log(f"{prefix}: {shown}")


def run_all(scenarios: Sequence[Scenario], settings: Settings, runs: int, log: Log = _stderr,
            after_each: Callable[[list[ScenarioResult]], None] | None = None
            ) -> list[ScenarioResult]:
    """Run every scenario; ``after_each`` sees the results so far (to save them as it goes)."""
    results: list[ScenarioResult] = []
    for scenario in scenarios:
        results.append(run_scenario(scenario, settings, runs, log))
        if after_each is not None:
            after_each(results)
    return results
