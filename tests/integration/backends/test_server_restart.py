"""The server restarted under eight busy workers: they ride it out, and no job is lost.

Each test runs its own throwaway server (see ``servers``), so the shared servers
other tests use are never restarted.
"""

from __future__ import annotations

import signal
import time

from tests.integration.worker_site import WorkerSite, wait_for

from capataz import exitcodes


def test_a_server_restart_mid_run_loses_no_job(restartable, tmp_path):
    """The store's server stops for a second and a half while 8 workers are busy and starts
    again: every worker stays up (it reconnects with backoff and says so once), every job
    runs to its end, none fails, and after the restart the queue drains."""
    site = WorkerSite(tmp_path, restartable.url)
    try:
        uuids = site.push("tests.record", 1000, 0, 0.004)
        workers = [site.worker("--sleep=0.2", "--lease=5", "--tries=0") for _ in range(8)]
        wait_for(lambda: len(site.counts("end")) > 200, what="the first jobs")
        restartable.stop()
        time.sleep(1.5)
        dead = [w for w in workers if w.poll() is not None]
        assert not dead, "a worker died with the server:\n" + "\n".join(
            f"exit {w.returncode}: {site.log(w)[-1500:]}" for w in dead)
        restartable.start()
        store = site.backend()
        wait_for(lambda: store.stats() == [], timeout=90, what="the queue to drain")
        assert store.failed_jobs() == []
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            assert proc.wait(timeout=30) == exitcodes.OK
    finally:
        site.close()
    ends = site.counts("end")
    assert set(ends) == set(uuids), "a job was lost"
    starts = site.counts("start")
    # A job runs again only if its worker could not be told the claim went through.
    assert sum(starts.values()) - len(uuids) <= len(workers)
    for log in sorted(tmp_path.glob("worker-*.log")):
        text = log.read_text()
        assert text.count("lost the connection") <= 1, text[-2000:]
        assert text.count("lost the connection") == text.count("reconnected to")
    assert "lost the connection" in site.output()
