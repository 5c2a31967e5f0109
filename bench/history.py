"""Results as JSON beside the Markdown, and a before/after section against an earlier run.

The issue asks that a fixed hot path keep its before and after numbers: run once,
change capataz, run again with ``--compare`` naming the first run's JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.report import RunInfo, fmt, table
from bench.runner import ScenarioResult, Status
from bench.stats import ratio, summarize


class HistoryError(Exception):
    """An earlier results file that cannot be read; the message names it."""


def to_json(info: RunInfo, results: Sequence[ScenarioResult]) -> str:
    scenarios = {
        result.scenario.name: {
            "title": result.title,
            "sides": {
                side.label: {"capataz": side.is_capataz, "status": side.status.value,
                             "reason": side.reason, "samples": side.samples,
                             "failures": side.failures}
                for side in result.sides
            },
        }
        for result in results
    }
    document = {"date": info.date, "command": info.command, "mode": info.mode,
                "runs": info.runs, "machine": dict(info.machine),
                "versions": dict(info.versions), "scenarios": scenarios}
    return json.dumps(document, indent=1) + "\n"


def load(path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HistoryError(f"cannot read earlier results {path}: {exc}; pass the .json file "
                           "written beside a results .md") from None
    if not isinstance(document.get("scenarios"), dict):
        raise HistoryError(f"{path} holds no 'scenarios': is it a bench results .json?")
    return document


def _median(samples: Sequence[Mapping[str, float]], key: str) -> float | None:
    values = [float(s[key]) for s in samples if key in s]
    return summarize(values).median if values else None


def compare_section(before: Mapping[str, Any], before_name: str,
                    results: Sequence[ScenarioResult]) -> str:
    """capataz's medians now against the same scenarios and metrics in ``before``."""
    rows: list[list[str]] = []
    for result in results:
        side = result.capataz
        old_sides = before["scenarios"].get(result.scenario.name, {}).get("sides", {})
        if side is None or side.status is not Status.MEASURED or side.label not in old_sides:
            continue
        old_samples = old_sides[side.label].get("samples", [])
        for metric in result.scenario.metrics:
            now = _median(side.samples, metric.key)
            then = _median(old_samples, metric.key)
            if now is None or then is None:
                continue
            change = ratio(now, then)
            rows.append([f"`{result.scenario.name}`", f"{metric.label} ({metric.unit})",
                         fmt(then), fmt(now), "-" if change is None else f"{change:.3g}x"])
    parts = ["## Before and after", "",
             f"capataz's medians in this run against `{before_name}` "
             f"({before.get('date', 'unknown date')}, {before.get('mode', '?')} mode)."]
    if not rows:
        return "\n".join([*parts, "", "No scenario measured capataz in both runs."]) + "\n"
    return "\n".join([*parts, "", table(["scenario", "metric", "before", "after",
                                           "after/before"], rows)]) + "\n"
