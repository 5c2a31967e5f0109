"""The billing system's queue jobs: what ``capataz work -A facturacion.billing.jobs`` runs.

The chain of a receipt: ``emitir_comprobante`` (sign, send to SUNAT, keep the CDR) →
once accepted, ``generar_pdf`` (the printed representation) → ``enviar_correo`` (PDF
and XML to the customer). Each step is idempotent by the receipt key and unique in the
queue while waiting or running, so a duplicate dispatch, a retry or a worker killed
mid-job never produces a second, different result.

Around it: ``reporte_diario`` (CSV and PDF sales summary), ``llamar_api`` (a
third-party HTTP call under a shared rate limit; with ``FACTURACION_WEBHOOK_URL`` set,
every final answer is posted there), ``sincronizar_estados`` (ask SUNAT
about receipts whose outcome is unknown) and ``reanudar`` (dispatch whatever step a
stopped system never reached).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from pathlib import Path
from typing import Any

from capataz.queue import fail, job, release
from facturacion.billing import http_call
from facturacion.billing.errors import BillingError, MailError, SunatNotAnsweredError
from facturacion.billing.files import lima_today, write_atomically
from facturacion.billing.mail import build_message, send_message
from facturacion.billing.printed import render_pdf
from facturacion.billing.ratelimit import SharedRateLimiter
from facturacion.billing.report import write_report
from facturacion.billing.runtime import Runtime, runtime
from facturacion.billing.sending import send_receipt
from facturacion.billing.store import Receipt, ReceiptState
from facturacion.billing.sync import sync_unknown

#: The printed copy and the e-mail of an accepted receipt: workers take these first
#: (``--queue=documentos,default``), so a customer gets the e-mail soon after SUNAT
#: accepts, not after the whole day's batch has been sent.
DOCUMENTS_QUEUE = "documentos"


def _by_key(key: str) -> str:
    return key


def status_body(receipt: Receipt) -> dict[str, Any]:
    """What the webhook is told about a receipt's final answer."""
    return {
        "key": receipt.key, "document": receipt.document_id, "type": receipt.document_type,
        "state": receipt.state.value, "sunat_code": receipt.sunat_code,
        "message": receipt.message, "currency": receipt.currency, "total": f"{receipt.total:.2f}",
    }  # fmt: skip


def _after_final(rt: Runtime, receipt: Receipt) -> None:
    """The next steps once SUNAT answered for good: print (if valid), tell the webhook."""
    if receipt.state.is_valid_receipt:
        generar_pdf.dispatch(receipt.key)
    if rt.settings.webhook_url:
        llamar_api.dispatch("POST", rt.settings.webhook_url, body=status_body(receipt),
                            limit="webhook")  # fmt: skip


@job(tries=6, backoff=(2, 5, 15, 30, 60), timeout=180, unique=_by_key)
async def emitir_comprobante(key: str) -> str:
    """Sign (once) and send one receipt to SUNAT; once answered, queue the next steps."""
    rt = runtime()
    async with rt.connected() as api:
        sent = await send_receipt(rt, key, api)
    receipt = sent.receipt
    if receipt.state.is_final:
        _after_final(rt, receipt)
    elif sent.retry:
        raise SunatNotAnsweredError(f"{key}: {receipt.state.value}: {receipt.message}")
    elif receipt.state is ReceiptState.ERROR:
        fail(f"{key} needs a person: {receipt.message}")
    return receipt.state.value


@job(queue=DOCUMENTS_QUEUE, tries=3, backoff=(5, 30), timeout=120, unique=_by_key)
def generar_pdf(key: str) -> str:
    """Render the printed representation; then queue the e-mail when there is an address."""
    rt = runtime()
    receipt = rt.store.get(key)
    if not receipt.state.is_valid_receipt:
        fail(f"{key} is {receipt.state.value}; only accepted receipts are printed")
    digest = receipt.digest_value or rt.documents.get(key).digest_value
    path = rt.paths.pdf_path(key)
    write_atomically(path, render_pdf(receipt.comprobante(), digest))
    rt.store.set_pdf(key, str(path))
    if receipt.customer_email and receipt.emailed_at is None:
        enviar_correo.dispatch(key)
    return str(path)


