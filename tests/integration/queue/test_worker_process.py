"""One real ``capataz work`` process: signals, timeouts, heartbeats, failures and retries."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from tests.integration.worker_site import wait_for

from capataz import exitcodes

LONG_JOB = float(os.environ.get("CAPATAZ_TEST_LONG_JOB", "3"))


def _long_job_finishes_after_sigterm(site, job: str, seconds: float) -> None:
    [uuid] = site.push(job, 1, seconds)
    proc = site.worker("--sleep=0.2")
    wait_for(lambda: site.counts("start")[uuid] == 1, what="the job to start")
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert proc.wait(timeout=seconds + 30) == exitcodes.OK
    assert time.monotonic() - started >= seconds * 0.5
    assert site.counts("end")[uuid] == 1
    assert site.backend().stats() == []
    assert "stopping: a stop signal" in site.log(proc)


@pytest.mark.parametrize("job", ["tests.sleep", "tests.async_sleep"])
def test_sigterm_during_a_long_job_lets_it_finish_then_exits_0(site, job):
    """SIGTERM while a job runs: the job completes, the worker exits 0 (plain and async jobs)."""
    _long_job_finishes_after_sigterm(site, job, LONG_JOB)


@pytest.mark.slow
def test_sigterm_during_a_twenty_second_job(site):
    """The issue's case: a 20-second job survives SIGTERM and the worker exits 0."""
    _long_job_finishes_after_sigterm(site, "tests.sleep", 20)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGQUIT])
def test_an_idle_worker_exits_promptly_on_a_stop_signal(site, sig):
    """An idle worker with --sleep=3 exits 0 well within its sleep on TERM, INT or QUIT."""
    proc = site.worker("--sleep=3")
    wait_for(lambda: "processing queues" in site.log(proc), what="the worker to start")
    proc.send_signal(sig)
    assert proc.wait(timeout=5) == exitcodes.OK


def test_sigusr2_pauses_and_sigcont_resumes(site):
    """A paused worker takes no job; SIGCONT lets it take the job."""
    proc = site.worker("--sleep=0.2")
    wait_for(lambda: "processing queues" in site.log(proc), what="the worker to start")
    proc.send_signal(signal.SIGUSR2)
    time.sleep(0.3)
    [uuid] = site.push("tests.record", 1)
    time.sleep(1.0)
    assert site.counts("start")[uuid] == 0
    proc.send_signal(signal.SIGCONT)
    wait_for(lambda: site.counts("end")[uuid] == 1, timeout=10, what="the job to run")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == exitcodes.OK


def _waiting_and_running(site) -> list[tuple[int, int]]:
    return [(s.waiting, s.running) for s in site.backend().stats()]


def test_queue_restart_during_a_job_stops_the_worker_before_its_next_job(site):
    """queue:restart from another process while a busy worker runs a job: the job ends
    and is completed, no further job is taken (the worker learns of the restart in the
    same transaction that would reserve the next one), and the worker exits 0."""
    gate = site.tmp / "gate"
    first, *_ = site.push("tests.wait_for", 3, str(gate))
    proc = site.worker("--sleep=0.2")
    wait_for(lambda: site.counts("start")[first] == 1, what="the first job to start")
    assert site.capataz("queue:restart").returncode == exitcodes.OK
    gate.touch()
    assert proc.wait(timeout=30) == exitcodes.OK
    assert "stopping: queue:restart" in site.log(proc)
    assert site.counts("end") == {first: 1}
    assert _waiting_and_running(site) == [(2, 0)]


def test_queue_pause_during_a_job_stops_claims_until_resumed(site):
    """queue:pause while a job runs: it is completed, the next job waits; queue:resume
    lets the same worker take it."""
    gate = site.tmp / "gate"
    first, second = site.push("tests.wait_for", 2, str(gate))
    proc = site.worker("--sleep=0.2")
    wait_for(lambda: site.counts("start")[first] == 1, what="the first job to start")
    assert site.capataz("queue:pause", "default").returncode == exitcodes.OK
    gate.touch()
    wait_for(lambda: _waiting_and_running(site) == [(1, 0)], what="the first job's end")
    time.sleep(0.5)  # long enough for a worker that missed the pause to take the job
    assert site.counts("start")[second] == 0
    assert site.capataz("queue:resume", "default").returncode == exitcodes.OK
    wait_for(lambda: site.counts("end")[second] == 1, what="the second job to run")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == exitcodes.OK


