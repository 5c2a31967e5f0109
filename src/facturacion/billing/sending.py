"""Sending one receipt to SUNAT and keeping the billing store in step with the answer.

The SUNAT work itself (build and sign once, claim, send, classify, reconcile) is
``facturacion.service.SunatService``; this module adds what billing needs around it:
the signed XML and the CDR written where people look for them, and the receipt's
state a person can read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from facturacion.billing.files import write_atomically
from facturacion.billing.runtime import Runtime
from facturacion.billing.store import Receipt, ReceiptState
from facturacion.errors import DocumentConflictError
from facturacion.service import Result, SunatApi
from facturacion.store import State

#: The SUNAT document state, as the billing store shows it.
STATE_FOR: Final = {
    State.PREPARED: ReceiptState.PENDING,
    State.PENDING: ReceiptState.PENDING,
    State.SENDING: ReceiptState.SENT,
    State.UNKNOWN: ReceiptState.SENT,
    State.TICKET: ReceiptState.SENT,
    State.ACCEPTED: ReceiptState.ACCEPTED,
    State.OBSERVED: ReceiptState.OBSERVED,
    State.REJECTED: ReceiptState.REJECTED,
    State.VOIDED: ReceiptState.ACCEPTED,
    State.DUPLICATE: ReceiptState.ERROR,
    State.CONFIGURATION: ReceiptState.ERROR,
}


@dataclass(frozen=True)
class Sent:
    """A receipt after one send attempt, and whether trying again may help."""

    receipt: Receipt
    retry: bool


def describe(result: Result) -> str:
    text = result.message
    if result.notes:
        text += " | " + "; ".join(result.notes)
    return text


def record_result(runtime: Runtime, result: Result) -> Receipt:
    """Write the CDR (or, without one, the status answer) next to the XML and record the
    state; final states are kept."""
    cdr_path = None
    if result.cdr_zip is not None:
        path = runtime.paths.cdr_path(result.key)
        write_atomically(path, result.cdr_zip)
        cdr_path = str(path)
    if result.evidence is not None:
        write_atomically(runtime.paths.evidence_path(result.key), result.evidence)
    return runtime.store.record_outcome(
        result.key, STATE_FOR[result.state], code=result.code, message=describe(result),
        cdr_path=cdr_path,
    )  # fmt: skip


async def send_receipt(runtime: Runtime, key: str, api: SunatApi) -> Sent:
    receipt = runtime.store.get(key)
    if receipt.state.is_final:
        return Sent(receipt, retry=False)
    service = runtime.service(api)
    try:
        stored = service.prepare(receipt.comprobante())
    except DocumentConflictError as error:
        failed = runtime.store.record_outcome(key, ReceiptState.ERROR, message=str(error))
        return Sent(failed, retry=False)
    xml_path = runtime.paths.xml_path(key)
    if not xml_path.exists():
        write_atomically(xml_path, stored.signed_xml)
    runtime.store.mark_signed(key, str(xml_path), stored.digest_value)
    result = await service.send(key)
    return Sent(record_result(runtime, result), retry=result.retry)
