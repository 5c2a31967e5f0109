"""The SUNAT service: build and sign once, send the same bytes until an answer is final.

Plain async code, no queue in sight: the queue jobs in ``jobs.py`` are thin wrappers
that turn a ``Result`` into "done", "retry later" or "fail and alert".

Idempotency is by document key. ``prepare`` stores the signed bytes the first time and
refuses a *different* document under the same key; ``send`` claims the key with one
guarded UPDATE, so a duplicate dispatch or a retried worker either finds the final
answer already stored or resends exactly the stored bytes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

from facturacion.cdr import Cdr, read_cdr_zip
from facturacion.client import ConsultStatus, TicketStatus
from facturacion.errors import (
    DocumentConflictError,
    FacturacionError,
    SunatFaultError,
    TransportError,
    UnreadableResponseError,
)
from facturacion.model import Comprobante
from facturacion.outcome import Outcome, Symptom, classify, rule_for
from facturacion.packaging import BILL_NAME, make_zip
from facturacion.signing import Signer
from facturacion.store import DocumentStore, State, StoredDocument
from facturacion.summaries import DailySummary, VoidCommunication
from facturacion.ubl import render
from facturacion.validity import EstadoCp, ValidityQuery, ValidityStatus

Document = Comprobante | DailySummary | VoidCommunication

# Delay before the n-th getStatus poll of a ticket: seconds first, then minutes.
POLL_SCHEDULE: Final = (5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)

_OUTCOME_STATE: Final = {
    Outcome.ACCEPTED: State.ACCEPTED,
    Outcome.OBSERVED: State.OBSERVED,
    Outcome.REJECTED: State.REJECTED,
    Outcome.DUPLICATE: State.DUPLICATE,
    Outcome.CONFIGURATION: State.CONFIGURATION,
    Outcome.TRANSIENT: State.PENDING,
    Outcome.UNKNOWN: State.UNKNOWN,
}
_STATE_OUTCOME: Final = {state: outcome for outcome, state in _OUTCOME_STATE.items()} | {
    State.PREPARED: Outcome.TRANSIENT,
    State.SENDING: Outcome.TRANSIENT,
    State.TICKET: Outcome.TRANSIENT,
    State.VOIDED: Outcome.ACCEPTED,
}
# DUPLICATE is not here: resending only earns another 1033; see ``send``.
_SENDABLE: Final = frozenset({State.PREPARED, State.PENDING, State.UNKNOWN, State.CONFIGURATION})


log = logging.getLogger(__name__)

# How loudly each outcome is logged: what needs a person is a warning or an error.
_LEVELS: Final = {
    Outcome.ACCEPTED: logging.INFO,
    Outcome.OBSERVED: logging.INFO,
    Outcome.REJECTED: logging.WARNING,
    Outcome.DUPLICATE: logging.WARNING,
    Outcome.CONFIGURATION: logging.ERROR,
    Outcome.TRANSIENT: logging.INFO,
    Outcome.UNKNOWN: logging.WARNING,
}


def _logged(result: Result) -> Result:
    log.log(
        _LEVELS[result.outcome],
        "%s: %s (code %s) %s",
        result.key,
        result.state.value,
        result.code,
        result.message,
    )
    return result


def poll_delay(polls: int) -> float:
    return POLL_SCHEDULE[min(max(polls, 1), len(POLL_SCHEDULE)) - 1]


class SunatApi(Protocol):
    """What the service needs from a SUNAT client (``SunatClient`` or a test double)."""

    async def send_bill(self, file_name: str, zip_bytes: bytes) -> bytes: ...
    async def send_summary(self, file_name: str, zip_bytes: bytes) -> str: ...
    async def get_status(self, ticket: str) -> TicketStatus: ...
    async def get_status_cdr(
        self, ruc: str, document_type: str, series: str, number: int
    ) -> ConsultStatus: ...
    async def validate(self, query: ValidityQuery) -> ValidityStatus: ...


class Unsettled(StrEnum):
    """Why asking SUNAT about a number settled nothing."""

    NOT_REGISTERED = "not-registered"  # SUNAT does not hold it: the same bytes may go again
    UNANSWERED = "unanswered"  # the status service failed or said nothing final: ask later
    CANNOT_ASK = "cannot-ask"  # no status service for this series is configured


@dataclass(frozen=True)
class Result:
    """Where a document stands after one call; ``retry`` says whether to try again."""

    key: str
    state: State
    outcome: Outcome
    code: int | None
    message: str
    notes: tuple[str, ...]
    ticket: str | None
    cdr_zip: bytes | None
    polls: int = 0
    evidence: bytes | None = None  # the status answer that settled it when no CDR exists

    @property
    def retry(self) -> bool:
        return self.outcome in {Outcome.TRANSIENT, Outcome.UNKNOWN}

    def cdr(self) -> Cdr | None:
        return None if self.cdr_zip is None else read_cdr_zip(self.cdr_zip)

    @classmethod
    def of(cls, stored: StoredDocument, message: str | None = None) -> Result:
        return cls(
            key=stored.key,
            state=stored.state,
            outcome=_STATE_OUTCOME[stored.state],
            code=stored.response_code,
            message=stored.message if message is None else message,
            notes=stored.notes,
            ticket=stored.ticket,
            cdr_zip=stored.cdr_zip,
            polls=stored.polls,
            evidence=stored.evidence,
        )


def prepare_document(store: DocumentStore, signer: Signer, document: Document) -> StoredDocument:
    """Build and sign once under the document's key; refuse other content under that key."""
    unsigned = render(document)
    fingerprint = hashlib.sha256(unsigned).hexdigest()
    existing = store.find(document.key)
    if existing is None:
        signed = signer.sign(unsigned)
        zipped = make_zip(document.key, signed.xml)
        existing = store.insert_if_absent(
            document.key, fingerprint, signed.xml, zipped, signed.digest_value
        )
    if existing.fingerprint != fingerprint:
        raise DocumentConflictError(
            f"{document.key} was already signed with different content; SUNAT keeps the "
            "first document under a number, so issue this one under a new number"
        )
    return existing


