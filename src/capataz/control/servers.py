"""Serve the control API on the listeners ``listeners`` binds (aiohttp's server).

``start_control_servers`` binds them itself unless given them already bound:
capatazd binds them before it starts any program and serves them once its
programs are spawning (``capataz.supervisor.daemon``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from dataclasses import dataclass, field

from aiohttp import web

from capataz.config.model import Config
from capataz.control.http_app import DEFAULT_MAX_BODY, Credentials, build_app
from capataz.control.interface import ControlBackend
from capataz.control.listeners import (
    ALLOW_ENV,
    BoundListeners,
    Section,
    bind_listeners,
    check_exposure,
    is_loopback,
)

__all__ = ["ALLOW_ENV", "ControlServers", "check_exposure", "is_loopback",
           "start_control_servers"]

log = logging.getLogger("capataz.control")


@dataclass
class ControlServers:
    """The running listeners; ``await close()`` stops them and removes the socket file."""

    runners: list[web.AppRunner] = field(default_factory=list)
    socket_path: str | None = None
    tcp_addresses: list[tuple[str, int]] = field(default_factory=list)

    async def close(self) -> None:
        for runner in self.runners:
            await runner.cleanup()
        self.runners.clear()
        if self.socket_path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket_path)
            self.socket_path = None


def _credentials(section: Section) -> Credentials | None:
    if section.username is None:
        return None
    return Credentials(section.username, section.password or "")


async def _serve(servers: ControlServers, app: web.Application, sock: socket.socket) -> None:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    servers.runners.append(runner)
    await web.SockSite(runner, sock).start()


async def start_control_servers(
    config: Config,
    backend: ControlBackend,
    *,
    allow_unauthenticated: bool | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    listeners: BoundListeners | None = None,
) -> ControlServers:
    """Serve on ``listeners``, else on every listener ``config`` asks for (bound now).

    The servers own the sockets from here: on failure everything is closed, the
    listeners passed in too.
    """
    bound = listeners if listeners is not None else bind_listeners(
        config, allow_unauthenticated=allow_unauthenticated)
    servers = ControlServers(socket_path=bound.socket_path, tcp_addresses=bound.tcp_addresses)
    bound.socket_path = None  # the servers remove the file now
    try:
        while bound.sockets:
            section, sock = bound.sockets[0]
            await _serve(servers, build_app(backend, _credentials(section), max_body), sock)
            bound.sockets.pop(0)  # the runner has it
    except BaseException:
        bound.close()
        await servers.close()
        raise
    return servers
