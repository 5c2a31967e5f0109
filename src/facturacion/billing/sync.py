"""Status sync: ask SUNAT about receipts whose outcome we do not know.

A receipt stays ``sent`` or ``pending`` when its send timed out after SUNAT may have
registered it, or when its worker died mid-send and the retries ran out. The sync
asks what SUNAT holds under each such number. Facturas and their notes go to
billConsultService (``getStatusCdr``):

* a CDR (0001 accepted / 0002 rejected): record it; the chain (PDF, e-mail) goes on;
* 0003 (voided): the number was accepted, then voided;
* 0011 (not found) or no answer: SUNAT never registered it; send the same bytes again.

Boletas and their notes go to the Consulta Integrada (``SunatService.reconcile``):
estadoCp 1 is recorded as accepted with the answer kept as evidence (SUNAT gives no
CDR for them), 2 as voided, 0 means "send the same bytes again".

Never a new number: the one SUNAT may hold is the one on the customer's paper copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from facturacion.billing.files import write_atomically
from facturacion.billing.runtime import Runtime
from facturacion.billing.sending import STATE_FOR, record_result
from facturacion.billing.store import Receipt, ReceiptState
from facturacion.cdr import read_cdr_zip
from facturacion.errors import FacturacionError
from facturacion.outcome import Outcome, classify
from facturacion.service import Result, SunatApi, Unsettled
from facturacion.store import State

_OUTCOME_STATE = {
    Outcome.ACCEPTED: State.ACCEPTED,
    Outcome.OBSERVED: State.OBSERVED,
    Outcome.REJECTED: State.REJECTED,
}


@dataclass
class SyncReport:
    checked: int = 0
    settled: list[str] = field(default_factory=list)  # now in a final state
    resend: list[str] = field(default_factory=list)  # SUNAT does not have it: send again
    unanswered: list[str] = field(default_factory=list)  # ask again later


async def sync_unknown(
    runtime: Runtime,
    api: SunatApi,
    *,
    older_than: float,
    clock: Callable[[], float] = time.time,
) -> SyncReport:
    """Check every receipt not final and untouched for ``older_than`` seconds."""
    report = SyncReport()
    stale = runtime.store.in_states(
        {ReceiptState.PENDING, ReceiptState.SENT}, updated_before=clock() - older_than
    )
    for receipt in stale:
        report.checked += 1
        document = runtime.documents.find(receipt.key)
        if document is None or document.state in {State.PREPARED, State.PENDING}:
            report.resend.append(receipt.key)  # never reached SUNAT
            continue
        if document.state.is_final:  # the SUNAT store knew; the billing store missed it
            runtime.store.record_outcome(
                receipt.key, STATE_FOR[document.state], code=document.response_code,
                message=document.message,
            )  # fmt: skip
            report.settled.append(receipt.key)
            continue
        await _ask(runtime, api, receipt, report)
    return report


async def _ask(runtime: Runtime, api: SunatApi, receipt: Receipt, report: SyncReport) -> None:
    if receipt.series.startswith("B"):
        await _ask_validity(runtime, api, receipt, report)
        return
    ruc = receipt.key.split("-", 1)[0]
    try:
        status = await api.get_status_cdr(ruc, receipt.document_type, receipt.series,
                                          receipt.number)  # fmt: skip
    except FacturacionError:
        report.unanswered.append(receipt.key)
        return
    if status.code in {"0001", "0002"} and status.content:
        try:
            cdr = read_cdr_zip(status.content)
        except FacturacionError:
            report.unanswered.append(receipt.key)
            return
        outcome = classify(code=cdr.response_code, observations=len(cdr.notes))
        state = _OUTCOME_STATE.get(outcome)
        if state is None:
            report.unanswered.append(receipt.key)
            return
        notes = tuple(f"{n.code or ''} - {n.text}".strip(" -") for n in cdr.notes)
        runtime.documents.record(
            receipt.key, state, code=cdr.response_code, message=cdr.description, notes=notes,
            cdr_zip=status.content,
        )  # fmt: skip
        path = runtime.paths.cdr_path(receipt.key)
        write_atomically(path, status.content)
        runtime.store.record_outcome(receipt.key, STATE_FOR[state], code=cdr.response_code,
                                     message=cdr.description, cdr_path=str(path))  # fmt: skip
        report.settled.append(receipt.key)
    elif status.code == "0003":
        runtime.documents.record(receipt.key, State.VOIDED, message=status.message)
        runtime.store.record_outcome(receipt.key, ReceiptState.ACCEPTED, message=status.message)
        report.settled.append(receipt.key)
    elif status.code == "0011":
        runtime.documents.record(receipt.key, State.PENDING, message=status.message)
        report.resend.append(receipt.key)
    else:
        report.unanswered.append(receipt.key)


async def _ask_validity(
    runtime: Runtime, api: SunatApi, receipt: Receipt, report: SyncReport
) -> None:
    found = await runtime.service(api).reconcile(receipt.key)
    if isinstance(found, Result):
        record_result(runtime, found)
        report.settled.append(receipt.key)
    elif found is Unsettled.NOT_REGISTERED:
        runtime.documents.record(receipt.key, State.PENDING, message="not registered at SUNAT")
        report.resend.append(receipt.key)
    else:
        report.unanswered.append(receipt.key)
