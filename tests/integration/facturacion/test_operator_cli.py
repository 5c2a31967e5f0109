"""`python -m facturacion`: what an operator sees and does after a job failed for a person."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from capataz.queue import CONNECTIONS, FakeClock, MemoryBackend, use
from facturacion import samples
from facturacion.cli import main
from facturacion.signing import Signer
from facturacion.simulator import FaultKind, FaultRule
from facturacion.simulator.testing import RunningSimulator, service_on
from facturacion.store import DocumentStore, State


def filled_store(tmp_path: Path, simulator: RunningSimulator, signer: Signer) -> DocumentStore:
    """An accepted factura, a factura stopped by a configuration fault, a prepared RA."""
    store = DocumentStore(tmp_path / "documents.sqlite3")
    simulator.state.rules.append(FaultRule(FaultKind.FAULT, match="F001-71", code=111))

    async def scenario() -> None:
        async with service_on(simulator.url, store, signer) as service:
            for document in (samples.factura(70), samples.factura(71)):
                service.prepare(document)
                await service.send(document.key)
            service.prepare(samples.comunicacion_baja(70))

    asyncio.run(scenario())
    return store


def test_documents_show_export_and_resend(
    tmp_path: Path, simulator: RunningSimulator, signer: Signer, capsys: pytest.CaptureFixture[str]
) -> None:
    """List by state, show one, export its bytes as sent and received, re-dispatch its job."""
    store = filled_store(tmp_path, simulator, signer)
    data = ["--data-dir", str(tmp_path)]
    assert main([*data, "documents"]) == 0
    listing = capsys.readouterr().out
    assert "20000000001-01-F001-70" in listing
    assert "accepted" in listing
    assert main([*data, "documents", "--state", "configuration"]) == 0
    assert capsys.readouterr().out.split()[0:3] == [
        "20000000001-01-F001-71",
        "configuration",
        "111",
    ]
    assert main([*data, "show", "20000000001-01-F001-71"]) == 0
    shown = capsys.readouterr().out
    assert "state:    configuration" in shown
    assert "hash:     " in shown
    out = tmp_path / "out.bin"
    for what, expected in (("xml", store.get("20000000001-01-F001-70").signed_xml),
                           ("zip", store.get("20000000001-01-F001-70").zip),
                           ("cdr", store.get("20000000001-01-F001-70").cdr_zip)):  # fmt: skip
        assert main([*data, "export", "20000000001-01-F001-70", what, "-o", str(out)]) == 0
        assert out.read_bytes() == expected
    assert main([*data, "export", "20000000001-01-F001-71", "cdr", "-o", str(out)]) == 1
    assert "has no CDR (state configuration)" in capsys.readouterr().err

    backend = MemoryBackend(FakeClock())
    use(backend)
    try:
        assert main([*data, "resend", "20000000001-01-F001-71"]) == 0
        assert main([*data, "resend", "20000000001-RA-20261203-70"]) == 0
        assert main([*data, "resend", "20000000001-01-F001-70"]) == 1
        assert "final" in capsys.readouterr().err
        assert backend.stats()[0].waiting == 2
    finally:
        CONNECTIONS.reset()
    store.close()


def test_a_boleta_settled_without_a_cdr_exports_its_evidence(
    tmp_path: Path, simulator: RunningSimulator, signer: Signer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A late boleta settled by the Consulta Integrada: no CDR, the status answer instead;
    a send in flight shows which process holds it."""
    store = DocumentStore(tmp_path / "documents.sqlite3")
    late, held = samples.boleta(80), samples.boleta(81)
    simulator.state.rules.append(FaultRule(FaultKind.SLOW, match=late.key, delay=2.0))

    async def scenario() -> None:
        async with service_on(simulator.url, store, signer, read_timeout=1.0) as service:
            service.prepare(late)
            await service.send(late.key)
            await service.send(late.key)
            service.prepare(held)

    asyncio.run(scenario())
    assert store.claim(held.key, frozenset({State.PREPARED}), 1.0, 0.0, "host-a:4242")
    data = ["--data-dir", str(tmp_path)]
    out = tmp_path / "answer.json"
    assert main([*data, "export", late.key, "evidence", "-o", str(out)]) == 0
    assert b'"estadoCp": "1"' in out.read_bytes()
    assert main([*data, "export", late.key, "cdr", "-o", str(out)]) == 1
    assert main([*data, "show", late.key]) == 0
    assert "evidence: " in capsys.readouterr().out
    assert main([*data, "show", held.key]) == 0
    assert "sender:   host-a:4242" in capsys.readouterr().out
    assert main([*data, "export", held.key, "evidence", "-o", str(out)]) == 1
    assert "has no status answer" in capsys.readouterr().err
    store.close()


def test_unknown_key_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A key nobody prepared: exit 1 and a message, never a traceback."""
    assert main(["--data-dir", str(tmp_path), "show", "20000000001-01-F001-1"]) == 1
    assert "no document is prepared" in capsys.readouterr().err


def test_module_runs_as_a_script(tmp_path: Path) -> None:
    """`python -m facturacion documents` runs and exits 0 on an empty store."""
    result = subprocess.run(
        [sys.executable, "-m", "facturacion", "--data-dir", str(tmp_path), "documents"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
