"""The service's less common paths, on a scripted SUNAT double and a real SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from facturacion import samples
from facturacion.client import ConsultStatus, TicketStatus
from facturacion.errors import (
    SunatFaultError,
    TransportError,
    UnknownDocumentError,
    UnreadableResponseError,
)
from facturacion.outcome import Outcome, Symptom
from facturacion.packaging import make_zip
from facturacion.service import SunatService, poll_delay
from facturacion.signing import Signer, SigningCredentials
from facturacion.simulator.cdrs import Verdict, build_cdr_zip
from facturacion.store import DocumentStore, State
from facturacion.validity import EstadoCp, ValidityQuery, ValidityStatus

CDR_TIME = __import__("datetime").datetime(2026, 12, 3, 10, 0)


def cdr(code: int = 0, notes: tuple[str, ...] = ()) -> bytes:
    return build_cdr_zip(
        "X", issuer_ruc="20000000001", document_id="F001-1", verdict=Verdict(code, "texto", notes),
        customer=None, signer=None, now=CDR_TIME,
    )  # fmt: skip


class ScriptedSunat:
    """Answers (or raises) from per-operation scripts, in order; records each call."""

    def __init__(self, **scripts: list[Any]) -> None:
        self.scripts = scripts
        self.calls: list[str] = []

    def _next(self, operation: str) -> Any:
        self.calls.append(operation)
        answer = self.scripts[operation].pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def send_bill(self, file_name: str, zip_bytes: bytes) -> bytes:
        return self._next("send_bill")  # type: ignore[no-any-return]

    async def send_summary(self, file_name: str, zip_bytes: bytes) -> str:
        return self._next("send_summary")  # type: ignore[no-any-return]

    async def get_status(self, ticket: str) -> TicketStatus:
        return self._next("get_status")  # type: ignore[no-any-return]

    async def get_status_cdr(
        self, ruc: str, document_type: str, series: str, number: int
    ) -> ConsultStatus:
        return self._next("get_status_cdr")  # type: ignore[no-any-return]

    async def validate(self, query: ValidityQuery) -> ValidityStatus:
        return self._next("validate")  # type: ignore[no-any-return]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DocumentStore]:
    documents = DocumentStore(tmp_path / "docs.sqlite3")
    yield documents
    documents.close()


def service_with(
    store: DocumentStore, credentials: SigningCredentials, api: ScriptedSunat, **options: Any
) -> SunatService:
    return SunatService(store, Signer(credentials), api, **options)  # type: ignore[arg-type]


def test_unknown_key_is_refused_with_advice(
    store: DocumentStore, credentials: SigningCredentials
) -> None:
    """Sending a key nobody prepared says to prepare it first."""
    service = service_with(store, credentials, ScriptedSunat())
    with pytest.raises(UnknownDocumentError, match="prepare"):
        asyncio.run(service.send("20000000001-01-F001-99"))


def test_unreadable_cdr_after_send_is_unknown_and_kept(
    store: DocumentStore, credentials: SigningCredentials
) -> None:
    """SUNAT answered bytes we cannot read: keep them, outcome unknown, query later."""
    api = ScriptedSunat(send_bill=[b"garbage"])
    service = service_with(store, credentials, api)
    key = service.prepare(samples.factura()).key
    result = asyncio.run(service.send(key))
    assert (result.state, result.outcome, result.cdr_zip) == (
        State.UNKNOWN,
        Outcome.UNKNOWN,
        b"garbage",
    )


def test_fault_without_code_is_transient(
    store: DocumentStore, credentials: SigningCredentials
) -> None:
    """A SOAP fault with no code ('Internal Error') is retried."""
    api = ScriptedSunat(send_bill=[SunatFaultError(None, "Internal Error", 500)])
    service = service_with(store, credentials, api)
    key = service.prepare(samples.factura()).key
    assert asyncio.run(service.send(key)).state is State.PENDING


@pytest.mark.parametrize(
    ("consult", "state"),
    [
        (ConsultStatus("0001", "aceptado", cdr(0, ("4001 - nota",))), State.OBSERVED),
        (ConsultStatus("0002", "rechazado", cdr(2800)), State.REJECTED),
        (ConsultStatus("0003", "de baja", None), State.VOIDED),
    ],
)
def test_reconcile_after_unknown_takes_sunat_word(
    store: DocumentStore, credentials: SigningCredentials, consult: ConsultStatus, state: State
) -> None:
    """After an unknown outcome, getStatusCdr's answer is recorded without resending."""
    api = ScriptedSunat(
        send_bill=[TransportError(Symptom.SEND_TIMEOUT, "slow")], get_status_cdr=[consult]
    )
    service = service_with(store, credentials, api, can_consult=True)
    key = service.prepare(samples.factura()).key
    assert asyncio.run(service.send(key)).state is State.UNKNOWN
    assert asyncio.run(service.send(key)).state is state
    assert api.calls == ["send_bill", "get_status_cdr"]


