"""The simulator's SOAP operations: sendBill, sendSummary, getStatus, getStatusCdr."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Final

from facturacion import soap
from facturacion.simulator.cdrs import Verdict, build_cdr_zip
from facturacion.simulator.checks import (
    Received,
    SimulatedFault,
    check_bill,
    check_signature,
    check_summary,
    identity,
    judge_bill,
    judge_summary,
    open_file,
    summary_lines,
)
from facturacion.simulator.state import (
    DocState,
    FaultKind,
    FaultRule,
    Registered,
    SimulatorState,
    Ticket,
)

LIMA: Final = dt.timezone(dt.timedelta(hours=-5), "America/Lima")
Operation = Callable[[SimulatorState, str, dict[str, str], FaultRule | None], bytes]


def _now() -> dt.datetime:
    return dt.datetime.now(LIMA)


def _require(fields: dict[str, str], *names: str) -> None:
    missing = [name for name in names if not fields.get(name)]
    if missing:
        raise SimulatedFault(300, f"Falta el parametro {', '.join(missing)}")


def _own_ruc(username: str, received: Received) -> None:
    if not username.startswith(received.ruc):
        raise SimulatedFault(154, "El RUC del archivo no corresponde al RUC del usuario")


def _scripted(verdict: Verdict, rule: FaultRule | None) -> Verdict:
    if rule is not None and rule.kind is FaultKind.REJECT:
        return Verdict(rule.code, "Rechazo simulado", ())
    if rule is not None and rule.kind is FaultKind.OBSERVE and verdict.accepted:
        return Verdict(verdict.code, verdict.description, verdict.notes + rule.notes)
    return verdict


def send_bill(
    state: SimulatorState, username: str, fields: dict[str, str], rule: FaultRule | None
) -> bytes:
    _require(fields, "fileName", "contentFile")
    received = open_file(fields["fileName"], fields["contentFile"], summary=False)
    _own_ruc(username, received)
    check_signature(received, state.algorithms)
    document_id, customer = check_bill(received)
    existing = state.documents.get(received.name)
    if existing is not None:
        if existing.state is DocState.REJECTED:
            raise SimulatedFault(
                1032,
                "El comprobante ya esta informado y se encuentra con estado anulado o rechazado",
            )
        raise SimulatedFault(1033, "El comprobante fue registrado previamente con otros datos")
    verdict = _scripted(judge_bill(received, document_id, state.today), rule)
    cdr = build_cdr_zip(
        received.name,
        issuer_ruc=received.ruc,
        document_id=document_id,
        verdict=verdict,
        customer=customer,
        signer=state.signer,
        now=_now(),
    )
    doc_state = DocState.ACCEPTED if verdict.accepted else DocState.REJECTED
    state.documents[received.name] = Registered(
        received.name, document_id, doc_state, verdict, cdr, *identity(received)
    )
    if not verdict.accepted and state.reject_with_fault:
        raise SimulatedFault(verdict.code, verdict.description)
    return soap.response_envelope(
        "sendBill", {"applicationResponse": base64.b64encode(cdr).decode()}
    )


def send_summary(
    state: SimulatorState, username: str, fields: dict[str, str], rule: FaultRule | None
) -> bytes:
    _require(fields, "fileName", "contentFile")
    received = open_file(fields["fileName"], fields["contentFile"], summary=True)
    _own_ruc(username, received)
    if received.name in state.summaries:
        raise SimulatedFault(2223, "El archivo ya fue presentado anteriormente")
    document_id = check_summary(received)
    try:
        check_signature(received, state.algorithms)
    except SimulatedFault as fault:  # asynchronous services report it through the ticket
        verdict = Verdict(fault.code, fault.message)
    else:
        verdict = judge_summary(received, document_id)
    on_done: list[tuple[str, DocState]] = []
    for doc_type, doc_id, condition in summary_lines(received):
        series, _, number = doc_id.partition("-")
        key = f"{received.ruc}-{doc_type}-{series}-{number}"
        known = state.documents.get(key)
        if (
            condition == "3"
            and known is not None
            and known.state is DocState.REJECTED
            and verdict.accepted
        ):
            verdict = Verdict(2398, f"El documento {doc_id} no puede darse de baja: fue rechazado")
        on_done.append((key, DocState.VOIDED if condition == "3" else DocState.ACCEPTED))
    verdict = _scripted(verdict, rule)
    cdr = build_cdr_zip(
        received.name,
        issuer_ruc=received.ruc,
        document_id=document_id,
        verdict=verdict,
        customer=None,
        signer=state.signer,
        now=_now(),
    )
    number = state.new_ticket()
    state.tickets[number] = Ticket(
        number, received.name, state.polls_before_done, 0 if verdict.accepted else 99, cdr,
        on_done if verdict.accepted else [],
    )  # fmt: skip
    state.summaries.add(received.name)
    return soap.response_envelope("sendSummary", {"ticket": number})


def get_status(
    state: SimulatorState, username: str, fields: dict[str, str], rule: FaultRule | None
) -> bytes:
    del username, rule
    _require(fields, "ticket")
    ticket = state.tickets.get(fields["ticket"])
    if ticket is None:
        raise SimulatedFault(127, "El ticket no existe")
    if ticket.polls_left > 0:
        ticket.polls_left -= 1
        return soap.response_envelope("getStatus", {"status": {"statusCode": "98"}})
    for key, doc_state in ticket.on_done:
        known = state.documents.get(key)
        if known is not None:
            known.state = doc_state
        elif doc_state is DocState.ACCEPTED:  # a boleta informed by the summary
            state.documents[key] = Registered(
                key, key, doc_state, Verdict(0, "informado"), ticket.cdr_zip
            )
    ticket.on_done = []
    content = base64.b64encode(ticket.cdr_zip).decode()
    return soap.response_envelope(
        "getStatus", {"status": {"statusCode": str(ticket.code), "content": content}}
    )


def _consult(
    state: SimulatorState, username: str, fields: dict[str, str], *, with_cdr: bool
) -> bytes:
    operation = "getStatusCdr" if with_cdr else "getStatus"
    wrapper = "statusCdr" if with_cdr else "status"
    _require(fields, "rucComprobante", "tipoComprobante", "serieComprobante", "numeroComprobante")
    ruc, doc_type = fields["rucComprobante"], fields["tipoComprobante"]
    series, number = fields["serieComprobante"], fields["numeroComprobante"]

    def answer(code: str, message: str, cdr: bytes | None = None) -> bytes:
        status = {"statusCode": code, "statusMessage": message}
        if cdr is not None and with_cdr:
            status["content"] = base64.b64encode(cdr).decode()
        return soap.response_envelope(operation, {wrapper: status})

    if not username.startswith(ruc):
        return answer("0012", "El comprobante no pertenece al usuario")
    if doc_type not in {"01", "07", "08"} or not series.startswith("F") or not number.isdigit():
        return answer("0004", "Solo se consultan facturas y sus notas (serie F)")
    found = state.documents.get(f"{ruc}-{doc_type}-{series}-{int(number)}")
    if found is None:
        return answer("0011", "El comprobante de pago electronico no existe")
    if found.state is DocState.VOIDED:
        return answer("0003", "El comprobante existe pero esta de baja", found.cdr_zip)
    if found.state is DocState.REJECTED:
        return answer("0002", "El comprobante existe pero esta rechazado", found.cdr_zip)
    return answer("0001", "El comprobante existe y esta aceptado", found.cdr_zip)


def get_status_cdr(
    state: SimulatorState, username: str, fields: dict[str, str], rule: FaultRule | None
) -> bytes:
    del rule
    return _consult(state, username, fields, with_cdr=True)


def consult_status(
    state: SimulatorState, username: str, fields: dict[str, str], rule: FaultRule | None
) -> bytes:
    del rule
    return _consult(state, username, fields, with_cdr=False)


BILL_SERVICE: Final[dict[str, Operation]] = {
    "sendBill": send_bill,
    "sendSummary": send_summary,
    "getStatus": get_status,
}
CONSULT_SERVICE: Final[dict[str, Operation]] = {
    "getStatusCdr": get_status_cdr,
    "getStatus": consult_status,
}
