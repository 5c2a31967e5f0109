"""A receipt's chain through the real jobs: SUNAT's answer, then the PDF, then the e-mail.

The jobs run in this process (a job is callable); what they dispatch lands on an
in-memory queue that the test reads. SUNAT is the simulator, scripted per receipt.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from dataclasses import replace
from pathlib import Path

import pytest

from capataz.queue import FailJob, ReleaseJob
from facturacion import samples
from facturacion.billing import jobs
from facturacion.billing.runtime import Runtime
from facturacion.billing.store import ReceiptState
from facturacion.cdr import read_cdr_zip
from facturacion.simulator.testing import RunningSimulator

from .conftest import Mailbox, Queue, script


def _send(key: str) -> str:
    result: str = asyncio.run(jobs.emitir_comprobante(key))
    return result


def test_an_accepted_factura_is_printed_then_mailed(
    runtime: Runtime, queue: Queue, mailbox: Mailbox
) -> None:
    """Accepted: XML and CDR on disk, the PDF job queued; the PDF queues the e-mail; it arrives."""
    receipt = samples.factura(1)
    runtime.store.add(receipt, "compras@ablimatex.example")
    assert _send(receipt.key) == "accepted"
    stored = runtime.store.get(receipt.key)
    assert stored.xml_path is not None
    assert stored.cdr_path is not None
    assert read_cdr_zip(Path(stored.cdr_path).read_bytes()).response_code == 0
    assert queue.take() == [("generar_pdf", [receipt.key], {})]
    assert jobs.generar_pdf(receipt.key).endswith(f"{receipt.key}.pdf")
    assert queue.take() == [("enviar_correo", [receipt.key], {})]
    assert jobs.enviar_correo(receipt.key) == "compras@ablimatex.example"
    assert jobs.enviar_correo(receipt.key) == "already sent"
    (message_file,) = mailbox.messages()
    message = email.message_from_bytes(message_file.read_bytes(), policy=email.policy.default)
    assert sorted(p.get_filename() or "" for p in message.walk() if p.get_filename()) == [
        f"{receipt.key}.pdf", f"{receipt.key}.xml",
    ]  # fmt: skip
    assert _send(receipt.key) == "accepted"  # a duplicate dispatch changes nothing


def test_a_final_answer_is_posted_to_the_webhook(runtime: Runtime, queue: Queue) -> None:
    """With FACTURACION_WEBHOOK_URL set, a final answer also queues the HTTP call to it."""
    runtime.settings = replace(runtime.settings, webhook_url="http://erp.example/hook")
    receipt = samples.factura(9)
    runtime.store.add(receipt)
    _send(receipt.key)
    taken = queue.take()
    assert ("generar_pdf", [receipt.key], {}) in taken
    (call,) = [entry for entry in taken if entry[0] == "llamar_api"]
    assert call[1] == ["POST", "http://erp.example/hook"]
    assert call[2]["limit"] == "webhook"
    assert call[2]["body"]["state"] == "accepted"
    assert call[2]["body"]["document"] == "F001-9"


def test_a_rejected_receipt_is_final_and_never_printed(
    runtime: Runtime, simulator: RunningSimulator, queue: Queue
) -> None:
    """A 2xxx CDR: rejected with its code, kept on disk; no PDF job; printing it fails."""
    simulator.state.reject_with_fault = False
    receipt = samples.boleta(2)
    script(simulator, kind="reject", match=receipt.key, code=2800)
    runtime.store.add(receipt, "rosa@correo.example")
    assert _send(receipt.key) == "rejected"
    stored = runtime.store.get(receipt.key)
    assert (stored.state, stored.sunat_code) == (ReceiptState.REJECTED, 2800)
    assert stored.cdr_path is not None
    assert queue.take() == []
    with pytest.raises(FailJob):
        jobs.generar_pdf(receipt.key)


def test_an_observed_receipt_keeps_its_notes(
    runtime: Runtime, simulator: RunningSimulator, queue: Queue
) -> None:
    """Accepted with observations: observed, notes in the message, and it is printed."""
    receipt = samples.factura(3)
    script(simulator, kind="observe", match=receipt.key, notes=["4252 - listName incorrecto"])
    runtime.store.add(receipt)
    assert _send(receipt.key) == "observed"
    assert "4252" in runtime.store.get(receipt.key).message
    assert queue.take() == [("generar_pdf", [receipt.key], {})]
    jobs.generar_pdf(receipt.key)
    assert queue.take() == []  # no address: nothing to mail
    assert jobs.enviar_correo(receipt.key) == "no address"


def test_a_transient_fault_is_retried_by_the_queue(
    runtime: Runtime, simulator: RunningSimulator
) -> None:
    """A 0130 fault leaves the receipt pending and raises, so the queue retries with backoff."""
    receipt = samples.factura(4)
    script(simulator, kind="fault", match=receipt.key, code=130)
    runtime.store.add(receipt)
    with pytest.raises(jobs.SunatNotAnsweredError, match="pending"):
        _send(receipt.key)
    assert runtime.store.get(receipt.key).state is ReceiptState.PENDING
    assert _send(receipt.key) == "accepted"


def test_a_configuration_error_fails_the_job_for_a_person(
    runtime: Runtime, simulator: RunningSimulator
) -> None:
    """A credentials fault (0102) is an error state and fails the job at once: no retry."""
    receipt = samples.factura(5)
    script(simulator, kind="fault", match=receipt.key, code=102, style="client")
    runtime.store.add(receipt)
    with pytest.raises(FailJob, match="needs a person"):
        _send(receipt.key)
    assert runtime.store.get(receipt.key).state is ReceiptState.ERROR


def test_a_late_answer_is_settled_without_a_new_number(
    runtime: Runtime, simulator: RunningSimulator, queue: Queue
) -> None:
    """SUNAT registers it but answers too late: 'sent'; the retry asks and finds it accepted."""
    receipt = samples.factura(6)
    script(simulator, kind="slow", match=receipt.key, delay=2.0, operation="sendBill")
    runtime.store.add(receipt)
    with pytest.raises(jobs.SunatNotAnsweredError, match="sent"):
        _send(receipt.key)
    assert runtime.store.get(receipt.key).state is ReceiptState.SENT
    assert _send(receipt.key) == "accepted"
    sends = [call for call in simulator.state.calls if call[0] == "sendBill"]
    assert len(sends) == 1
    assert queue.take() == [("generar_pdf", [receipt.key], {})]


def test_mail_trouble_gives_the_claim_back_and_retries(runtime: Runtime, queue: Queue) -> None:
    """An SMTP failure raises (the queue retries) and frees the claim for the next attempt."""
    receipt = samples.factura(7)
    runtime.store.add(receipt, "x@y.example")
    _send(receipt.key)
    jobs.generar_pdf(receipt.key)
    queue.take()
    good = runtime.settings
    runtime.settings = type(good)(good.layout, type(good.smtp)(port=1, timeout=2))
    try:
        with pytest.raises(Exception, match="cannot deliver"):
            jobs.enviar_correo(receipt.key)
    finally:
        runtime.settings = good
    assert runtime.store.claim_email(receipt.key, stale_after=3600)
    with pytest.raises(ReleaseJob):
        jobs.enviar_correo(receipt.key)  # another worker holds the claim
    runtime.store.release_email(receipt.key)
    assert jobs.enviar_correo(receipt.key) == "x@y.example"


def test_a_mail_without_files_is_refused(runtime: Runtime) -> None:
    """E-mailing before the PDF exists fails the job with the step to run first."""
    receipt = samples.factura(8)
    runtime.store.add(receipt, "x@y.example")
    with pytest.raises(FailJob, match="generar_pdf"):
        jobs.enviar_correo(receipt.key)


def test_a_different_receipt_under_a_signed_number_is_refused(runtime: Runtime) -> None:
    """The number was signed with other content: error, and the job fails for a person."""
    signed = samples.factura(10)
    runtime.service(runtime.api()).prepare(signed)
    other = samples.factura(10, lines=(signed.lines[0],))
    runtime.store.add(other)
    with pytest.raises(FailJob, match="new number"):
        _send(other.key)
    assert runtime.store.get(other.key).state is ReceiptState.ERROR
