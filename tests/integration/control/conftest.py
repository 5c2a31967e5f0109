"""The control servers on a real socket, over an in-memory ``FakeBackend``.

The servers run on their own event loop in a thread, so tests can use the
synchronous ``xmlrpc.client`` exactly as supervisorctl does.
"""

from __future__ import annotations

import asyncio
import threading
import xmlrpc.client
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.daemon_harness import free_port

from capataz.config.model import Config, InetHttpServerConfig, UnixHttpServerConfig
from capataz.control.servers import ControlServers, start_control_servers
from capataz.control.testing import FakeBackend, group_config
from capataz.ctl.transport import server_proxy

USER, PASSWORD = "admin", "s3cret"



class LoopThread:
    """An event loop running in a daemon thread; ``run(coro)`` waits for the result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Served:
    backend: FakeBackend
    servers: ControlServers
    socket_path: Path
    port: int
    directory: Path
    opened: list[Any]

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def proxy(self) -> Any:
        self.opened.append(server_proxy(self.unix_url))
        return self.opened[-1]

    def http_proxy(self, user: str | None = USER, password: str | None = PASSWORD) -> Any:
        self.opened.append(server_proxy(self.http_url, user, password))
        return self.opened[-1]

    def close_proxies(self) -> None:
        for proxy in self.opened:
            proxy("close")()

    def fault(self, call: Any, *args: Any) -> tuple[int, str]:
        with pytest.raises(xmlrpc.client.Fault) as caught:
            call(*args)
        return caught.value.faultCode, caught.value.faultString


def served_config(directory: Path, port: int) -> Config:
    return Config(
        path=str(directory / "supervisord.conf"),
        unix_http_server=UnixHttpServerConfig(file=str(directory / "ctl.sock")),
        inet_http_servers=(InetHttpServerConfig("inet_http_server", "127.0.0.1", port, USER,
                                                PASSWORD),),
        groups=(group_config("solo", ["solo"]), group_config("grp", ["a", "b"], priority=5),
                group_config("idle", ["idle"])),
    )


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    runner = LoopThread()
    yield runner
    runner.close()


@pytest.fixture
def served(tmp_path: Path, loop_thread: LoopThread) -> Iterator[Served]:
    port = free_port()
    config = served_config(tmp_path, port)
    backend = FakeBackend.from_config(config, clock=lambda: 1_700_000_000.0)
    for namespec in ("solo", "grp:a", "grp:b"):
        process = backend.proc(namespec)
        process.state, process.pid, process.start = 20, 100 + len(namespec), 1_699_999_000.0
    for name in ("solo", "grp:a", "grp:b", "idle"):
        process = backend.proc(name)
        for channel in ("stdout", "stderr"):
            path = tmp_path / f"{name.replace(':', '_')}-{channel}.log"
            path.write_text(f"{name} {channel} line 1\n{name} {channel} line 2\n")
            setattr(process, f"{channel}_logfile", str(path))
    backend.main_log = str(tmp_path / "main.log")
    Path(backend.main_log).write_text("2026-01-01 INFO supervisord started\n")
    servers = loop_thread.run(start_control_servers(config, backend))
    result = Served(backend, servers, tmp_path / "ctl.sock", port, tmp_path, [])
    yield result
    result.close_proxies()
    loop_thread.run(servers.close())
