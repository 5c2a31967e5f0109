"""Real worker processes on a real SQLite store in tmp_path; every process is reaped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.worker_site import WorkerSite


@pytest.fixture
def site(tmp_path: Path) -> Iterator[WorkerSite]:
    under_test = WorkerSite(tmp_path, f"sqlite://{tmp_path / 'queue.db'}")
    try:
        yield under_test
    finally:
        under_test.close()
