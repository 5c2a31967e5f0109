"""Workers of several hosts on one PostgreSQL or Redis store, operated from anywhere.

Two workers with different --name stand for two capatazd hosts; the operator's
`capataz queue:*` commands run as a third process. Pause, failed jobs and restart
reach every worker through the shared store.
"""

from __future__ import annotations

import json
import subprocess

from tests.integration.worker_site import CAPATAZ, WorkerSite, wait_for

from capataz import exitcodes


def capataz(site: WorkerSite, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CAPATAZ), *args, "--url", site.url], env=site.env(),
                          capture_output=True, text=True, timeout=60, check=False)


def test_pause_failed_and_restart_work_across_hosts(server_site):
    """queue:pause stops both hosts' workers taking jobs and queue:resume lets them go on;
    queue:failed lists a job that failed on either host; queue:restart makes every worker
    on every host exit 0."""
    site = server_site
    assert capataz(site, "queue:pause", "default").returncode == exitcodes.OK
    workers = [site.worker("--name", f"host-{h}:1", "--sleep=3", "--tries=1") for h in "ab"]
    site.push("tests.always_raises", 2)
    store = site.backend()
    wait_for(lambda: len(store.markers()) == 1 and site.output().count("processing") == 2,
             what="both workers to start")
    assert site.counts("start") == {}
    assert capataz(site, "queue:resume", "default").returncode == exitcodes.OK
    wait_for(lambda: len(store.failed_jobs()) == 2, what="both jobs to fail")
    listed = capataz(site, "queue:failed", "--json")
    assert listed.returncode == exitcodes.OK
    assert sorted(j["uuid"] for j in json.loads(listed.stdout)) == ["job-00000", "job-00001"]
    assert capataz(site, "queue:restart").returncode == exitcodes.OK
    for proc in workers:
        assert proc.wait(timeout=30) == exitcodes.OK
    assert site.output().count("queue:restart") == 2