@pytest.mark.parametrize(
    "consult",
    [
        ConsultStatus("0011", "no existe", None),
        ConsultStatus("0001", "aceptado", b"not a zip"),
        TransportError(Symptom.QUERY_TIMEOUT, "slow"),
    ],
)
def test_reconcile_without_an_answer_resends_the_same_bytes(
    store: DocumentStore, credentials: SigningCredentials, consult: Any
) -> None:
    """Not found, an unreadable CDR or a failed query: resend the identical file."""
    api = ScriptedSunat(
        send_bill=[TransportError(Symptom.SEND_CONNECTION_LOST, "reset"), cdr()],
        get_status_cdr=[consult],
    )
    service = service_with(store, credentials, api, can_consult=True)
    key = service.prepare(samples.factura()).key
    asyncio.run(service.send(key))
    assert asyncio.run(service.send(key)).state is State.ACCEPTED
    assert api.calls == ["send_bill", "get_status_cdr", "send_bill"]


def test_boletas_are_not_reconciled_by_consult(
    store: DocumentStore, credentials: SigningCredentials
) -> None:
    """billConsultService knows only F-series documents: a boleta is resent instead."""
    api = ScriptedSunat(send_bill=[TransportError(Symptom.SEND_TIMEOUT, "slow"), cdr()])
    service = service_with(store, credentials, api, can_consult=True)
    key = service.prepare(samples.boleta()).key
    asyncio.run(service.send(key))
    assert asyncio.run(service.send(key)).state is State.ACCEPTED
    assert api.calls == ["send_bill", "send_bill"]


def test_stale_claim_after_a_crash_is_taken_over(
    store: DocumentStore, credentials: SigningCredentials
) -> None:
    """A worker that died mid-send leaves SENDING; after claim_timeout another worker takes over."""
    now = [1000.0]
    api = ScriptedSunat(send_bill=[cdr()])
    service = service_with(store, credentials, api, claim_timeout=300, clock=lambda: now[0])
    key = service.prepare(samples.boleta()).key
    assert store.claim(key, frozenset({State.PREPARED}), now[0], now[0] - 300)
    busy = asyncio.run(service.send(key))
    assert (busy.state, busy.retry) == (State.SENDING, True)
    now[0] += 301
    assert asyncio.run(service.send(key)).state is State.ACCEPTED


def test_summary_paths(store: DocumentStore, credentials: SigningCredentials) -> None:
    """Ticket kept at once; 98 and failed polls keep it; 0127 is a configuration error."""
    api = ScriptedSunat(
        send_summary=["1700000000123"],
        get_status=[
            TicketStatus(98, None),
            TransportError(Symptom.QUERY_TIMEOUT, "slow"),
            SunatFaultError(130, "sistema", 500),
            TicketStatus(0, b"not a zip"),
            SunatFaultError(127, "ticket no existe", 500),
        ],
    )
    service = service_with(store, credentials, api)
    key = service.prepare(samples.resumen_diario()).key
    first = asyncio.run(service.send_summary(key))
    assert (first.state, first.ticket, first.outcome) == (
        State.TICKET,
        "1700000000123",
        Outcome.TRANSIENT,
    )
    for expected in ("failed, ticket kept", "failed, ticket kept", "not a zip"):
        result = asyncio.run(service.poll(key))
        assert result.state is State.TICKET
        assert expected in result.message
    last = asyncio.run(service.send_summary(key))
    assert (last.state, last.code) == (State.CONFIGURATION, 127)
    assert api.calls.count("send_summary") == 1


def test_summary_send_faults_are_classified(
    store: DocumentStore, credentials: SigningCredentials
) -> None:
    """sendSummary faults: no code is transient, 2223 a duplicate; timeouts unknown."""
    api = ScriptedSunat(
        send_summary=[
            SunatFaultError(None, "Internal Error", 500),
            TransportError(Symptom.SEND_TIMEOUT, "slow"),
            SunatFaultError(2223, "ya presentado", 500),
        ]
    )
    service = service_with(store, credentials, api)
    key = service.prepare(samples.comunicacion_baja()).key
    states = [asyncio.run(service.send_summary(key)).state for _ in range(3)]
    assert states == [State.PENDING, State.UNKNOWN, State.DUPLICATE]
    assert asyncio.run(service.poll(key)).state is State.DUPLICATE  # no ticket: nothing to poll