class SunatService:
    def __init__(
        self,
        store: DocumentStore,
        signer: Signer,
        client: SunatApi,
        *,
        can_consult: bool = False,
        can_validate: bool = False,
        claim_timeout: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``clock`` is wall time on purpose: claims are compared across worker processes.

        ``claim_timeout`` must exceed the client's read timeout: a claim older than it
        belongs to a worker that died mid-send. ``can_consult``: billConsultService is
        reachable (facturas and their notes); ``can_validate``: the Consulta Integrada is
        (boletas and their notes).
        """
        self.store = store
        self.signer = signer
        self.client = client
        self.can_consult = can_consult
        self.can_validate = can_validate
        self.claim_timeout = claim_timeout
        self._clock = clock
        self._claimer = f"{socket.gethostname()}:{os.getpid()}"

    # ------------------------------------------------------------------ prepare
    def prepare(self, document: Document) -> StoredDocument:
        """Build and sign once; a second call with the same document returns the stored one."""
        return prepare_document(self.store, self.signer, document)

    # ------------------------------------------------------------------ facturas, boletas, notes
    async def send(self, key: str) -> Result:
        """Send a prepared bill (01/03/07/08) and record SUNAT's answer."""
        before = self.store.get(key)
        if before.state.is_final:
            return Result.of(before)
        if before.state is State.DUPLICATE:
            # Only a number we may have registered ourselves is worth asking about.
            if before.uncertain:
                reconciled = await self.reconcile(key, after_code=before.response_code)
                if isinstance(reconciled, Result):
                    return reconciled
            return Result.of(before)
        now = self._clock()
        if not self.store.claim(key, _SENDABLE, now, now - self.claim_timeout, self._claimer):
            return self._busy(key)
        uncertain = before.uncertain or before.state is State.SENDING
        if uncertain:
            reconciled = await self.reconcile(key)
            if isinstance(reconciled, Result):
                return reconciled
        try:
            cdr_zip = await self.client.send_bill(f"{key}.zip", before.zip)
        except SunatFaultError as fault:
            return await self._on_fault(key, fault, uncertain=uncertain)
        except TransportError as failure:
            return self._on_transport(key, failure)
        return self._on_cdr(key, cdr_zip)

    def _busy(self, key: str) -> Result:
        current = self.store.get(key)
        if current.state.is_final:
            return Result.of(current)
        return Result.of(current, f"another worker is sending {key}; try again later")

    async def _on_fault(self, key: str, fault: SunatFaultError, *, uncertain: bool) -> Result:
        if fault.code is None:
            return self._record(
                key, Outcome.TRANSIENT, None, f"fault without a code: {fault.message}"
            )
        outcome = classify(code=fault.code)
        if outcome is Outcome.DUPLICATE and uncertain:
            # An earlier send of these bytes may have registered, so what SUNAT holds is
            # most likely ours. Otherwise someone else used the number: no guessing.
            reconciled = await self.reconcile(key, after_code=fault.code)
            if isinstance(reconciled, Result):
                return reconciled
            if reconciled is not Unsettled.CANNOT_ASK:
                # SUNAT holds the number but its status service did not (yet) say how:
                # ask again on the next attempt instead of handing it to a person.
                return self._record(
                    key, Outcome.UNKNOWN, fault.code,
                    f"{fault.message}; the status query settled nothing yet ({reconciled})",
                )  # fmt: skip
        return self._record(key, outcome, fault.code, fault.message)

    def _on_transport(self, key: str, failure: TransportError) -> Result:
        outcome = classify(symptom=Symptom(failure.symptom))
        return self._record(key, outcome, None, str(failure))

    def _on_cdr(self, key: str, cdr_zip: bytes) -> Result:
        try:
            cdr = read_cdr_zip(cdr_zip)
        except UnreadableResponseError as error:
            # SUNAT processed it but we cannot read why: keep the bytes, query later.
            self.store.record(key, State.UNKNOWN, message=str(error), cdr_zip=cdr_zip)
            return Result.of(self.store.get(key))
        return self._record_cdr(key, cdr)

    def _record_cdr(self, key: str, cdr: Cdr) -> Result:
        outcome = classify(code=cdr.response_code, observations=len(cdr.notes))
        notes = tuple(f"{note.code or ''} - {note.text}".strip(" -") for note in cdr.notes)
        stored = self.store.record(
            key,
            _OUTCOME_STATE[outcome],
            code=cdr.response_code,
            message=cdr.description,
            notes=notes,
            cdr_zip=cdr.zip_bytes,
        )
        return _logged(Result.of(stored))

    def _record(self, key: str, outcome: Outcome, code: int | None, message: str) -> Result:
        action = rule_for(code=code) if code is not None else None
        text = message if action is None else f"{message} -> {action.action}"
        stored = self.store.record(key, _OUTCOME_STATE[outcome], code=code, message=text)
        return _logged(Result.of(stored))

    async def reconcile(self, key: str, *, after_code: int | None = None) -> Result | Unsettled:
        """Ask SUNAT what it holds under this number and record it if that settles it.

        Facturas and their notes (F series) through billConsultService, which returns
        the CDR; boletas and their notes (B series) through the Consulta Integrada,
        which states the number's status without a CDR. ``after_code`` is the fault a
        resend just met (1032/1033): with 1032, "not valid" means rejected.
        """
        name = BILL_NAME.fullmatch(key)
        if name is None:
            return Unsettled.CANNOT_ASK
        if name["series"].startswith("F"):
            if not self.can_consult:
                return Unsettled.CANNOT_ASK
            return await self._reconcile_with_cdr(key, name["ruc"], name["type"],
                                                  name["series"], int(name["number"]))  # fmt: skip
        if not self.can_validate:
            return Unsettled.CANNOT_ASK
        return await self._reconcile_with_validity(key, after_code)

    async def _reconcile_with_cdr(
        self, key: str, ruc: str, document_type: str, series: str, number: int
    ) -> Result | Unsettled:
        try:
            status = await self.client.get_status_cdr(ruc, document_type, series, number)
        except (SunatFaultError, TransportError):
            return Unsettled.UNANSWERED
        if status.code in {"0001", "0002"} and status.content:
            try:
                return self._record_cdr(key, read_cdr_zip(status.content))
            except UnreadableResponseError:
                return Unsettled.UNANSWERED
        if status.code == "0003":
            return Result.of(self.store.record(key, State.VOIDED, message=status.message))
        if status.code == "0011":
            return Unsettled.NOT_REGISTERED
        return Unsettled.UNANSWERED

    async def _reconcile_with_validity(
        self, key: str, after_code: int | None
    ) -> Result | Unsettled:
        stored = self.store.get(key)
        try:
            status = await self.client.validate(ValidityQuery.of_signed(key, stored.signed_xml))
        except FacturacionError as error:
            # Refused credentials or questions need a person even though the job retries.
            needs_a_person = not isinstance(error, TransportError) or (
                classify(symptom=Symptom(error.symptom)) is Outcome.CONFIGURATION
            )
            log.log(logging.ERROR if needs_a_person else logging.WARNING,
                    "%s: the Consulta Integrada did not answer: %s", key, error)  # fmt: skip
            return Unsettled.UNANSWERED
        evidence = status.answer
        if status.state is EstadoCp.ACEPTADO:
            # SUNAT gives no CDR for it: code 0 is what "aceptado" means, and the answer
            # itself is kept as the proof.
            message = f"{status.summary}; no CDR: SUNAT returns none for this series"
            stored = self.store.record(key, State.ACCEPTED, code=0, message=message,
                                       evidence=evidence)  # fmt: skip
            return _logged(Result.of(stored))
        if status.state is EstadoCp.ANULADO:
            stored = self.store.record(key, State.VOIDED, message=status.summary,
                                       evidence=evidence)  # fmt: skip
            return _logged(Result.of(stored))
        if status.state is EstadoCp.NO_EXISTE and after_code == 1032:
            # 1032 says "voided or rejected"; not voided (2) and not valid: rejected. The
            # rejection's own code died with the lost answer; 1032 is what SUNAT says now.
            message = (f"rejected: SUNAT answers the resend with 1032 and {status.summary}; "
                       "the original rejection code was never received")  # fmt: skip
            stored = self.store.record(key, State.REJECTED, code=1032, message=message,
                                       evidence=evidence)  # fmt: skip
            return _logged(Result.of(stored))
        if status.state is EstadoCp.NO_EXISTE:
            return Unsettled.NOT_REGISTERED
        return Unsettled.UNANSWERED  # 3/4 describe printed receipts, not this one

    # ------------------------------------------------------------------ RC and RA
    async def send_summary(self, key: str) -> Result:
        """Send an RC/RA once, keep its ticket before anything else, then poll once."""
        before = self.store.get(key)
        if before.state.is_final or before.state is State.DUPLICATE:
            return Result.of(before)
        if before.ticket is None:
            now = self._clock()
            if not self.store.claim(key, _SENDABLE, now, now - self.claim_timeout, self._claimer):
                return self._busy(key)
            try:
                ticket = await self.client.send_summary(f"{key}.zip", before.zip)
            except SunatFaultError as fault:
                outcome = (
                    classify(symptom=Symptom.SERVER_ERROR)
                    if fault.code is None
                    else classify(code=fault.code)
                )
                return self._record(key, outcome, fault.code, fault.message)
            except TransportError as failure:
                return self._on_transport(key, failure)
            self.store.keep_ticket(key, ticket)
            log.info("%s: ticket %s kept", key, ticket)
        return await self.poll(key)

    async def poll(self, key: str) -> Result:
        """One getStatus call for the stored ticket: 98 pending, 0 or 99 final."""
        stored = self.store.get(key)
        if stored.state.is_final or stored.ticket is None:
            return Result.of(stored)
        polls = self.store.count_poll(key)
        try:
            status = await self.client.get_status(stored.ticket)
        except SunatFaultError as fault:
            if fault.code is not None and classify(code=fault.code) is Outcome.CONFIGURATION:
                return self._record(key, Outcome.CONFIGURATION, fault.code, fault.message)
            return Result.of(self.store.get(key), f"getStatus failed, ticket kept: {fault}")
        except TransportError as failure:
            return Result.of(self.store.get(key), f"getStatus failed, ticket kept: {failure}")
        if status.code == 98 or status.content is None:
            return Result.of(
                self.store.get(key), f"ticket {stored.ticket} in process (poll {polls})"
            )
        try:
            cdr = read_cdr_zip(status.content)
        except UnreadableResponseError as error:
            return Result.of(self.store.get(key), f"ticket {stored.ticket}: {error}")
        return self._record_cdr(key, cdr)
