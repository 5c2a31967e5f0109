"""The simulator's Consulta Integrada: an OAuth token endpoint and ``validarcomprobante``.

Same paths, fields and answers as SUNAT's REST API (see ``facturacion.validity``),
served from what the simulator registered: ``estadoCp`` 1 for an accepted number, 2
for a voided one, 0 for a rejected or unknown one (a rejected receipt has no validity).
The issue date and the total must match the registered receipt, as the real service
identifies a receipt by them too.

Credentials are checked like SUNAT's: the client id and secret on the token call, the
bearer token (with its lifetime) on every query. Scripted rules reach these calls as
they reach the SOAP ones, by operation (``token``, ``validarcomprobante``) and by
subject (the client id; ``RUC-TT-SERIE-NUMERO`` for a query): ``fault`` answers HTTP
500 with a JSON error, ``http`` a bare status page, ``empty`` an empty 200, ``slow``
the real answer after ``delay`` seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from aiohttp import web

from facturacion import validity
from facturacion.simulator.state import DocState, FaultKind, FaultRule, SimulatorState

_NUMBERS: Final = re.compile(r"^\d{11}$")
_SERIES: Final = re.compile(r"^[A-Z0-9]{4}$")
_TYPES: Final = frozenset({"01", "03", "04", "07", "08", "R1", "R7"})
_ESTADO: Final = {DocState.ACCEPTED: "1", DocState.VOIDED: "2", DocState.REJECTED: "0"}


def add_routes(app: web.Application, state_key: web.AppKey[SimulatorState]) -> None:
    async def token(request: web.Request) -> web.Response:
        state = request.app[state_key]
        return await _scripted(state, "token", request.match_info["client"],
                               lambda: _token(state, request))  # fmt: skip

    async def validate(request: web.Request) -> web.Response:
        state = request.app[state_key]
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        subject = _subject(body)
        return await _scripted(state, "validarcomprobante", subject,
                               lambda: _validate(state, request, body))  # fmt: skip

    app.router.add_post(validity.token_path("{client}"), token)
    app.router.add_post(validity.validity_path("{ruc}"), validate)


def _subject(body: Any) -> str:
    if not isinstance(body, dict):
        return "?"
    parts = ("numRuc", "codComp", "numeroSerie", "numero")
    return "-".join(str(body.get(name, "")) for name in parts)


async def _scripted(
    state: SimulatorState,
    operation: str,
    subject: str,
    answer: Callable[[], Awaitable[web.Response]],
) -> web.Response:
    """Record the call, apply a scripted rule if one matches, else answer for real."""
    state.calls.append((operation, subject))
    rule = state.take_rule(operation, subject)
    injected = _injected(rule) if rule is not None else None
    if injected is not None:
        return injected
    if rule is not None and rule.kind is FaultKind.SLOW:
        await asyncio.sleep(rule.delay)
    return await answer()


def _injected(rule: FaultRule) -> web.Response | None:
    if rule.kind is FaultKind.FAULT:
        error = {"cod": str(rule.code), "msg": "Error simulado"}
        return web.json_response(error, status=500)
    if rule.kind is FaultKind.HTTP:
        page = f"<html><body><h1>{rule.status} simulated</h1></body></html>"
        return web.Response(status=rule.status, text=page, content_type="text/html")
    if rule.kind is FaultKind.EMPTY:
        return web.Response(status=200, body=b"", content_type="application/json")
    return None


async def _token(state: SimulatorState, request: web.Request) -> web.Response:
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "grant_type debe ser client_credentials")
    if form.get("scope") != validity.SCOPE:
        return _oauth_error(400, "invalid_scope", "scope no valido")
    client = request.match_info["client"]
    secret = form.get("client_secret")
    if form.get("client_id") != client or state.api_clients.get(client) != secret:
        return _oauth_error(401, "invalid_client", "cliente no autorizado")
    value = secrets.token_urlsafe(24)
    state.tokens[value] = time.monotonic() + state.token_lifetime
    answer = {"access_token": value, "token_type": "JWT", "expires_in": int(state.token_lifetime)}
    return web.json_response(answer)


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


async def _validate(state: SimulatorState, request: web.Request, body: Any) -> web.Response:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    expiry = state.tokens.get(value)
    if scheme.lower() != "bearer" or expiry is None or expiry <= time.monotonic():
        return web.json_response({"msg": "Token invalido o expirado"}, status=401)
    problem = _problem(request.match_info["ruc"], body)
    if problem is not None:
        return web.json_response({"success": False, "message": problem, "errorCode": "400"})
    found = state.documents.get(
        f"{body['numRuc']}-{body['codComp']}-{body['numeroSerie']}-{int(body['numero'])}"
    )
    estado, notes = "0", []
    if found is not None:
        issued = dt.datetime.strptime(body["fechaEmision"], "%d/%m/%Y").date()
        total = Decimal(str(body["monto"]))
        if (found.issue_date not in {None, issued}) or (found.total not in {None, total}):
            notes.append("- La fecha de emisión o el importe total no coinciden")
        else:
            estado = _ESTADO[found.state]
    data: dict[str, Any] = {"estadoCp": estado, "estadoRuc": "00", "condDomiRuc": "00"}
    if notes:
        data["observaciones"] = notes
    return web.json_response({"success": True, "message": "Operation Success! ", "data": data})


def _problem(ruc: str, body: Any) -> str | None:
    """What is wrong with a query, in the service's words; None when it can be answered."""
    if not _NUMBERS.match(ruc):
        return f"El RUC {ruc} de la ruta no es valido"
    if not isinstance(body, dict):
        return "El cuerpo de la consulta debe ser un objeto JSON"
    checks = (
        ("numRuc", lambda v: bool(_NUMBERS.match(v))),
        ("codComp", lambda v: v in _TYPES),
        ("numeroSerie", lambda v: bool(_SERIES.match(v))),
        ("numero", lambda v: v.isdigit() and 0 < int(v) < 10**8),
        ("fechaEmision", _is_date),
        ("monto", _is_amount),
    )
    for name, valid in checks:
        value = body.get(name)
        if not isinstance(value, str | int | float) or not valid(str(value)):
            return f"El campo {name} no es valido: {json.dumps(value)}"
    return None


def _is_date(text: str) -> bool:
    try:
        dt.datetime.strptime(text, "%d/%m/%Y")
    except ValueError:
        return False
    return True


def _is_amount(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False
