"""The simulator's memory: registered numbers, tickets, credentials and scripted faults."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from facturacion.config import BETA_PASSWORD, BETA_USER
from facturacion.signing import SignatureAlgorithm, Signer
from facturacion.simulator.cdrs import Verdict

#: The simulator's default "Credenciales de API SUNAT" for the Consulta Integrada.
API_CLIENT_ID = "simulador-api-sunat"
API_CLIENT_SECRET = "simulador-clave"  # noqa: S105 - a published test credential


class FaultKind(StrEnum):
    FAULT = "fault"  # HTTP 500 with a SOAP fault carrying a code
    HTTP = "http"  # a bare HTTP status (502/503/504 HTML pages)
    EMPTY = "empty"  # HTTP 200 with an empty body
    SLOW = "slow"  # process and register, then answer after ``delay`` seconds
    OBSERVE = "observe"  # accept with these CDR notes
    REJECT = "reject"  # final rejection with this code (via fault, or ticket 99)


class FaultStyle(StrEnum):
    CLIENT = "client"  # faultcode soap-env:Client.NNNN
    SERVER = "server"  # faultcode soap-env:Server.NNNN
    STRING = "string"  # faultcode soap-env:Server, the code only in faultstring


@dataclass
class FaultRule:
    """One scripted misbehaviour: for ``operation`` calls whose subject contains ``match``."""

    kind: FaultKind
    match: str = "*"
    operation: str | None = None
    code: int = 130
    style: FaultStyle = FaultStyle.SERVER
    status: int = 503
    delay: float = 2.0
    notes: tuple[str, ...] = ()
    times: int = 1  # -1: every time

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        known = {"kind", "match", "operation", "code", "style", "status", "delay", "notes", "times"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown rule fields {sorted(unknown)}; use {sorted(known)}")
        return cls(
            kind=FaultKind(data["kind"]),
            match=str(data.get("match", "*")),
            operation=data.get("operation"),
            code=int(data.get("code", 130)),
            style=FaultStyle(data.get("style", "server")),
            status=int(data.get("status", 503)),
            delay=float(data.get("delay", 2.0)),
            notes=tuple(str(note) for note in data.get("notes", ())),
            times=int(data.get("times", 1)),
        )

    def applies(self, operation: str, subject: str) -> bool:
        """``match`` is ``*``, a whole subject (a ticket), or whole parts of a file name:
        ``F001`` (a series), ``F001-13`` (one document), ``01`` (a type), ``RC``."""
        if self.operation is not None and self.operation != operation:
            return False
        base = subject.removesuffix(".zip")
        return (
            self.match in {"*", base}
            or base.endswith(f"-{self.match}")
            or self.match in base.split("-")
        )


class DocState(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    VOIDED = "voided"


@dataclass
class Registered:
    key: str
    document_id: str
    state: DocState
    verdict: Verdict
    cdr_zip: bytes
    # What the Consulta Integrada matches a question against (unknown for summary lines).
    issue_date: dt.date | None = None
    total: Decimal | None = None


@dataclass
class Ticket:
    number: str
    name: str
    polls_left: int
    code: int  # 0 done, 99 done with errors
    cdr_zip: bytes
    on_done: list[tuple[str, DocState]] = field(default_factory=list)


@dataclass
class SimulatorState:
    """Everything the simulator remembers; tests and the admin endpoint change it."""

    signer: Signer | None = None
    users: dict[str, str] | None = None  # None: any RUC + MODDATOS / moddatos, like beta
    polls_before_done: int = 2
    today: dt.date | None = None  # set to check issue-date deadlines (2108)
    algorithms: frozenset[SignatureAlgorithm] = frozenset(SignatureAlgorithm)
    reject_with_fault: bool = True  # sendBill rejections as SOAP faults (else a 2xxx CDR)
    documents: dict[str, Registered] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    summaries: set[str] = field(default_factory=set)
    rules: list[FaultRule] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    api_clients: dict[str, str] = field(
        default_factory=lambda: {API_CLIENT_ID: API_CLIENT_SECRET}
    )
    token_lifetime: float = 3600.0  # seconds an OAuth token of the Consulta Integrada lives
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    _ticket_numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def password_ok(self, username: str, password: str) -> bool:
        if self.users is not None:
            return self.users.get(username) == password
        return username.endswith(BETA_USER) and password == BETA_PASSWORD

    def take_rule(self, operation: str, subject: str) -> FaultRule | None:
        """The first rule for this call, counting one use of it."""
        for rule in self.rules:
            if rule.applies(operation, subject):
                if rule.times > 0:
                    rule.times -= 1
                    if rule.times == 0:
                        self.rules.remove(rule)
                return rule
        return None

    def new_ticket(self) -> str:
        return f"{1700000000000 + next(self._ticket_numbers):013d}"

    def snapshot(self) -> dict[str, Any]:
        return {
            "documents": {
                key: {"state": doc.state.value, "code": doc.verdict.code}
                for key, doc in sorted(self.documents.items())
            },
            "tickets": {
                number: {"name": t.name, "polls_left": t.polls_left, "code": t.code}
                for number, t in sorted(self.tickets.items())
            },
            "rules": len(self.rules),
            "calls": [list(call) for call in self.calls],
        }
