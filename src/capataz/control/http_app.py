"""The aiohttp application: ``/RPC2``, ``/logtail``, ``/mainlogtail`` and ``/api``.

One application serves every listener (UNIX socket and TCP ports); each
listener gets its own copy with its own credentials. Bodies are bounded
before they are read, so a 100 MB POST is refused with 413 at its headers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from capataz.control import json_api
from capataz.control.errors import RpcFault
from capataz.control.interface import ControlBackend
from capataz.control.logtail import follow_file
from capataz.control.protocol import Fault, split_namespec
from capataz.control.rpc import (
    BadRequestError,
    RpcDispatcher,
    encode_fault,
    encode_xml_response,
    parse_request,
)

log = logging.getLogger("capataz.control")

#: Large enough for any real call (a big multicall, a sendProcessStdin), small
#: enough that a hostile body cannot exhaust memory.
DEFAULT_MAX_BODY = 4 * 1024 * 1024

DISPATCHER: web.AppKey[RpcDispatcher] = web.AppKey("dispatcher", RpcDispatcher)
BACKEND: web.AppKey[ControlBackend] = web.AppKey("backend", ControlBackend)
STREAMS = web.AppKey[set[asyncio.Task[Any]]]("streams")
MAX_BODY = web.AppKey("max_body", int)


@dataclass(frozen=True)
class Credentials:
    """``username``/``password`` of an http server section; ``{SHA}`` + hex sha1 allowed."""

    username: str
    password: str

    def accepts(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, sep, password = decoded.partition(":")
        if not sep or not hmac.compare_digest(username.encode(), self.username.encode()):
            return False
        if self.password.startswith("{SHA}"):
            digest = hashlib.sha1(password.encode()).hexdigest()  # noqa: S324 - Supervisor's format
            return hmac.compare_digest(digest, self.password[5:].lower())
        return hmac.compare_digest(password.encode(), self.password.encode())


def _auth_middleware(credentials: Credentials) -> Any:
    @web.middleware
    async def check(request: web.Request,
                    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                    ) -> web.StreamResponse:
        if not credentials.accepts(request.headers.get("Authorization")):
            return web.Response(status=401, text="401 Unauthorized\n",
                                headers={"WWW-Authenticate": 'Basic realm="default"'})
        return await handler(request)

    return check


async def handle_rpc(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > request.app._client_max_size:
        raise web.HTTPRequestEntityTooLarge(
            max_size=request.app._client_max_size,
            actual_size=request.content_length,
        )
    body = await request.read()
    try:
        method, params = parse_request(body)
    except BadRequestError as exc:
        log.warning("XML-RPC request refused: %s", exc)
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    try:
        answer = encode_xml_response(await request.app[DISPATCHER].call_xml(method, params))
    except RpcFault as fault:
        answer = encode_fault(fault)
    except Exception as exc:  # a bug must cost one call, never the daemon
        log.exception("XML-RPC method %s failed", method)
        answer = encode_fault(RpcFault(Fault.FAILED, f"{type(exc).__name__}: {exc}"))
    _make_room_for(request, len(answer))
    return web.Response(body=answer, content_type="text/xml")


#: Below this, an answer fits in any UNIX socket's default send buffer.
_SMALL_ANSWER = 64 * 1024


def _make_room_for(request: web.Request, size: int) -> None:
    """Let a local client's socket take a large answer in one write.

    A UNIX socket's default send buffer (208 KiB on Linux) is smaller than
    getAllProcessInfo's answer for 200 processes; the rest would wait for the
    client to read and the daemon to be scheduled again to write it, once per
    buffer's worth. With room for the whole answer the daemon writes it at
    once and the client reads it at its own pace. TCP is left to the kernel's
    own tuning, which setting the size would turn off.
    """
    if size <= _SMALL_ANSWER or request.transport is None:
        return
    sock = request.transport.get_extra_info("socket")
    if sock is None or sock.family != socket.AF_UNIX:
        return
    with contextlib.suppress(OSError):
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) < 2 * size:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2 * size)


def _process_logfile(backend: ControlBackend, spec: str) -> str | None:
    name, _, channel = spec.partition("/")
    channel = channel or "stdout"
    group, process = split_namespec(name)
    if channel not in {"stdout", "stderr"} or process is None or not backend.has_group(group):
        return None
    namespec = process if group == process else f"{group}:{process}"
    try:
        return backend.logfile(namespec, channel)
    except RpcFault:
        return None


async def _stream(request: web.Request, path: str | None) -> web.StreamResponse:
    if request.method != "GET":
        raise web.HTTPBadRequest
    if path is None:
        raise web.HTTPNotFound
    task = asyncio.current_task()
    assert task is not None  # noqa: S101 - aiohttp runs every handler in a task
    request.app[STREAMS].add(task)
    try:
        return await follow_file(request, path)
    finally:
        request.app[STREAMS].discard(task)


async def handle_logtail(request: web.Request) -> web.StreamResponse:
    path = _process_logfile(request.app[BACKEND], request.match_info["spec"])
    return await _stream(request, path)


async def handle_mainlogtail(request: web.Request) -> web.StreamResponse:
    return await _stream(request, request.app[BACKEND].main_logfile())


async def _cancel_streams(app: web.Application) -> None:
    # A log tail never ends on its own; without this a shutdown waits for clients.
    streams: set[asyncio.Task[Any]] = app[STREAMS]
    for task in streams.copy():
        task.cancel()


def build_app(
    backend: ControlBackend,
    credentials: Credentials | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> web.Application:
    middlewares = [] if credentials is None else [_auth_middleware(credentials)]
    app = web.Application(client_max_size=max_body, middlewares=middlewares)
    app[DISPATCHER] = RpcDispatcher(backend)
    app[BACKEND] = backend
    app[STREAMS] = set()
    app[MAX_BODY] = max_body
    app.router.add_route("POST", r"/RPC2{tail:.*}", handle_rpc)
    app.router.add_route("*", r"/logtail/{spec:.+}", handle_logtail)
    app.router.add_route("*", "/mainlogtail", handle_mainlogtail)
    json_api.add_routes(app, app[DISPATCHER])
    app.on_shutdown.append(_cancel_streams)
    return app