def test_always_raising_job_fails_after_three_tries_and_retry_all_runs_it_again(site):
    """--tries=3: three attempts, then a failed job with its traceback; queue:retry all
    puts it back and the next worker runs it three more times."""
    [uuid] = site.push("tests.always_raises", 1)
    proc = site.worker("--tries=3", "--stop-when-empty")
    assert proc.wait(timeout=30) == exitcodes.OK
    assert site.counts("start")[uuid] == 3
    listing = json.loads(site.capataz("queue:failed", "--json").stdout)
    assert [f["uuid"] for f in listing] == [uuid]
    assert "Traceback (most recent call last)" in listing[0]["exception"]
    assert "RuntimeError: this job always raises" in listing[0]["exception"]
    assert "queue_test_jobs.py" in listing[0]["exception"]
    assert "tests.always_raises" in site.capataz("queue:failed").stdout
    retry = site.capataz("queue:retry", "all")
    assert retry.returncode == 0, retry.stderr
    assert "Pushed 1 of 1" in retry.stdout
    proc = site.worker("--tries=3", "--stop-when-empty")
    assert proc.wait(timeout=30) == exitcodes.OK
    assert site.counts("start")[uuid] == 6
    assert len(json.loads(site.capataz("queue:failed", "--json").stdout)) == 1


def test_hostile_payloads_fail_and_the_worker_carries_on(site):
    """Unknown jobs, bad JSON and unfitting arguments end in failed jobs; good jobs still run."""
    from capataz.queue.backends.base import NewJob

    store = site.backend()
    hostile = {
        "unknown": json.dumps({"uuid": "unknown", "job": "os.system", "args": ["id"]}),
        "bad-json": "{'uuid': 1",
        "bad-args": json.dumps({"uuid": "bad-args", "job": "tests.noop", "args": [1, 2, 3]}),
        "pickle": "\x80\x04\x95\x00",
    }
    now = time.time()
    store.push([NewJob(u, "default", p, now) for u, p in hostile.items()])
    [good] = site.push("tests.record", 1)
    proc = site.worker("--stop-when-empty", "--tries=3")
    assert proc.wait(timeout=30) == exitcodes.OK
    assert site.counts("end")[good] == 1
    failed = {f.uuid: f.exception for f in store.failed_jobs()}
    assert set(failed) == set(hostile)
    assert "no job named 'os.system'" in failed["unknown"]
    assert "not valid JSON" in failed["bad-json"]
    assert "do not fit tests.noop(n=0)" in failed["bad-args"]
    assert "Traceback" not in site.log(proc)


def test_an_async_job_past_its_timeout_is_stopped_too(site):
    """The timeout holds for async def jobs: the worker releases the job and exits 1."""
    [uuid] = site.push("tests.async_sleep", 1, 30)
    proc = site.worker("--timeout=1", "--tries=3")
    assert proc.wait(timeout=20) == 1
    log = site.log(proc)
    assert f"({uuid}) ran longer than its timeout of 1s" in log
    assert log.index(" RUNNING") < log.index(" FAIL")
    assert site.counts("end")[uuid] == 0
    assert [s.waiting for s in site.backend().stats()] == [1]


def test_a_timed_out_job_is_released_and_the_worker_exits(site):
    """--timeout=1 on a 30 s job: the worker stops it, releases it (attempts left), exits 1."""
    [uuid] = site.push("tests.sleep", 1, 30)
    proc = site.worker("--timeout=1", "--tries=2", "--backoff=0")
    assert proc.wait(timeout=20) == 1
    assert "ran longer than its timeout of 1s" in site.log(proc)
    store = site.backend()
    assert [s.waiting for s in store.stats()] == [1]
    # The second attempt is the last: the next timeout fails the job.
    proc = site.worker("--timeout=1", "--tries=2")
    assert proc.wait(timeout=20) == 1
    assert [f.uuid for f in store.failed_jobs()] == [uuid]