def test_poll_schedule_grows_and_caps() -> None:
    """Polls wait seconds first, then minutes, capped at ten minutes."""
    assert [poll_delay(n) for n in (0, 1, 2, 5, 8, 50)] == [5.0, 5.0, 10.0, 60.0, 600.0, 600.0]


def test_zip_is_deterministic() -> None:
    """The same signed XML always zips to the same bytes (resends are byte-identical)."""
    assert make_zip("k", b"<a/>") == make_zip("k", b"<a/>")


def test_foreign_duplicate_is_neither_resent_nor_reconciled(
    store: DocumentStore, credentials: SigningCredentials
) -> None:
    """1033 on a first send: a re-dispatch neither resends nor adopts SUNAT's other document."""
    api = ScriptedSunat(send_bill=[SunatFaultError(1033, "registrado previamente", 500)])
    service = service_with(store, credentials, api, can_consult=True)
    key = service.prepare(samples.factura()).key
    assert asyncio.run(service.send(key)).state is State.DUPLICATE
    again = asyncio.run(service.send(key))
    assert (again.state, again.code) == (State.DUPLICATE, 1033)
    assert api.calls == ["send_bill"]
    assert not store.get(key).uncertain


def test_uncertain_duplicate_is_reconciled_later(
    store: DocumentStore, credentials: SigningCredentials
) -> None:
    """Unknown outcome, resend meets 1033 while the consult fails: the job retries (not a
    person's duplicate) and the next attempt reconciles."""
    api = ScriptedSunat(
        send_bill=[
            TransportError(Symptom.SEND_TIMEOUT, "slow"),
            SunatFaultError(1033, "registrado previamente", 500),
        ],
        get_status_cdr=[
            TransportError(Symptom.QUERY_TIMEOUT, "slow"),
            TransportError(Symptom.QUERY_TIMEOUT, "slow"),
            ConsultStatus("0001", "aceptado", cdr()),
        ],
    )
    service = service_with(store, credentials, api, can_consult=True)
    key = service.prepare(samples.factura()).key
    assert asyncio.run(service.send(key)).state is State.UNKNOWN
    assert store.get(key).uncertain
    retried = asyncio.run(service.send(key))
    assert (retried.state, retried.code, retried.retry) == (State.UNKNOWN, 1033, True)
    assert asyncio.run(service.send(key)).state is State.ACCEPTED
    assert api.calls.count("send_bill") == 2


def test_an_uncertain_duplicate_left_for_a_person_is_still_reconciled(
    store: DocumentStore, credentials: SigningCredentials
) -> None:
    """A duplicate recorded while no status service was configured settles once one is."""
    api = ScriptedSunat(get_status_cdr=[ConsultStatus("0001", "aceptado", cdr())])
    service = service_with(store, credentials, api, can_consult=True)
    key = service.prepare(samples.factura()).key
    store.record(key, State.UNKNOWN)
    store.record(key, State.DUPLICATE, code=1033, message="registrado previamente")
    assert asyncio.run(service.send(key)).state is State.ACCEPTED
    assert api.calls == ["get_status_cdr"]


def test_stale_claim_marks_the_document_uncertain(
    store: DocumentStore, credentials: SigningCredentials
) -> None:
    """Taking over a dead worker's claim asks getStatusCdr before sending again."""
    now = [1000.0]
    api = ScriptedSunat(get_status_cdr=[ConsultStatus("0001", "aceptado", cdr())])
    service = service_with(store, credentials, api, can_consult=True, clock=lambda: now[0])
    key = service.prepare(samples.factura()).key
    assert store.claim(key, frozenset({State.PREPARED}), now[0], now[0] - 300)
    now[0] += 301
    assert asyncio.run(service.send(key)).state is State.ACCEPTED
    assert api.calls == ["get_status_cdr"]
    assert store.get(key).uncertain


