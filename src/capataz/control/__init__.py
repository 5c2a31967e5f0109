"""Supervisor's XML-RPC API (and a small JSON API) over a UNIX socket and TCP.

The daemon starts the listeners with::

    from capataz.control import start_control_servers
    from capataz.control.adapter import SupervisorBackend

    servers = await start_control_servers(config, SupervisorBackend(supervisor))
    ...
    await servers.close()

Every front end is written against ``ControlBackend`` (``interface.py``);
``capataz.control.testing.FakeBackend`` is an in-memory one for tests.

The names below are imported when first used: ``capataz.control.protocol`` is
shared with the client and the daemon's state machine, and importing it must
not bring in the HTTP server (and aiohttp) with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capataz.control.errors import ControlError, RpcFault
    from capataz.control.interface import ControlBackend, ProcessView
    from capataz.control.servers import ControlServers, start_control_servers

_WHERE = {
    "ControlBackend": "interface",
    "ControlError": "errors",
    "ControlServers": "servers",
    "ProcessView": "interface",
    "RpcFault": "errors",
    "start_control_servers": "servers",
}

__all__ = [
    "ControlBackend",
    "ControlError",
    "ControlServers",
    "ProcessView",
    "RpcFault",
    "start_control_servers",
]


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
