"""Eight `capataz work` processes on one SQLite, PostgreSQL or Redis store: exactly once,
nothing lost."""

from __future__ import annotations

import random
import signal
import time

import pytest
from tests.integration.worker_site import wait_for

from capataz import exitcodes


# About 30 s on a quiet 2-core machine; the margin is for a loaded one (and coverage).
@pytest.mark.timeout(300)
def test_ten_thousand_jobs_run_exactly_once_across_eight_workers(site):
    """10,000 jobs, 8 worker processes, no faults: each job starts and ends exactly once,
    and the work really is shared between the processes."""
    uuids = site.push("tests.record", 10_000)
    workers = [site.worker("--stop-when-empty", "--sleep=0.1") for _ in range(8)]
    for proc in workers:
        assert proc.wait(timeout=280) == exitcodes.OK, site.output()[-3000:]
    starts, ends = site.counts("start"), site.counts("end")
    assert set(starts) == set(uuids)
    assert set(starts.values()) == {1}
    assert ends == starts
    store = site.backend()
    assert store.stats() == []
    assert len({pid for pid, _, _ in site.runs()}) >= 4


def test_sigkilled_workers_lose_no_job_and_only_their_jobs_run_again(site):
    """Workers SIGKILLed at random mid-run: every job still finishes; a job runs twice only
    when the worker running it was killed (its lease expired and another worker took it)."""
    rng = random.Random(6)
    uuids = site.push("tests.record", 2000, 0, 0.004)
    flags = ("--sleep=0.2", "--lease=2", "--tries=0")
    workers = [site.worker(*flags) for _ in range(8)]
    killed: set[int] = set()
    wait_for(lambda: len(site.counts("end")) > 100, what="the first jobs")
    for _ in range(10):
        victim = rng.choice([w for w in workers if w.poll() is None])
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        killed.add(victim.pid)
        workers.remove(victim)
        workers.append(site.worker(*flags))
        time.sleep(rng.uniform(0.1, 0.4))
    store = site.backend()
    wait_for(lambda: store.stats() == [], timeout=90, what="the queue to drain")
    for proc in workers:
        proc.send_signal(signal.SIGTERM)
    for proc in workers:
        assert proc.wait(timeout=30) == exitcodes.OK
    runs = site.by_job()
    assert set(runs) == set(uuids), "a job was lost"
    rerun = 0
    for uuid, events in runs.items():
        assert "end" in {e for _, e in events}, f"{uuid} never finished"
        starts = [pid for pid, e in events if e == "start"]
        assert set(starts[:-1]) <= killed, f"{uuid} ran twice without its worker dying"
        rerun += len(starts) > 1
    assert rerun <= len(killed)
    assert store.failed_jobs() == []
