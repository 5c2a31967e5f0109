"""Every scenario the harness knows, in the order they run and are reported."""

from __future__ import annotations

from bench.scenario import Scenario


def all_scenarios() -> list[Scenario]:
    from bench.queues.reference import scenarios as reference_scenarios
    from bench.queues.scenarios import scenarios as queue_scenarios
    from bench.supervisor_side.scenarios import scenarios as supervisor_scenarios

    return [*supervisor_scenarios(), *queue_scenarios(), *reference_scenarios()]
