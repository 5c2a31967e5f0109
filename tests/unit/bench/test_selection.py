"""Choosing scenarios by glob, and the order the sides of a scenario run in."""

import pytest
from bench.registry import all_scenarios
from bench.scenario import Metric, Scenario, Settings, Side, run_order, select, split_patterns


def _scenario(name: str) -> Scenario:
    side = Side("x", lambda settings: {"m": 1.0})
    return Scenario(name, lambda s: name, (Metric("m", "m", "s"),), (side,), "group")


SCENARIOS = [_scenario(n) for n in ("sup.start.8", "sup.start.200", "queue.process.redis")]


def test_no_pattern_selects_every_scenario_in_order() -> None:
    """Without --scenarios every scenario runs, in registry order."""
    assert [s.name for s in select(SCENARIOS, [])] == [s.name for s in SCENARIOS]


def test_globs_select_matching_scenarios_in_registry_order() -> None:
    """Globs pick scenarios by name; the registry's order is kept, duplicates are not."""
    chosen = select(SCENARIOS, ["queue.*", "sup.start.*", "sup.start.8"])
    assert [s.name for s in chosen] == ["sup.start.8", "sup.start.200", "queue.process.redis"]


def test_a_glob_that_matches_nothing_is_an_error_naming_it() -> None:
    """A typo in --scenarios is reported with the known names, never a silent empty run."""
    with pytest.raises(ValueError, match=r"no scenario matches sup\.strat.*known: sup\.start\.8"):
        select(SCENARIOS, ["sup.strat*"])


def test_patterns_split_on_commas_and_repeat() -> None:
    """--scenarios takes comma-separated globs and may be given more than once."""
    assert split_patterns(["a.*,b.*", " ", "c"]) == ["a.*", "b.*", "c"]


def test_run_order_rotates_the_sides_each_run() -> None:
    """Each run starts with a different side, so no side always runs first."""
    sides = [Side(label, lambda settings: {}) for label in "abc"]
    orders = ["".join(s.label for s in run_order(sides, i)) for i in range(4)]
    assert orders == ["abc", "bca", "cab", "abc"]
    assert run_order([], 3) == []


def test_registry_names_are_unique_and_each_has_a_capataz_side_or_is_a_reference() -> None:
    """Every registered scenario has a unique name; non-reference ones compare capataz."""
    scenarios = all_scenarios()
    names = [s.name for s in scenarios]
    assert len(names) == len(set(names))
    for scenario in scenarios:
        assert scenario.title(Settings.quick_mode())
        if not scenario.name.startswith("ref."):
            assert scenario.capataz is not None, scenario.name
            assert scenario.peers, scenario.name