def test_a_job_longer_than_its_lease_is_never_given_to_a_second_worker(site):
    """Heartbeats keep renewing the lease: a 4 s job with a 1 s lease runs once only,
    although three idle workers poll the queue all the while."""
    [uuid] = site.push("tests.sleep", 1, 4)
    workers = [site.worker("--lease=1", "--sleep=0.1", "--stop-when-empty") for _ in range(1)]
    wait_for(lambda: site.counts("start")[uuid] == 1, what="the job to start")
    workers += [site.worker("--lease=1", "--sleep=0.1") for _ in range(3)]
    assert workers[0].wait(timeout=30) == exitcodes.OK
    assert site.counts("start")[uuid] == 1
    assert site.counts("end")[uuid] == 1
    for proc in workers[1:]:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == exitcodes.OK


def test_a_sigkilled_workers_job_comes_back_within_the_lease(site):
    """SIGKILL a worker mid-job: another worker runs the job again after about one lease
    (the killed attempt counted, so --tries must allow a second one)."""
    [uuid] = site.push("tests.sleep", 1, 30)
    proc = site.worker("--lease=2", "--sleep=0.1", "--tries=3")
    wait_for(lambda: site.counts("start")[uuid] == 1, what="the job to start")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    killed_at = time.monotonic()
    other = site.worker("--lease=2", "--sleep=0.1", "--tries=3")
    wait_for(lambda: site.counts("start")[uuid] == 2, timeout=15, what="the job to return")
    assert time.monotonic() - killed_at < 8
    other.send_signal(signal.SIGKILL)


def test_json_output_has_one_object_per_line(site):
    """--json: every line is a JSON object; jobs say RUNNING then DONE with a duration."""
    [uuid] = site.push("tests.noop", 1)
    proc = site.worker("--json", "--stop-when-empty")
    assert proc.wait(timeout=20) == exitcodes.OK
    events = [json.loads(line) for line in site.log(proc).splitlines()]
    statuses = [(e["status"], e["id"]) for e in events if e["event"] == "job"]
    assert statuses == [("RUNNING", uuid), ("DONE", uuid)]
    assert "duration_ms" in next(e for e in events if e.get("status") == "DONE")


def test_memory_limit_exits_12(site):
    """--memory=1 (MB) is always exceeded: the worker exits with code 12 after one job."""
    site.push("tests.noop", 2)
    proc = site.worker("--memory=1")
    assert proc.wait(timeout=20) == exitcodes.MEMORY_EXCEEDED


def test_environment_twins_configure_the_worker(site):
    """CAPATAZ_TRIES and CAPATAZ_STOP_WHEN_EMPTY work like --tries and --stop-when-empty."""
    [uuid] = site.push("tests.always_raises", 1)
    proc = site.worker(CAPATAZ_TRIES="2", CAPATAZ_STOP_WHEN_EMPTY="1")
    assert proc.wait(timeout=20) == exitcodes.OK
    assert site.counts("start")[uuid] == 2


def test_a_long_running_worker_leaks_no_file_descriptors(site):
    """Open descriptors after 500 more jobs (sync, async, failing) equal those after 10."""
    proc = site.worker("--sleep=0.1", "--tries=1")
    store = site.backend()

    def drained() -> bool:
        return all(s.waiting == 0 and s.running == 0 for s in store.stats())

    def fds() -> int:
        return len(os.listdir(f"/proc/{proc.pid}/fd"))

    site.push("tests.noop", 10, prefix="warm")
    site.push("tests.async_sleep", 1, 0, prefix="warm-async")  # opens the one event loop
    wait_for(drained, what="the warm-up jobs")
    before = fds()
    site.push("tests.noop", 300, prefix="sync")
    site.push("tests.async_sleep", 100, 0, prefix="async")
    site.push("tests.always_raises", 100, prefix="bad")
    wait_for(drained, what="the jobs")
    assert fds() == before
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == exitcodes.OK
