"""What a scenario is: named metrics, a capataz side and the peers it is compared with."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum


class Better(Enum):
    LOWER = "lower"
    HIGHER = "higher"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    better: Better = Better.LOWER


@dataclass(frozen=True)
class Settings:
    """Sizes a run uses; quick mode shrinks them so a full pass takes minutes."""

    quick: bool
    jobs: int  # queue scenarios: jobs per enqueue/process run
    many_processes: int  # the "1,000 processes" scenarios
    log_megabytes: int  # volume each log scenario writes
    idle_seconds: float  # idle CPU window
    latency_jobs: int  # idle pickup latency: jobs dispatched 20 ms apart

    @classmethod
    def full(cls) -> Settings:
        return cls(quick=False, jobs=20_000, many_processes=1_000, log_megabytes=200,
                   idle_seconds=10.0, latency_jobs=200)

    @classmethod
    def quick_mode(cls) -> Settings:
        return cls(quick=True, jobs=2_000, many_processes=300, log_megabytes=40,
                   idle_seconds=4.0, latency_jobs=100)


Sample = dict[str, float]
"""One run of one side: metric key -> value."""

Runner = Callable[[Settings], Sample]


class NotBuilt(Exception):  # noqa: N818 - a state, reported as such, not an error
    """The capataz side of a scenario has not landed yet; reported, never faked."""


class Unavailable(Exception):  # noqa: N818 - a state, reported as such
    """A side cannot run here (no such API, server absent); reported with the reason."""


@dataclass(frozen=True)
class Side:
    label: str
    run: Runner
    is_capataz: bool = False
    note: str = ""


@dataclass(frozen=True)
class Scenario:
    name: str
    title: Callable[[Settings], str]
    metrics: tuple[Metric, ...]
    sides: tuple[Side, ...]
    group: str
    notes: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def capataz(self) -> Side | None:
        return next((side for side in self.sides if side.is_capataz), None)

    @property
    def peers(self) -> tuple[Side, ...]:
        return tuple(side for side in self.sides if not side.is_capataz)


def select(scenarios: Sequence[Scenario], patterns: Iterable[str]) -> list[Scenario]:
    """Scenarios whose name matches any glob, in registry order; no pattern means all.

    A pattern that matches nothing is an error, so a typo never silently runs nothing.
    """
    wanted = [pattern.strip() for pattern in patterns if pattern.strip()]
    if not wanted:
        return list(scenarios)
    unmatched = [p for p in wanted if not any(fnmatch.fnmatchcase(s.name, p) for s in scenarios)]
    if unmatched:
        known = ", ".join(s.name for s in scenarios)
        raise ValueError(f"no scenario matches {', '.join(unmatched)}; known: {known}")
    return [s for s in scenarios if any(fnmatch.fnmatchcase(s.name, p) for p in wanted)]


def split_patterns(values: Sequence[str]) -> list[str]:
    """``--scenarios 'sup.*,queue.*' --scenarios ref.*`` -> the list of globs."""
    return [part for value in values for part in value.split(",") if part.strip()]


def run_order(sides: Sequence[Side], run_index: int) -> list[Side]:
    """Rotate the sides by one each run so no side always runs first (or on a warm cache)."""
    if not sides:
        return []
    shift = run_index % len(sides)
    return [*sides[shift:], *sides[:shift]]



def keep_sides(scenarios: Sequence[Scenario], patterns: Iterable[str]) -> list[Scenario]:
    """Scenarios with only the sides matching a glob; scenarios left with none are dropped."""
    wanted = [p.strip() for p in patterns if p.strip()]
    if not wanted:
        return list(scenarios)
    out = []
    for scenario in scenarios:
        sides = tuple(side for side in scenario.sides
                      if any(fnmatch.fnmatchcase(side.label, p) for p in wanted))
        if sides:
            out.append(replace(scenario, sides=sides))
    return out
