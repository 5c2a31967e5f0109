"""The issue's targets, and how one run's results meet them (met / missed / not built)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from bench.runner import ScenarioResult, SideResult, Status
from bench.scenario import Better
from bench.stats import ratio, summarize


class Kind(Enum):
    RATIO_AT_MOST = "ratio ≤"  # capataz / best peer
    RATIO_AT_LEAST = "ratio ≥"
    VALUE_AT_MOST = "value ≤"  # capataz's own median
    SHARE_OF_LIMIT_AT_LEAST = "share of limit ≥"  # capataz / the backend's reference limit


@dataclass(frozen=True)
class Target:
    scenario: str
    metric: str
    kind: Kind
    bound: float
    text: str
    limit: tuple[str, str] | None = None  # (reference scenario, metric) for SHARE_OF_LIMIT


@dataclass(frozen=True)
class Verdict:
    target: Target
    state: str  # "met", "missed", "not built", "not measured"
    detail: str


def _ratio_targets() -> list[Target]:
    out = [
        Target("sup.start.200", "seconds", Kind.RATIO_AT_MOST, 0.2,
               "start 200 processes ≤ 0.2x supervisord"),
        Target("sup.sigkill", "seconds", Kind.RATIO_AT_MOST, 0.3,
               "SIGKILL to RUNNING ≤ 0.3x supervisord"),
        # Judged on the daemon's answer read as bytes: the xmlrpc.client parse that the
        # "ms" metric adds costs both daemons the same, so it puts a floor under the
        # ratio that no daemon can go below. The parsed latency is still reported.
        Target("sup.info.200", "response_ms", Kind.RATIO_AT_MOST, 0.1,
               "getAllProcessInfo at 200 ≤ 0.1x supervisord (response, unparsed)"),
        Target("sup.stopall.200", "seconds", Kind.RATIO_AT_MOST, 0.2,
               "stopAllProcesses at 200 ≤ 0.2x supervisord"),
    ]
    for name, what in (("blocks", "large blocks"), ("lines", "100-byte lines"),
                       ("shared", "8 children, one file")):
        out += [
            Target(f"sup.log.{name}", "mb_per_s", Kind.RATIO_AT_LEAST, 1.5,
                   f"log throughput, {what} ≥ 1.5x supervisord"),
            Target(f"sup.log.{name}", "cpu_s_per_mb", Kind.RATIO_AT_MOST, 0.5,
                   f"daemon CPU per MB, {what} ≤ 0.5x supervisord"),
        ]
    out.append(Target("sup.idle.200", "rss_mb", Kind.RATIO_AT_MOST, 1.5,
                      "daemon RSS with 200 processes ≤ 1.5x supervisord"))
    return out


def _queue_targets() -> list[Target]:
    out: list[Target] = []
    limits = {"sqlite": ("ref.sqlite", "dequeues_per_s"),
              "postgres": ("ref.postgres", "dequeues_per_s"),
              "redis": ("ref.redis", "rpop_per_s")}
    for backend, limit in limits.items():
        out += [
            Target(f"queue.process.{backend}", "jobs_per_s", Kind.RATIO_AT_LEAST, 1.5,
                   f"8-worker throughput on {backend} ≥ 1.5x the best peer"),
            Target(f"queue.process.{backend}", "jobs_per_s", Kind.SHARE_OF_LIMIT_AT_LEAST, 0.5,
                   f"8-worker throughput on {backend} ≥ 50% of the reference limit", limit),
        ]
    for backend, bound in (("postgres", 5.0), ("redis", 5.0), ("sqlite", 50.0)):
        out.append(Target(f"queue.latency.{backend}", "p50_ms", Kind.VALUE_AT_MOST, bound,
                          f"idle pickup p50 on {backend} ≤ {bound:g} ms"))
    return out


TARGETS: tuple[Target, ...] = (*_ratio_targets(), *_queue_targets())


def _median(side: SideResult | None, metric: str) -> float | None:
    if side is None or side.status is not Status.MEASURED:
        return None
    values = side.values(metric)
    return summarize(values).median if values else None


def _best_peer(result: ScenarioResult, metric: str) -> tuple[str, float] | None:
    better = next((m.better for m in result.scenario.metrics if m.key == metric), Better.LOWER)
    measured = [(peer.label, value) for peer in result.peers
                if (value := _median(peer, metric)) is not None]
    if not measured:
        return None
    pick = min if better is Better.LOWER else max
    return pick(measured, key=lambda item: item[1])


def evaluate(target: Target, results: Sequence[ScenarioResult]) -> Verdict:
    by_name = {r.scenario.name: r for r in results}
    result = by_name.get(target.scenario)
    if result is None:
        return Verdict(target, "not measured", "scenario not selected")
    capataz = result.capataz
    if capataz is not None and capataz.status is Status.NOT_BUILT:
        return Verdict(target, "not built", "capataz: not built yet")
    mine = _median(capataz, target.metric)
    if mine is None:
        reason = capataz.reason if capataz is not None else "no capataz side"
        return Verdict(target, "not measured", reason or "no sample")
    if target.kind is Kind.VALUE_AT_MOST:
        return _verdict(target, mine <= target.bound, f"{mine:.3g} (bound {target.bound:g})")
    if target.kind is Kind.SHARE_OF_LIMIT_AT_LEAST:
        assert target.limit is not None
        limit_result = by_name.get(target.limit[0])
        limit_side = limit_result.sides[0] if limit_result and limit_result.sides else None
        limit = _median(limit_side, target.limit[1])
        share = ratio(mine, limit) if limit is not None else None
        if share is None:
            return Verdict(target, "not measured", f"reference {target.limit[0]} not measured")
        return _verdict(target, share >= target.bound, f"{share:.0%} of {limit:,.0f}/s")
    best = _best_peer(result, target.metric)
    if best is None:
        return Verdict(target, "not measured", "no peer measured")
    quotient = ratio(mine, best[1])
    if quotient is None:
        return Verdict(target, "not measured", f"{best[0]} measured zero")
    ok = quotient <= target.bound if target.kind is Kind.RATIO_AT_MOST else quotient >= target.bound
    return _verdict(target, ok, f"{quotient:.3g}x {best[0]}")


def _verdict(target: Target, ok: bool, detail: str) -> Verdict:
    return Verdict(target, "met" if ok else "missed", detail)


def evaluate_all(results: Sequence[ScenarioResult]) -> list[Verdict]:
    return [evaluate(target, results) for target in TARGETS]
