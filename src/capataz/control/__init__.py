"""Supervisor's XML-RPC API (and a small JSON API) over a UNIX socket and TCP.

The daemon starts the listeners with::

    from capataz.control import start_control_servers
    from capataz.control.adapter import SupervisorBackend

    servers = await start_control_servers(config, SupervisorBackend(supervisor))
    ...
    await servers.close()

Every front end is written against ``ControlBackend`` (``interface.py``);
``capataz.control.testing.FakeBackend`` is an in-memory one for tests.
"""

from capataz.control.errors import ControlError, RpcFault
from capataz.control.interface import ControlBackend, ProcessView
from capataz.control.servers import ControlServers, start_control_servers

__all__ = [
    "ControlBackend",
    "ControlError",
    "ControlServers",
    "ProcessView",
    "RpcFault",
    "start_control_servers",
]
