"""The control servers work on aiohttp's server alone, as capatazd imports it.

A fresh interpreter imports aiohttp the daemon's way (``import_server_only``),
serves the XML-RPC and JSON APIs with credentials on a UNIX socket and a TCP
port, and is driven through every kind of answer. Afterwards aiohttp's client
must still not be imported: a server path that reached for it would silently
bring the memory back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.daemon_harness import free_port

SCRIPT = """
import asyncio, base64, http.client, json, socket, sys, xmlrpc.client
from capataz.control.aiohttp_import import import_server_only
lean = import_server_only()

from capataz.config.model import Config, InetHttpServerConfig, UnixHttpServerConfig
from capataz.control.servers import start_control_servers
from capataz.control.testing import FakeBackend, group_config

directory, port = sys.argv[1], int(sys.argv[2])
config = Config(
    path=directory + "/c.conf",
    unix_http_server=UnixHttpServerConfig(file=directory + "/ctl.sock"),
    inet_http_servers=(InetHttpServerConfig("inet_http_server", "127.0.0.1", port, "u", "p"),),
    groups=(group_config("grp", ["a", "b"]),),
)
backend = FakeBackend.from_config(config)
open(directory + "/a.log", "w").write("line\\n")
backend.proc("grp:a").stdout_logfile = directory + "/a.log"
AUTH = {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()}


def ask(method, path, body=None, headers=None, over_tcp=False, read_some=False):
    if over_tcp:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    else:
        connection = http.client.HTTPConnection("localhost", timeout=10)
        connection.sock = socket.socket(socket.AF_UNIX)
        connection.sock.connect(directory + "/ctl.sock")
    connection.request(method, path, body, headers or {})
    response = connection.getresponse()
    data = response.read(3) if read_some else response.read()
    connection.close()
    return response.status, data


def call(name, *params, **where):
    return ask("POST", "/RPC2", xmlrpc.client.dumps(params, name).encode(),
               {"Content-Type": "text/xml"}, **where)


async def main():
    servers = await start_control_servers(config, backend)
    loop = asyncio.get_running_loop()
    statuses = []
    for request in (
        lambda: call("supervisor.getAllProcessInfo"),
        lambda: call("supervisor.getProcessInfo", "grp:a"),
        lambda: call("supervisor.startProcess", "grp:a"),
        lambda: call("supervisor.getProcessInfo", "nosuch"),
        lambda: call("system.multicall", [{"methodName": "supervisor.getState"}]),
        lambda: ask("POST", "/RPC2", b"not xml"),
        lambda: ask("GET", "/api/processes"),
        lambda: ask("POST", "/api/processes/grp:b/start"),
        lambda: ask("GET", "/nowhere"),
        lambda: call("supervisor.getState", over_tcp=True),
        lambda: ask("POST", "/RPC2", xmlrpc.client.dumps((), "supervisor.getState").encode(),
                    AUTH, over_tcp=True),
        lambda: ask("GET", "/logtail/grp:a", read_some=True),
    ):
        status, _ = await loop.run_in_executor(None, request)
        statuses.append(status)
    await servers.close()
    return statuses


statuses = asyncio.run(main())
print(json.dumps({"lean": lean, "statuses": statuses,
                  "client": sorted(m for m in sys.modules
                                   if m in ("aiohttp.client", "aiohttp.connector"))}))
"""


def test_every_kind_of_answer_without_the_client(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT), str(tmp_path),
                           str(free_port())], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found == {"lean": True, "client": [],
                     "statuses": [200, 200, 200, 200, 200, 400, 200, 200, 404, 401, 200, 200]}
