"""The simulator's aiohttp application: SOAP endpoints, the Consulta Integrada's REST
endpoints (``consulta``), scripted faults, an admin API.

Admin endpoints (JSON), for tests and demos:
  POST   /admin/rules   a rule or a list: {"kind": "fault|http|empty|slow|observe|reject",
                        "match": "F001-7", "operation": "sendBill", "code": 130,
                        "style": "client|server|string", "status": 503, "delay": 2,
                        "notes": ["4252 - ..."], "times": 1}
  DELETE /admin/rules   forget every rule
  POST   /admin/config  {"polls_before_done": 2, "today": "2026-12-03", "reject_with_fault": true}
  GET    /admin/state   registered documents, tickets, calls
  POST   /admin/reset   forget everything
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Final

from aiohttp import web

from facturacion import soap, xmlsafe
from facturacion.errors import UnreadableResponseError
from facturacion.simulator import consulta
from facturacion.simulator.checks import SimulatedFault
from facturacion.simulator.operations import BILL_SERVICE, CONSULT_SERVICE, Operation
from facturacion.simulator.state import FaultKind, FaultRule, FaultStyle, SimulatorState

STATE: Final = web.AppKey("state", SimulatorState)


def create_app(state: SimulatorState) -> web.Application:
    app = web.Application(client_max_size=20 * 1024 * 1024)
    app[STATE] = state
    for prefix in ("", "/{path:.+}"):
        app.router.add_post(f"{prefix}/billService", _bill_service)
        app.router.add_post(f"{prefix}/billConsultService", _consult_service)
        app.router.add_get(f"{prefix}/billService", _wsdl("billService.wsdl"))
        app.router.add_get(f"{prefix}/billConsultService", _wsdl("billConsultService.wsdl"))
    consulta.add_routes(app, STATE)
    app.router.add_post("/admin/rules", _add_rules)
    app.router.add_delete("/admin/rules", _clear_rules)
    app.router.add_post("/admin/config", _configure)
    app.router.add_get("/admin/state", _show_state)
    app.router.add_post("/admin/reset", _reset)
    return app


def fault_response(code: int, message: str, style: FaultStyle) -> web.Response:
    side = "Client" if style is FaultStyle.CLIENT else "Server"
    if style is FaultStyle.STRING:
        body = soap.fault_envelope("soap-env:Server", f"{code:04d}")
    else:
        body = soap.fault_envelope(f"soap-env:{side}.{code:04d}", message)
    return web.Response(status=500, body=body, content_type="text/xml", charset="utf-8")


def _read_call(body: bytes) -> tuple[str, str, str, dict[str, str]]:
    try:
        root = xmlsafe.parse(body, "the SOAP request")
    except UnreadableResponseError as error:
        raise SimulatedFault(300, f"No se pudo leer el mensaje SOAP: {error}") from error
    token = xmlsafe.find_local(root, "Header", "Security", "UsernameToken")
    if token is None:
        raise SimulatedFault(101, "El encabezado de seguridad es incorrecto")
    username = xmlsafe.text_of(token, "Username") or ""
    password = xmlsafe.text_of(token, "Password") or ""
    call = xmlsafe.first_element(xmlsafe.find_local(root, "Body"))
    if call is None:
        raise SimulatedFault(300, "El cuerpo del mensaje SOAP esta vacio")
    fields = {
        xmlsafe.local_name(child): (child.text or "").strip()
        for child in call
        if isinstance(child.tag, str)
    }
    return xmlsafe.local_name(call), username, password, fields


def _injected(rule: FaultRule) -> web.Response | None:
    if rule.kind is FaultKind.FAULT:
        return fault_response(rule.code, "Error simulado", rule.style)
    if rule.kind is FaultKind.HTTP:
        page = f"<html><body><h1>{rule.status} simulated</h1></body></html>"
        return web.Response(status=rule.status, text=page, content_type="text/html")
    if rule.kind is FaultKind.EMPTY:
        return web.Response(status=200, body=b"", content_type="text/xml")
    return None


def _authorised(
    state: SimulatorState,
    operations: dict[str, Operation],
    operation: str,
    username: str,
    password: str,
) -> Operation:
    if not state.password_ok(username, password):
        raise SimulatedFault(102, "Usuario o contraseña incorrectos")
    handler = operations.get(operation)
    if handler is None:
        raise SimulatedFault(300, f"La operacion {operation} no existe en este servicio")
    return handler


async def _soap(request: web.Request, operations: dict[str, Operation]) -> web.Response:
    state = request.app[STATE]
    rule: FaultRule | None = None
    try:
        operation, username, password, fields = _read_call(await request.read())
        subject = (
            fields.get("fileName")
            or fields.get("ticket")
            or "-".join(
                fields.get(name, "")
                for name in (
                    "rucComprobante",
                    "tipoComprobante",
                    "serieComprobante",
                    "numeroComprobante",
                )
            )
        )
        state.calls.append((operation, subject))
        handler = _authorised(state, operations, operation, username, password)
        rule = state.take_rule(operation, subject)
        injected = _injected(rule) if rule is not None else None
        if injected is not None:
            return injected
        body = handler(state, username, fields, rule)
    except SimulatedFault as fault:
        return fault_response(
            fault.code, fault.message, FaultStyle.CLIENT if fault.client else FaultStyle.SERVER
        )
    if rule is not None and rule.kind is FaultKind.SLOW:
        # Registered already: the caller times out without knowing (the unknown outcome).
        await asyncio.sleep(rule.delay)
    return web.Response(body=body, content_type="text/xml", charset="utf-8")


async def _bill_service(request: web.Request) -> web.Response:
    return await _soap(request, BILL_SERVICE)


async def _consult_service(request: web.Request) -> web.Response:
    return await _soap(request, CONSULT_SERVICE)


def _wsdl(name: str) -> Any:
    async def serve(request: web.Request) -> web.Response:
        del request
        return web.Response(text=soap.wsdl_text(name), content_type="text/xml")

    return serve


async def _add_rules(request: web.Request) -> web.Response:
    data = await request.json()
    try:
        rules = [FaultRule.from_json(item) for item in (data if isinstance(data, list) else [data])]
    except (KeyError, ValueError, TypeError) as error:
        return web.json_response({"error": f"bad rule: {error}"}, status=400)
    request.app[STATE].rules.extend(rules)
    return web.json_response({"rules": len(request.app[STATE].rules)}, status=201)


async def _clear_rules(request: web.Request) -> web.Response:
    request.app[STATE].rules.clear()
    return web.json_response({"rules": 0})


async def _configure(request: web.Request) -> web.Response:
    state = request.app[STATE]
    data = await request.json()
    try:
        if "polls_before_done" in data:
            state.polls_before_done = int(data["polls_before_done"])
        if "today" in data:
            state.today = None if data["today"] is None else dt.date.fromisoformat(data["today"])
        if "reject_with_fault" in data:
            state.reject_with_fault = bool(data["reject_with_fault"])
    except (TypeError, ValueError) as error:
        return web.json_response({"error": f"bad configuration: {error}"}, status=400)
    return web.json_response({"ok": True})


async def _show_state(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].snapshot())


async def _reset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    for collection in (state.documents, state.tickets, state.tokens):
        collection.clear()
    state.summaries.clear()
    state.rules.clear()
    state.calls.clear()
    return web.json_response({"ok": True})
