"""The benchmark's jobs for capataz: ``capataz work -A bench.jobs.capataz_jobs``."""

from __future__ import annotations

from bench.jobs.body import noop, record_pickup
from capataz.queue import job


@job(name="bench.noop")
def bench_noop() -> None:
    noop()


@job(name="bench.pickup")
def bench_pickup(sent_at: float) -> None:
    record_pickup(sent_at)