def test_outcomes_are_logged_by_severity(
    store: DocumentStore, credentials: SigningCredentials, caplog: pytest.LogCaptureFixture
) -> None:
    """What needs a person is logged as an error; an acceptance as info."""
    api = ScriptedSunat(
        send_bill=[SunatFaultError(102, "Usuario o contraseña incorrectos", 500), cdr()]
    )
    service = service_with(store, credentials, api)
    key = service.prepare(samples.factura()).key
    with caplog.at_level("INFO", logger="facturacion.service"):
        asyncio.run(service.send(key))
        asyncio.run(service.send(key))
    levels = [
        (record.levelname, record.getMessage().split(":")[1].split()[0])
        for record in caplog.records
    ]
    assert levels == [("ERROR", "configuration"), ("INFO", "accepted")]


def test_store_created_by_an_older_version_is_migrated(tmp_path: Path) -> None:
    """A documents table without the 'uncertain' column gains it on open."""
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE documents (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,"
            " signed_xml BLOB NOT NULL, zip BLOB NOT NULL, digest_value TEXT NOT NULL,"
            " state TEXT NOT NULL, sends INTEGER NOT NULL DEFAULT 0,"
            " polls INTEGER NOT NULL DEFAULT 0, claimed_at REAL, ticket TEXT,"
            " response_code INTEGER, message TEXT NOT NULL DEFAULT '',"
            " notes TEXT NOT NULL DEFAULT '[]', cdr_zip BLOB)"
        )
        db.execute(
            "INSERT INTO documents (key, fingerprint, signed_xml, zip, digest_value, state)"
            " VALUES ('k', 'f', x'00', x'00', 'd', 'unknown')"
        )
    db.close()
    store = DocumentStore(path)
    try:
        assert store.get("k").uncertain is False
        assert store.get("k").evidence is None
        assert store.record("k", State.UNKNOWN).uncertain is True
        assert store.record("k", State.ACCEPTED, evidence=b"{}").evidence == b"{}"
    finally:
        store.close()


def validity(estado: EstadoCp) -> ValidityStatus:
    return ValidityStatus(estado, "00", "00", (), b'{"success": true}')


@pytest.mark.parametrize("estado", [EstadoCp.AUTORIZADO, EstadoCp.NO_AUTORIZADO])
def test_a_printed_receipt_status_settles_nothing(
    store: DocumentStore, credentials: SigningCredentials, estado: EstadoCp
) -> None:
    """estadoCp 3/4 describe receipts printed by a print shop: not this one; resend."""
    api = ScriptedSunat(validate=[validity(estado)], send_bill=[cdr()])
    service = service_with(store, credentials, api, can_validate=True)
    key = service.prepare(samples.boleta()).key
    store.record(key, State.UNKNOWN)
    assert asyncio.run(service.send(key)).state is State.ACCEPTED
    assert api.calls == ["validate", "send_bill"]


def test_a_boleta_whose_signed_xml_cannot_be_read_is_not_asked_about(
    store: DocumentStore, credentials: SigningCredentials
) -> None:
    """The query needs the issue date and total from the stored XML; without them, resend."""
    api = ScriptedSunat(send_bill=[SunatFaultError(1033, "registrado", 500)])
    service = service_with(store, credentials, api, can_validate=True)
    key = "20000000001-03-B001-9"
    store.insert_if_absent(key, "f", b"<Invoice/>", b"zip", "d")
    store.record(key, State.UNKNOWN)
    result = asyncio.run(service.send(key))
    assert (result.state, result.code, result.retry) == (State.UNKNOWN, 1033, True)
    assert api.calls == ["send_bill"]


@pytest.mark.parametrize(
    ("error", "level"),
    [
        (TransportError(Symptom.QUERY_TIMEOUT, "slow"), "WARNING"),
        (TransportError(Symptom.HTTP_CLIENT_ERROR, "cliente no autorizado"), "ERROR"),
        (UnreadableResponseError("garbage"), "ERROR"),
    ],
    ids=["timeout", "credentials", "other"],
)
def test_a_status_query_that_fails_is_logged_by_who_must_act(
    store: DocumentStore, credentials: SigningCredentials, caplog: pytest.LogCaptureFixture,
    error: Exception, level: str,
) -> None:  # fmt: skip
    """An outage is a warning (the job retries); refused credentials are an error (a
    person fixes them); either way the same bytes go again."""
    api = ScriptedSunat(validate=[error], send_bill=[cdr()])
    service = service_with(store, credentials, api, can_validate=True)
    key = service.prepare(samples.boleta()).key
    store.record(key, State.UNKNOWN)
    with caplog.at_level("WARNING", logger="facturacion.service"):
        assert asyncio.run(service.send(key)).state is State.ACCEPTED
    assert [r.levelname for r in caplog.records if "Consulta Integrada" in r.message] == [level]
