"""The worker pool of a queue measurement: a dead worker is reported with its last words."""

import sys

import pytest
from bench.queues.driver import workers


def test_a_worker_that_exits_is_reported_with_its_output() -> None:
    """check() raises with the exit code and the end of the workers' output."""
    command = [sys.executable, "-c", "print('no module named bench'); raise SystemExit(3)"]
    with workers([command]) as pool:
        pool.processes[0].wait()
        with pytest.raises(RuntimeError, match=r"exited 3 during the run: no module named bench"):
            pool.check()


def test_workers_are_stopped_when_the_block_ends() -> None:
    """Leaving the block stops every worker, even one still busy sleeping."""
    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    with workers([command, command]) as pool:
        pool.check()
    assert all(process.poll() is not None for process in pool.processes)
