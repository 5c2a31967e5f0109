"""What a SUNAT answer means for the document: ONE table, first matching row wins.

Every piece of evidence (a CDR's ResponseCode, a SOAP fault's code, a getStatus code,
or a transport symptom) goes through ``classify``. Exact codes come before the
ranges that contain them (1033 is not a "2xxx rejection"; 2324 and 2335 are inside the
rejection range but mean "already voided" and "our signature is wrong").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    OBSERVED = "observed"  # accepted with observations (4000+ or notes)
    REJECTED = "rejected"  # final: the number is consumed, issue a new document
    DUPLICATE = "duplicate"  # already registered: reconcile, never renumber
    CONFIGURATION = "configuration"  # our setup or our bug: alert, do not retry
    TRANSIENT = "transient"  # retry the same bytes with backoff
    UNKNOWN = "unknown"  # we cannot know whether SUNAT registered it: query or resend

    @property
    def is_final(self) -> bool:
        return self in {Outcome.ACCEPTED, Outcome.OBSERVED, Outcome.REJECTED}


class Symptom(StrEnum):
    """Transport evidence that carries no SUNAT code."""

    CONNECT_FAILED = "connect-failed"  # nothing was sent
    GATEWAY_ERROR = "gateway-error"  # HTTP 502/503/504
    SERVER_ERROR = "server-error"  # HTTP 5xx without a readable fault
    EMPTY_ANSWER = "empty-answer"  # HTTP 200 with an empty body
    UNREADABLE_ANSWER = "unreadable-answer"  # garbage where a SOAP envelope should be
    QUERY_TIMEOUT = "query-timeout"  # getStatus/getStatusCdr timed out: nothing changes
    TICKET_IN_PROCESS = "ticket-in-process"  # getStatus 98
    SEND_TIMEOUT = "send-timeout"  # sendBill/sendSummary sent, then no answer in time
    SEND_CONNECTION_LOST = "send-connection-lost"  # the connection dropped mid-send
    HTTP_CLIENT_ERROR = "http-client-error"  # 401/403/404...: wrong endpoint or credentials
    QUERY_REFUSED = "query-refused"  # Consulta Integrada answered success=false: our question


@dataclass(frozen=True)
class Rule:
    outcome: Outcome
    codes: frozenset[int]
    symptoms: frozenset[Symptom]
    action: str


def _codes(*parts: int | range) -> frozenset[int]:
    found: set[int] = set()
    for part in parts:
        found.update(part if isinstance(part, range) else (part,))
    return frozenset(found)


TABLE: Final[tuple[Rule, ...]] = (
    Rule(
        Outcome.UNKNOWN,
        frozenset(),
        frozenset({Symptom.SEND_TIMEOUT, Symptom.SEND_CONNECTION_LOST}),
        "do not renumber: query getStatusCdr, or resend the identical file and expect 1033",
    ),
    Rule(
        Outcome.TRANSIENT,
        # 0100/0109/0125/0130-0138/0200: SUNAT's own "system unavailable" family; the
        # 0201-0253 block is believed transient too (unconfirmed by SUNAT text).
        _codes(100, 109, 125, range(130, 139), range(200, 254)),
        frozenset(
            {
                Symptom.CONNECT_FAILED,
                Symptom.GATEWAY_ERROR,
                Symptom.SERVER_ERROR,
                Symptom.EMPTY_ANSWER,
                Symptom.UNREADABLE_ANSWER,
                Symptom.QUERY_TIMEOUT,
                Symptom.TICKET_IN_PROCESS,
            }
        ),
        "retry the same bytes under the same name with backoff and jitter",
    ),
    Rule(
        Outcome.DUPLICATE,
        # 1033 registered before with other data, 1032 already voided/rejected,
        # 0140 an equal document in process, 2223 file already presented,
        # 2324 the RA was already presented.
        _codes(1033, 1032, 140, 2223, 2324),
        frozenset(),
        "reconcile with getStatusCdr or Consulta Integrada; never renumber, never mark rejected",
    ),
    Rule(
        Outcome.CONFIGURATION,
        # credentials/profile, ticket not ours or unknown, naming, unreadable file,
        # RUC not the user's, not authorised, boleta only by summary, certificate,
        # signature, wrong method.
        _codes(
            range(101, 107),
            range(111, 114),
            126,
            127,
            range(150, 162),
            range(300, 307),
            range(1034, 1037),
            range(1078, 1081),
            range(2325, 2329),
            range(2334, 2337),
        ),
        frozenset({Symptom.HTTP_CLIENT_ERROR, Symptom.QUERY_REFUSED}),
        "alert a person: fix the configuration or the builder, then resend the same number",
    ),
    Rule(
        Outcome.REJECTED,
        _codes(range(2000, 4000)),
        frozenset(),
        "final: the number is consumed; issue a new document under a new number",
    ),
    Rule(
        Outcome.OBSERVED,
        _codes(range(4000, 10000)),
        frozenset(),
        "accepted: store the observations and fix the builder for next time",
    ),
    Rule(Outcome.ACCEPTED, _codes(0), frozenset(), "accepted: store the CDR"),
    # Exception codes (0100-1999) not listed above: unknown to us, so a person looks.
    Rule(
        Outcome.CONFIGURATION,
        _codes(range(1, 2000)),
        frozenset(),
        "unlisted SUNAT exception: alert a person; the document was not registered",
    ),
)


def rule_for(*, code: int | None = None, symptom: Symptom | None = None) -> Rule:
    for rule in TABLE:
        if (code is not None and code in rule.codes) or (
            symptom is not None and symptom in rule.symptoms
        ):
            return rule
    # Codes above 9999 do not exist; treat like any unlisted exception.
    return TABLE[-1]


def classify(
    *, code: int | None = None, symptom: Symptom | None = None, observations: int = 0
) -> Outcome:
    """The outcome of one answer: a code (CDR, fault or status) or a transport symptom.

    ``observations`` counts a CDR's notes: code 0 with notes is accepted *with*
    observations.
    """
    if code is None and symptom is None:
        raise ValueError("classify needs a code or a symptom")
    outcome = rule_for(code=code, symptom=symptom).outcome
    if outcome is Outcome.ACCEPTED and observations:
        return Outcome.OBSERVED
    return outcome
