"""Eight worker processes on one SQLite store: every job runs exactly once, none is lost."""

from __future__ import annotations

import random
import signal
import time

from capataz import exitcodes


def test_ten_thousand_jobs_run_exactly_once_across_eight_workers(site):
    """10,000 jobs, 8 workers, no faults: each job starts and ends exactly once."""
    uuids = site.push("tests.record", 10_000)
    workers = [site.worker("--stop-when-empty", "--sleep=0.1") for _ in range(8)]
    for proc in workers:
        proc.wait(timeout=110)
        assert proc.returncode == exitcodes.OK, site.log(proc)
    starts, ends = site.counts("start"), site.counts("end")
    assert set(starts) == set(uuids)
    assert set(starts.values()) == {1}
    assert ends == starts
    store = site.backend()
    assert store.stats() == []
    # Every worker did a share of the work: the claims really were concurrent.
    pids = {pid for pid, _, _ in site.runs()}
    assert len(pids) >= 2


def test_sigkilled_workers_lose_no_job_and_only_their_jobs_run_again(site):
    """Workers SIGKILLed at random mid-run: every job still finishes; a job runs twice only
    when the worker running it was killed (its lease expired and another worker took it)."""
    rng = random.Random(5)
    uuids = site.push("tests.record", 2000, 0, 0.004)
    flags = ("--sleep=0.2", "--lease=2", "--tries=0")
    workers = [site.worker(*flags) for _ in range(8)]
    killed: set[int] = set()
    site.wait_for(lambda: len(site.counts("end")) > 100, what="the first jobs")
    for _ in range(10):
        victim = rng.choice([w for w in workers if w.poll() is None])
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        killed.add(victim.pid)
        workers.remove(victim)
        workers.append(site.worker(*flags))
        time.sleep(rng.uniform(0.1, 0.4))
    store = site.backend()
    site.wait_for(lambda: store.stats() == [], timeout=90, what="the queue to drain")
    for proc in workers:
        proc.send_signal(signal.SIGTERM)
    for proc in workers:
        assert proc.wait(timeout=30) == exitcodes.OK
    runs = site.by_job()
    assert set(runs) == set(uuids), "a job was lost"
    rerun = 0
    for uuid, events in runs.items():
        assert ("end" in {e for _, e in events}), f"{uuid} never finished"
        starts = [pid for pid, e in events if e == "start"]
        # Every start but the last one happened in a worker that was then killed.
        assert set(starts[:-1]) <= killed, f"{uuid} ran twice without its worker dying"
        rerun += len(starts) > 1
    assert rerun <= len(killed)
    assert store.failed_jobs() == []
