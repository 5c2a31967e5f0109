"""capatazctl in process, talking to the real RPC dispatcher over a FakeBackend.

No socket: each call is marshalled to XML and back, as on the wire, and run on
a fresh event loop, so command output and exit codes are checked fast.
"""

from __future__ import annotations

import asyncio
import io
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from capataz.control.errors import RpcFault
from capataz.control.rpc import RpcDispatcher
from capataz.control.testing import FakeBackend
from capataz.ctl.cli import Controller
from capataz.ctl.options import CtlOptions


class WireProxy:
    """A ServerProxy look-alike whose transport is the dispatcher itself."""

    def __init__(self, dispatcher: RpcDispatcher, calls: list[str]) -> None:
        self._dispatcher = dispatcher
        self._calls = calls

    def __call__(self, attribute: str) -> Callable[[], None]:
        assert attribute == "close"
        return lambda: None

    def __getattr__(self, namespace: str) -> Any:
        return _Namespace(self, namespace)

    def invoke(self, name: str, args: tuple[Any, ...]) -> Any:
        self._calls.append(name)
        params, _ = xmlrpc.client.loads(xmlrpc.client.dumps(args, allow_none=True))
        try:
            value = asyncio.run(self._dispatcher.call(name, params))
        except RpcFault as fault:
            raise xmlrpc.client.Fault(int(fault.code), fault.text) from None
        body = xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True)
        return xmlrpc.client.loads(body)[0][0]


@dataclass
class _Namespace:
    proxy: WireProxy
    namespace: str

    def __getattr__(self, method: str) -> Callable[..., Any]:
        return lambda *args: self.proxy.invoke(f"{self.namespace}.{method}", args)


@dataclass
class Ctl:
    backend: FakeBackend
    calls: list[str]
    options: CtlOptions
    stdin: io.StringIO

    def controller(self) -> Controller:
        dispatcher = RpcDispatcher(self.backend)
        out = io.StringIO()
        controller = Controller(self.options, stdin=self.stdin, stdout=out,
                                proxy_factory=lambda *_: WireProxy(dispatcher, self.calls))  # type: ignore[arg-type,return-value]
        controller.out = out  # type: ignore[attr-defined]
        return controller

    def run(self, line: str, interactive: bool = False) -> tuple[str, int]:
        self.options.interactive = interactive
        controller = self.controller()
        controller.onecmd(line)
        return controller.out.getvalue(), controller.exitstatus  # type: ignore[attr-defined]


@pytest.fixture
def ctl(tmp_path: Any) -> Ctl:
    backend = FakeBackend.simple({"solo": ["solo"], "grp": ["a", "b"], "idle": ["idle"]})
    backend.clock = lambda: 1_700_000_000.0
    for namespec in ("solo", "grp:a", "grp:b"):
        process = backend.proc(namespec)
        process.state, process.pid, process.start = 20, 7, 1_699_999_000.0
    for name in ("solo", "grp:a", "grp:b", "idle"):
        path = tmp_path / f"{name.replace(':', '_')}.log"
        path.write_text(f"{name} says hi\n")
        backend.proc(name).stdout_logfile = str(path)
        backend.proc(name).stderr_logfile = str(path)
    backend.main_log = str(tmp_path / "main.log")
    (tmp_path / "main.log").write_text("main log line\n")
    return Ctl(backend, [], CtlOptions(serverurl="unix:///fake.sock"), io.StringIO())
