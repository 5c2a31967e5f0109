"""SUNAT's Consulta Integrada de Comprobantes de Pago (the "validez" REST API).

The one SUNAT service that answers for *any* receipt, boletas included: billConsultService
(``getStatusCdr``) only knows facturas and their notes. It answers what SUNAT holds, not
why: no CDR, no rejection code, no observations. Two calls, with SUNAT's field names:

* ``POST {token}/v1/clientesextranet/{client_id}/oauth2/token/`` (form:
  ``grant_type=client_credentials``, ``scope``, ``client_id``, ``client_secret``) →
  ``{"access_token", "token_type", "expires_in"}``;
* ``POST {api}/v1/contribuyente/contribuyentes/{ruc}/validarcomprobante`` with
  ``Authorization: Bearer`` and ``{"numRuc", "codComp", "numeroSerie", "numero",
  "fechaEmision": "dd/mm/yyyy", "monto"}`` → ``{"success", "message", "data":
  {"estadoCp", "estadoRuc", "condDomiRuc", "observaciones"}}``.

This module is the wire format (requests, answers, their checks); ``SunatClient`` makes
the calls and maps every failure to a ``TransportError`` symptom, as for SOAP.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Any, Final

from lxml import etree

from facturacion import xmlsafe
from facturacion.errors import TransportError, UnreadableResponseError
from facturacion.outcome import Symptom

SCOPE: Final = "https://api.sunat.gob.pe/v1/contribuyente/contribuyentes"
#: A token is renewed this long before SUNAT says it expires (clocks and slow calls).
TOKEN_MARGIN: Final = 60.0


class EstadoCp(IntEnum):
    """``estadoCp``: what SUNAT holds under a receipt's number."""

    NO_EXISTE = 0  # not informed: never registered, or rejected (no validity)
    ACEPTADO = 1
    ANULADO = 2  # accepted, then voided (comunicación de baja / RC condition 3)
    AUTORIZADO = 3  # a printed receipt authorised by a print shop (not electronic)
    NO_AUTORIZADO = 4  # a printed receipt not authorised


def token_path(client_id: str) -> str:
    return f"/v1/clientesextranet/{client_id}/oauth2/token/"


def validity_path(ruc: str) -> str:
    return f"/v1/contribuyente/contribuyentes/{ruc}/validarcomprobante"


def token_form(client_id: str, client_secret: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        "client_id": client_id,
        "client_secret": client_secret,
    }


@dataclass(frozen=True)
class ValidityQuery:
    """One receipt, as the service identifies it: number, issue date and total."""

    issuer_ruc: str
    document_type: str  # 01, 03, 07, 08
    series: str
    number: int
    issue_date: dt.date
    total: Decimal

    def body(self) -> dict[str, str]:
        return {
            "numRuc": self.issuer_ruc,
            "codComp": self.document_type,
            "numeroSerie": self.series,
            "numero": str(self.number),
            "fechaEmision": self.issue_date.strftime("%d/%m/%Y"),
            "monto": f"{self.total:.2f}",
        }

    @classmethod
    def of_signed(cls, key: str, signed_xml: bytes) -> ValidityQuery:
        """The query for a stored receipt, read from the very XML SUNAT received."""
        ruc, document_type, series, number = key.split("-")
        root = xmlsafe.parse(signed_xml, f"the signed XML of {key}")
        issue_date = _element_text(root, key, "IssueDate")
        total = _element_text(root, key, "PayableAmount")
        try:
            return cls(
                ruc, document_type, series, int(number), dt.date.fromisoformat(issue_date),
                Decimal(total),
            )  # fmt: skip
        except (ValueError, ArithmeticError) as error:  # Decimal raises InvalidOperation
            problem = f"{key}: bad IssueDate or PayableAmount: {error}"
            raise UnreadableResponseError(problem) from error


def _element_text(root: etree._Element, key: str, name: str) -> str:
    for element in root.iter():
        if isinstance(element.tag, str) and xmlsafe.local_name(element) == name:
            return (element.text or "").strip()
    raise UnreadableResponseError(f"the signed XML of {key} has no {name}")


@dataclass(frozen=True)
class ValidityStatus:
    """The service's answer; ``answer`` is the body as received, kept as evidence."""

    state: EstadoCp
    ruc_state: str  # estadoRuc: 00 activo...
    ruc_domicile: str  # condDomiRuc: 00 habido...
    observations: tuple[str, ...]
    answer: bytes

    @property
    def summary(self) -> str:
        text = f"Consulta Integrada: estadoCp {self.state.value} ({self.state.name.lower()})"
        if self.observations:
            text += " | " + "; ".join(self.observations)
        return text


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float  # monotonic seconds

    def usable(self, now: float) -> bool:
        return now < self.expires_at - TOKEN_MARGIN


def _json(payload: bytes, what: str) -> Any:
    if not payload.strip():
        raise TransportError(Symptom.EMPTY_ANSWER, f"{what}: HTTP 200 with an empty body")
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise TransportError(Symptom.UNREADABLE_ANSWER, f"{what}: not JSON: {error}") from error


def read_token(payload: bytes, now: float) -> Token:
    data = _json(payload, "token")
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        raise TransportError(Symptom.UNREADABLE_ANSWER, "token: the answer has no access_token")
    try:
        lifetime = float(data.get("expires_in", 0))
    except (TypeError, ValueError):
        lifetime = 0.0
    return Token(data["access_token"], now + lifetime)


def read_status(payload: bytes) -> ValidityStatus:
    data = _json(payload, "validarcomprobante")
    if not isinstance(data, dict):
        raise TransportError(Symptom.UNREADABLE_ANSWER, "validarcomprobante: not a JSON object")
    if data.get("success") is not True:
        raise TransportError(Symptom.QUERY_REFUSED, f"validarcomprobante: {refusal(data)}")
    found = data.get("data")
    if not isinstance(found, dict):
        raise TransportError(Symptom.UNREADABLE_ANSWER, "validarcomprobante: no data")
    try:
        state = EstadoCp(int(found.get("estadoCp", "")))
    except (TypeError, ValueError) as error:
        raise TransportError(
            Symptom.UNREADABLE_ANSWER, f"validarcomprobante: estadoCp {found.get('estadoCp')!r}"
        ) from error
    notes = found.get("observaciones") or []
    return ValidityStatus(
        state,
        str(found.get("estadoRuc", "")),
        str(found.get("condDomiRuc", "")),
        tuple(str(note) for note in notes) if isinstance(notes, list) else (str(notes),),
        payload,
    )


def refusal(data: Any) -> str:
    """The reason in a refusal body: SUNAT's ``message``/``errorCode``, or OAuth's ``error``."""
    if not isinstance(data, dict):
        return "no reason given"
    parts = [
        str(data[name])
        for name in ("message", "msg", "errorCode", "cod", "error_description", "error")
        if data.get(name)
    ]
    return " - ".join(parts) or "no reason given"


def refusal_of(payload: bytes) -> str:
    try:
        return refusal(json.loads(payload))
    except (ValueError, UnicodeDecodeError):
        return payload[:200].decode("utf-8", "replace").strip() or "no reason given"
