"""Stopping the main job, and starting the system again where it stopped.

Ctrl-C in the middle of a batch stops capatazd and its programs cleanly (exit 130,
nothing left running); ``--resume`` starts capatazd again on the same directory and
one ``reanudar`` job takes every receipt to its end from the stores on disk. With
``--keep-running``, SIGTERM after the summary is the normal way out (exit 0).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from facturacion.billing.store import BillingStore

ROOT = Path(__file__).resolve().parents[2]
#: Real daemons and workers: generous on a loaded machine, quick on an idle one.
pytestmark = pytest.mark.timeout(300)


def _leftovers(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline:
                found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.fixture(autouse=True)
def _nothing_survives_a_failed_test(tmp_path: Path) -> Iterator[None]:
    """Whatever a failing test leaves running under its directory is killed at teardown."""
    yield
    for leftover in _leftovers(str(tmp_path)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(leftover.split(":", 1)[0]), signal.SIGKILL)


def _demo(workdir: Path, *flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "capataz.demo", "--workdir", str(workdir), *flags],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )  # fmt: skip


def _read_until(process: subprocess.Popen[str], text: str, seconds: float = 60) -> str:
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"{text!r} never appeared in:\n{''.join(seen)}")


def test_ctrl_c_stops_cleanly_and_a_restart_resumes(tmp_path: Path) -> None:
    """SIGINT mid-batch: exit 130, no process left. --resume: capatazd again, reanudar,
    and every receipt reaches its scripted end from the stores on disk."""
    workdir = tmp_path / "demo"
    with _demo(workdir, "--receipts", "30") as process:
        _read_until(process, "==> dispatched")
        time.sleep(2.0)
        process.send_signal(signal.SIGINT)
        assert process.stdout is not None
        rest = process.stdout.read()
        assert process.wait(90) == 130, rest
    assert "interrupted: stopping" in rest
    assert "==> stopping capatazd" in rest
    assert not _leftovers(str(workdir))

    with _demo(workdir, "--resume") as process:
        assert process.stdout is not None
        resumed = process.stdout.read()
        assert process.wait(200) == 0, resumed
    assert "==> resuming:" in resumed
    assert "30/30 reached the state the simulator was told to give" in resumed
    assert not _leftovers(str(workdir))
    store = BillingStore(workdir / "data" / "billing.sqlite3")
    try:
        progress = store.progress()
        assert progress["final"] == 30
        assert progress["emails"] == progress["valid"]
        for receipt in store.all():
            # A boleta settled by the Consulta Integrada has its answer instead of a CDR.
            proof = receipt.cdr_path or workdir / "data" / "cdr" / f"{receipt.key}.consulta.json"
            assert Path(proof).exists(), receipt.key
            assert (receipt.pdf_path is not None) == receipt.state.is_valid_receipt
    finally:
        store.close()


def test_resume_needs_a_stopped_run(tmp_path: Path) -> None:
    """--resume in an empty directory says there is nothing to resume, exit 1."""
    with _demo(tmp_path / "nothing", "--resume") as process:
        assert process.stdout is not None
        output = process.stdout.read()
        assert process.wait(60) == 1
    assert "no stopped demo to resume" in output


def test_keep_running_ends_cleanly_on_sigterm(tmp_path: Path) -> None:
    """After the summary the system stays up; SIGTERM then stops it with status 0."""
    workdir = tmp_path / "demo"
    with _demo(workdir, "--receipts", "2", "--keep-running") as process:
        output = _read_until(process, "Still running")
        assert "2/2 reached the state" in output
        assert not process.poll()
        process.send_signal(signal.SIGTERM)
        assert process.stdout is not None
        rest = process.stdout.read()
        assert process.wait(90) == 0, rest
    assert "==> stopping capatazd" in rest
    assert not _leftovers(str(workdir))
