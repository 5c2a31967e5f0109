"""The whole path with real processes: the simulator, `capataz work -A facturacion.jobs`,
a SQLite queue and the document store, configured only through the environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from capataz.queue import CONNECTIONS, use
from facturacion import jobs, samples
from facturacion.signing import SigningCredentials
from facturacion.store import State

CAPATAZ = Path(sys.executable).with_name("capataz")


@pytest.fixture
def simulator_url() -> Iterator[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", "facturacion.simulator", "--port", "0", "--polls", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    try:
        yield line.split()[-1]
    finally:
        child.terminate()
        child.wait(timeout=10)
        child.stdout.close()
        assert child.stderr is not None
        child.stderr.close()


def test_worker_process_sends_receipts_and_polls_a_summary(
    simulator_url: str, tmp_path: Path, credentials: SigningCredentials
) -> None:
    """Dispatch from this process; a separate worker signs nothing, sends the stored bytes,
    retries nothing, polls the RC ticket until accepted, and stops cleanly on SIGTERM."""
    certificate = tmp_path / "cert.pem"
    certificate.write_bytes(credentials.key_pem + credentials.certificate_pem)
    queue_url = f"sqlite://{tmp_path / 'queue.sqlite3'}"
    env = {
        **os.environ,
        "FACTURACION_SUNAT_RUC": "20000000001",
        "FACTURACION_SUNAT_USER": "MODDATOS",
        "FACTURACION_SUNAT_PASSWORD": "moddatos",
        "FACTURACION_SUNAT_BILL_URL": f"{simulator_url}/billService",
        "FACTURACION_SUNAT_CONSULT_URL": f"{simulator_url}/billConsultService",
        "FACTURACION_CERT": str(certificate),
        "FACTURACION_DATA_DIR": str(tmp_path / "data"),
        "CAPATAZ_QUEUE_URL": queue_url,
    }
    runtime = jobs.Runtime.from_environ(env)
    jobs.configure(runtime)
    use(queue_url)
    documents = [samples.factura(60), samples.boleta(60), samples.resumen_diario(60)]
    try:
        for document in documents:
            jobs.dispatch_document(document)
    finally:
        jobs.configure(None)
        CONNECTIONS.reset()
    worker = subprocess.Popen(
        [str(CAPATAZ), "work", "-A", "facturacion.jobs", "--sleep", "0.2", "--memory", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = [runtime.store.get(d.key).state for d in documents]
            if all(state.is_final for state in states):
                break
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert states == [State.ACCEPTED, State.ACCEPTED, State.ACCEPTED], output
    assert worker.returncode == 0, output
    assert "facturacion.enviar_resumen" in output
    summary = runtime.store.get(documents[2].key)
    assert summary.ticket is not None
    assert summary.polls == 2  # 98, then 0
    runtime.store.close()
