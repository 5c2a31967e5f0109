"""A small JSON view of the same interface: ``/api/...``.

It answers from the same ``supervisor.*`` methods as XML-RPC, so both views
always agree. Faults become HTTP errors with ``{"fault": code, "error": text}``.

    GET  /api/state                      daemon state, pid, identification, version
    GET  /api/processes                  getAllProcessInfo
    GET  /api/processes/{name}           getProcessInfo
    POST /api/processes/{name}/start     startProcess  (?wait=false to return at once)
    POST /api/processes/{name}/stop      stopProcess
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from capataz.control.errors import RpcFault
from capataz.control.protocol import Fault
from capataz.control.rpc import RpcDispatcher

_HTTP_STATUS = {
    Fault.BAD_NAME: 404,
    Fault.SHUTDOWN_STATE: 503,
    Fault.ALREADY_STARTED: 409,
    Fault.NOT_RUNNING: 409,
}


def add_routes(app: web.Application, dispatcher: RpcDispatcher) -> None:
    async def call(method: str, *params: Any) -> web.Response:
        try:
            value = await dispatcher.call(method, params)
        except RpcFault as fault:
            return web.json_response({"fault": int(fault.code), "error": fault.text},
                                     status=_HTTP_STATUS.get(fault.code, 400))
        return web.json_response(value)

    async def state(request: web.Request) -> web.Response:
        del request
        try:
            answer = {
                "state": await dispatcher.call("supervisor.getState", ()),
                "pid": await dispatcher.call("supervisor.getPID", ()),
                "identification": await dispatcher.call("supervisor.getIdentification", ()),
                "version": await dispatcher.call("supervisor.getSupervisorVersion", ()),
            }
        except RpcFault as fault:
            return web.json_response({"fault": int(fault.code), "error": fault.text}, status=503)
        return web.json_response(answer)

    async def processes(request: web.Request) -> web.Response:
        del request
        return await call("supervisor.getAllProcessInfo")

    async def process(request: web.Request) -> web.Response:
        return await call("supervisor.getProcessInfo", request.match_info["name"])

    async def action(request: web.Request) -> web.Response:
        verb = request.match_info["action"]
        wait = request.query.get("wait", "true").lower() not in {"0", "false", "no"}
        return await call(f"supervisor.{verb}Process", request.match_info["name"], wait)

    app.router.add_get("/api/state", state)
    app.router.add_get("/api/processes", processes)
    app.router.add_get("/api/processes/{name}", process)
    app.router.add_post(r"/api/processes/{name}/{action:start|stop}", action)
