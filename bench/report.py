"""Render one run as Markdown: machine, versions, targets, and a table per scenario."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.runner import ScenarioResult, SideResult, Status
from bench.scenario import Metric
from bench.stats import ratio, summarize
from bench.targets import Verdict


def fmt(value: float) -> str:
    """Enough digits to compare, never scientific notation in a table."""
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    if magnitude == 0:
        return "0"
    return f"{value:.3g}"


def _clean(cell: str) -> str:
    """One line per row: a multi-line reason would split the table."""
    return " ".join(cell.split()).replace("|", "\\|")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_clean(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def status_text(side: SideResult) -> str:
    if side.status is Status.NOT_BUILT:
        return "capataz: not built yet" if side.is_capataz else "not built yet"
    if side.status is Status.UNAVAILABLE:
        return f"n/a ({side.reason})"
    if side.status is Status.FAILED:
        return f"failed ({side.reason})"
    return ""


def cell(side: SideResult, metric: Metric) -> str:
    text = status_text(side)
    if text:
        return text
    values = side.values(metric.key)
    if not values:
        return "-"
    summary = summarize(values)
    text = fmt(summary.median)
    if summary.runs > 1:
        text += f" [{fmt(summary.low)}, {fmt(summary.high)}]"
    if side.failures:
        text += f" ({len(side.failures)} run(s) failed: {side.failures[-1]})"
    return text


def ratio_cell(capataz: SideResult | None, peer: SideResult, metric: Metric) -> str:
    if capataz is None or capataz is peer:
        return ""
    mine, theirs = capataz.values(metric.key), peer.values(metric.key)
    if capataz.status is not Status.MEASURED or peer.status is not Status.MEASURED:
        return "-"
    if not mine or not theirs:
        return "-"
    quotient = ratio(summarize(mine).median, summarize(theirs).median)
    return "-" if quotient is None else f"{quotient:.3g}x"


def scenario_section(result: ScenarioResult) -> str:
    scenario = result.scenario
    capataz = result.capataz
    header = ["side"]
    for metric in scenario.metrics:
        header.append(f"{metric.label} ({metric.unit}, {metric.better.value} is better)")
        if capataz is not None:
            header.append("capataz/side")
    rows: list[list[str]] = []
    for side in result.sides:
        row = [side.label + (f" ({side.note})" if side.note else "")]
        for metric in scenario.metrics:
            row.append(cell(side, metric))
            if capataz is not None:
                row.append(ratio_cell(capataz, side, metric))
        rows.append(row)
    parts = [f"### `{scenario.name}`: {result.title}", "", table(header, rows)]
    if scenario.notes:
        parts += ["", scenario.notes]
    return "\n".join(parts)


def targets_table(verdicts: Sequence[Verdict]) -> str:
    marks = {"met": "met", "missed": "**missed**", "not built": "not built",
             "not measured": "not measured"}
    rows = [[v.target.text, f"`{v.target.scenario}`", marks[v.state], v.detail] for v in verdicts]
    return table(["target", "scenario", "verdict", "capataz result (medians)"], rows)


@dataclass(frozen=True)
class RunInfo:
    date: str
    command: str
    mode: str
    runs: int
    seconds: float
    machine: Mapping[str, str]
    versions: Mapping[str, str]


def render(info: RunInfo, results: Sequence[ScenarioResult], verdicts: Sequence[Verdict]) -> str:
    parts = [
        f"# capataz benchmarks, {info.date}",
        "",
        f"Command: `{info.command}`; mode: {info.mode}; {info.runs} alternating runs per side "
        f"(the order of the sides rotates each run); took {info.seconds / 60:.1f} min.",
        "Cells are the median over the runs with the range [min, max] in brackets; "
        "`capataz/side` is capataz's median over that side's median. The machine is shared "
        "with other work, so compare sides within one run, not across files.",
        "",
        "## Machine",
        "",
        table(["fact", "value"], [[k, v] for k, v in info.machine.items()]),
        "",
        "## Versions",
        "",
        table(["package", "version"], [[k, v] for k, v in info.versions.items()]),
        "",
        "## Targets",
        "",
        targets_table(verdicts),
    ]
    group = ""
    for result in results:
        if result.scenario.group != group:
            group = result.scenario.group
            parts += ["", f"## {group}"]
        parts += ["", scenario_section(result)]
    return "\n".join(parts) + "\n"