@job(queue=DOCUMENTS_QUEUE, tries=5, backoff=(10, 60, 300), timeout=120, unique=_by_key)
def enviar_correo(key: str) -> str:
    """E-mail the PDF and the signed XML to the customer, once."""
    rt = runtime()
    receipt = rt.store.get(key)
    if receipt.emailed_at is not None:
        return "already sent"
    if not receipt.customer_email:
        return "no address"
    if receipt.pdf_path is None or receipt.xml_path is None:
        fail(f"{key} has no PDF or XML yet; run generar_pdf first")
    smtp = rt.settings.smtp
    # A live sender needs at most connect + TLS/login + data, each within the timeout.
    stale_after = 3 * smtp.timeout
    if not rt.store.claim_email(key, stale_after=stale_after):
        # Another worker is sending it, or died doing so: look again when its claim
        # would have gone stale, not before (each look counts as an attempt).
        release(rt.store.email_claim_stale_in(key, stale_after=stale_after) + 1.0)
    message = build_message(
        receipt.comprobante(), receipt.customer_email, smtp.sender,
        Path(receipt.pdf_path).read_bytes(), Path(receipt.xml_path).read_bytes(),
    )  # fmt: skip
    try:
        send_message(smtp, message)
    except MailError:
        rt.store.release_email(key)
        raise
    rt.store.mark_emailed(key)
    return receipt.customer_email


@job(tries=3, backoff=(30,), timeout=600)
def reporte_diario(day: str | None = None) -> list[str]:
    """Write ``reports/ventas-YYYY-MM-DD.csv`` and its PDF for one issue date (default:
    today in Lima)."""
    rt = runtime()
    when = dt.date.fromisoformat(day) if day else lima_today()
    receipts = rt.store.of_day(when)
    issuer = receipts[0].document.get("issuer", {}).get("legal_name", "") if receipts else ""
    files = write_report(receipts, when, rt.paths.report_dir, issuer)
    return [str(files.csv_path), str(files.pdf_path)]


# retry_until, not tries: waiting for a rate-limit slot releases the job, and those
# waits must not use up the attempts a failing endpoint is allowed.
@job(retry_until=3600, backoff=(1, 5, 15, 60), timeout=120)
async def llamar_api(
    method: str,
    url: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    limit: str = "default",
    rate: float | None = None,
) -> int:
    """Call a third-party API under the shared rate limit ``limit``; retry what may pass."""
    rt = runtime()
    slot = SharedRateLimiter(rt.store).take(
        f"http:{limit}", rate or rt.settings.http_rate, max_wait=5.0
    )
    if not slot.taken:
        # Jitter, so the callers refused together do not all come back together.
        release(slot.wait + random.uniform(0, 1))  # noqa: S311 - jitter, not a secret
    if slot.wait > 0:
        await asyncio.sleep(slot.wait)
    try:
        answer = await http_call.call(method, url, body=body, headers=headers)
    except http_call.RetryableHttpError as error:
        if error.delay is not None:
            release(error.delay)
        raise
    except BillingError as error:
        fail(error)
    return answer.status


@job(tries=1, timeout=300, unique=True)
async def sincronizar_estados(older_than: float = 120.0) -> dict[str, int]:
    """Ask SUNAT about receipts stuck without an answer; continue their chain."""
    rt = runtime()
    async with rt.connected() as api:
        report = await sync_unknown(rt, api, older_than=older_than)
    for key in report.settled:
        _after_final(rt, rt.store.get(key))
    for key in report.resend:
        emitir_comprobante.dispatch(key)
    return {"checked": report.checked, "settled": len(report.settled),
            "resend": len(report.resend), "unanswered": len(report.unanswered)}  # fmt: skip


@job(tries=1, timeout=300, unique=True)
def reanudar() -> dict[str, int]:
    """Dispatch the next step of every receipt that never got it (after a stop or crash)."""
    rt = runtime()
    todo = rt.store.unfinished()
    for key in todo["send"]:
        emitir_comprobante.dispatch(key)
    for key in todo["pdf"]:
        generar_pdf.dispatch(key)
    for key in todo["email"]:
        enviar_correo.dispatch(key)
    return {step: len(keys) for step, keys in todo.items()}
