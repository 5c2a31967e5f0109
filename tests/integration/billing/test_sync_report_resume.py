"""The jobs around the chain: status sync, resuming after a stop, and the daily report."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import io
from pathlib import Path

from facturacion import samples
from facturacion.billing import jobs
from facturacion.billing.runtime import Runtime
from facturacion.billing.store import ReceiptState
from facturacion.simulator.state import API_CLIENT_ID, API_CLIENT_SECRET
from facturacion.simulator.testing import RunningSimulator
from facturacion.store import State

from .conftest import Queue, script


def _sync(older_than: float = 0.0) -> dict[str, int]:
    result: dict[str, int] = asyncio.run(jobs.sincronizar_estados(older_than=older_than))
    return result


def test_sync_settles_a_receipt_sunat_registered_but_never_answered(
    runtime: Runtime, simulator: RunningSimulator, queue: Queue
) -> None:
    """After a late answer, the sync asks getStatusCdr, records the CDR and queues the PDF."""
    receipt = samples.factura(11)
    script(simulator, kind="slow", match=receipt.key, delay=2.0, operation="sendBill")
    runtime.store.add(receipt)
    with contextlib.suppress(jobs.SunatNotAnsweredError):
        asyncio.run(jobs.emitir_comprobante(receipt.key))
    assert _sync() == {"checked": 1, "settled": 1, "resend": 0, "unanswered": 0}
    stored = runtime.store.get(receipt.key)
    assert stored.state is ReceiptState.ACCEPTED
    assert stored.cdr_path is not None
    assert Path(stored.cdr_path).exists()
    assert runtime.documents.get(receipt.key).state is State.ACCEPTED
    assert queue.take() == [("generar_pdf", [receipt.key], {})]


def test_sync_resends_what_sunat_never_saw(
    runtime: Runtime, simulator: RunningSimulator, queue: Queue
) -> None:
    """Never prepared, or unknown at SUNAT (0011): the same number is queued for sending."""
    never_sent = samples.factura(12)
    lost = samples.factura(13)
    runtime.store.add(never_sent)
    runtime.store.add(lost)
    service = runtime.service(runtime.api())
    service.prepare(lost)
    runtime.documents.record(lost.key, State.UNKNOWN, message="timed out")
    runtime.store.record_outcome(lost.key, ReceiptState.SENT)
    report = _sync()
    assert report == {"checked": 2, "settled": 0, "resend": 2, "unanswered": 0}
    assert sorted(args[0] for _, args, _ in queue.take()) == sorted([never_sent.key, lost.key])
    assert runtime.documents.get(lost.key).state is State.PENDING
    assert ("getStatusCdr", lost.key) in simulator.state.calls


def test_sync_mirrors_an_answer_the_billing_store_missed(runtime: Runtime, queue: Queue) -> None:
    """The SUNAT store knew the outcome (a worker died after recording it): copy it over."""
    receipt = samples.boleta(14)
    runtime.store.add(receipt)
    runtime.service(runtime.api()).prepare(receipt)
    runtime.documents.record(receipt.key, State.REJECTED, code=2800, message="no")
    runtime.store.record_outcome(receipt.key, ReceiptState.SENT)
    assert _sync()["settled"] == 1
    assert runtime.store.get(receipt.key).state is ReceiptState.REJECTED
    assert queue.take() == []


def test_sync_leaves_what_sunat_cannot_answer(runtime: Runtime, queue: Queue) -> None:
    """Boletas are not in billConsultService (0004): they stay for a person or a resend."""
    receipt = samples.boleta(15)
    runtime.store.add(receipt)
    runtime.service(runtime.api()).prepare(receipt)
    runtime.documents.record(receipt.key, State.UNKNOWN)
    runtime.store.record_outcome(receipt.key, ReceiptState.SENT)
    assert _sync()["unanswered"] == 1
    assert _sync(older_than=3600)["checked"] == 0
    assert queue.take() == []


def test_sync_asks_the_consulta_integrada_about_boletas(
    runtime: Runtime, simulator: RunningSimulator, queue: Queue
) -> None:
    """With API credentials: a registered boleta is settled (no CDR, the answer as
    evidence, the PDF queued); one SUNAT never saw is queued for sending again."""
    assert runtime.sunat is not None
    runtime.sunat = dataclasses.replace(
        runtime.sunat, validity_url=simulator.validity_url, api_client_id=API_CLIENT_ID,
        api_client_secret=API_CLIENT_SECRET,
    )  # fmt: skip
    registered, lost = samples.boleta(16), samples.boleta(17)
    script(simulator, kind="slow", match=registered.key, delay=2.0, operation="sendBill")
    runtime.store.add(registered)
    with contextlib.suppress(jobs.SunatNotAnsweredError):
        asyncio.run(jobs.emitir_comprobante(registered.key))
    runtime.store.add(lost)
    runtime.service(runtime.api()).prepare(lost)
    runtime.documents.record(lost.key, State.UNKNOWN, message="timed out")
    runtime.store.record_outcome(lost.key, ReceiptState.SENT)
    assert _sync() == {"checked": 2, "settled": 1, "resend": 1, "unanswered": 0}
    settled = runtime.store.get(registered.key)
    assert (settled.state, settled.sunat_code, settled.cdr_path) == (ReceiptState.ACCEPTED, 0, None)
    assert runtime.paths.evidence_path(registered.key).exists()
    assert runtime.documents.get(lost.key).state is State.PENDING
    assert sorted(queue.take()) == [("emitir_comprobante", [lost.key], {}),
                                    ("generar_pdf", [registered.key], {})]  # fmt: skip
    assert ("getStatusCdr", registered.key) not in simulator.state.calls


def test_resume_dispatches_each_missing_step(runtime: Runtime, queue: Queue) -> None:
    """After a stop: unsent receipts are sent, unprinted printed, unmailed mailed."""
    unsent, unprinted, unmailed = samples.factura(21), samples.factura(22), samples.factura(23)
    for receipt in (unsent, unprinted, unmailed):
        runtime.store.add(receipt, "a@b.example")
    runtime.store.record_outcome(unprinted.key, ReceiptState.ACCEPTED, code=0)
    runtime.store.record_outcome(unmailed.key, ReceiptState.ACCEPTED, code=0)
    runtime.store.set_pdf(unmailed.key, "/p.pdf")
    assert jobs.reanudar() == {"send": 1, "pdf": 1, "email": 1}
    assert sorted(queue.take()) == [
        ("emitir_comprobante", [unsent.key], {}),
        ("enviar_correo", [unmailed.key], {}),
        ("generar_pdf", [unprinted.key], {}),
    ]


def test_the_daily_report_job_writes_both_files(runtime: Runtime) -> None:
    """reporte_diario(day) writes the CSV and the PDF for the receipts issued that day."""
    for receipt in (samples.factura(31), samples.boleta(31)):
        runtime.store.add(receipt)
    csv_path, pdf_path = jobs.reporte_diario(samples.ISSUE_DATE.isoformat())
    rows = list(csv.DictReader(io.StringIO(Path(csv_path).read_text())))
    assert len(rows) == 2
    assert Path(pdf_path).read_bytes().startswith(b"%PDF")
    assert len(jobs.reporte_diario()) == 2  # today: no receipts, still a report
