"""A real supervisord (Supervisor 4.3.0, the oracle) in a temporary directory.

It serves a UNIX socket and a password-protected TCP port, and runs a small
set of programs chosen to reach every state supervisorctl reports (see
tests/daemon_harness.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.daemon_harness import Daemon, running


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    directory = Path(tmp_path_factory.mktemp("sup"))
    with running("supervisord", directory) as server:
        yield server
    shutil.rmtree(directory, ignore_errors=True)
