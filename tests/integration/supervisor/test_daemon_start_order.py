"""capatazd's start-up order: sockets bound first, programs next, the API served on them.

A socket that cannot be bound stops the daemon with its message before any
program starts; a burst large enough for the fork server is served all the
same once the control API is imported, after the burst.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.integration.supervisor.helpers import alive, config, program

from capataz.config.model import UnixHttpServerConfig
from capataz.ctl.transport import server_proxy
from capataz.supervisor.errors import DaemonSetupError
from capataz.supervisor.spawn import SpawnedChild, SpawnRequest
from capataz.supervisor.supervisor import FORK_SERVER_FROM

BIN = Path(sys.executable).parent


def write_config(directory: Path, *, sock: Path, numprocs: int, inet: str = "") -> Path:
    path = directory / "capatazd.conf"
    path.write_text(f"""
[unix_http_server]
file={sock}
{inet}
[supervisord]
logfile={directory}/main.log
pidfile={directory}/capatazd.pid
childlogdir={directory}
nodaemon=true

[program:marker]
command=/bin/sh -c 'touch {directory}/started.%(process_num)d; exec sleep 1000'
process_name=%(program_name)s_%(process_num)02d
numprocs={numprocs}
startsecs=0
""")
    return path


def run_to_exit(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "capatazd"), "-c", str(config)], capture_output=True,
                          text=True, timeout=60, check=False)


def test_a_port_in_use_stops_the_daemon_before_any_program_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, sock=tmp_path / "c.sock", numprocs=FORK_SERVER_FROM + 2,
                              inet=f"[inet_http_server]\nport=127.0.0.1:{port}\n")
        result = run_to_exit(config)
    assert result.returncode == 1
    assert f"port {port} is already in use" in result.stderr
    assert not list(tmp_path.glob("started.*"))
    assert not (tmp_path / "c.sock").exists()  # the UNIX socket bound first is removed


def test_a_bad_socket_path_stops_the_daemon_before_any_program_starts(tmp_path: Path) -> None:
    config = write_config(tmp_path, sock=tmp_path / "no" / "such" / "c.sock", numprocs=2)
    result = run_to_exit(config)
    assert result.returncode == 1
    assert "cannot create the control socket" in result.stderr
    assert not list(tmp_path.glob("started.*"))


def test_a_fork_server_burst_is_served_once_spawned(tmp_path: Path) -> None:
    """Every program of a burst RUNNING, and the API answers on the socket bound at first."""
    count = FORK_SERVER_FROM + 4
    sock = tmp_path / "c.sock"
    config = write_config(tmp_path, sock=sock, numprocs=count)
    process = subprocess.Popen([str(BIN / "capatazd"), "-c", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        states: list[str] = []
        while time.monotonic() < deadline:
            proxy = server_proxy(f"unix://{sock}")
            try:
                states = [p["statename"] for p in proxy.supervisor.getAllProcessInfo()]
            except OSError:
                pass
            finally:
                proxy("close")()
            if states.count("RUNNING") == count:
                break
            time.sleep(0.05)
        assert states == ["RUNNING"] * count
        assert len(list(tmp_path.glob("started.*"))) == count
    finally:
        process.terminate()
        assert process.wait(30) == 0


def test_a_control_api_that_cannot_be_served_stops_what_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bound but not served (the server's set-up fails): the programs are stopped again."""
    from capataz.supervisor import daemon
    from capataz.supervisor.spawn import ForkServerSpawner

    async def refuse(*args: object, **kwargs: object) -> object:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(daemon, "start_control_servers", refuse)
    cfg = dataclasses.replace(
        config(tmp_path, program("sleeper", "/bin/sleep 60", numprocs=FORK_SERVER_FROM,
                                 startsecs=0)),
        unix_http_server=UnixHttpServerConfig(file=str(tmp_path / "c.sock")))
    spawner = ForkServerSpawner()
    assert spawner.start()
    pids: list[int] = []
    real_spawn = spawner.spawn

    def spawn(request: SpawnRequest) -> SpawnedChild:
        child = real_spawn(request)
        pids.append(child.pid)
        return child

    monkeypatch.setattr(spawner, "spawn", spawn)
    try:
        with pytest.raises(DaemonSetupError, match="Cannot allocate memory"):
            asyncio.run(daemon._supervise(cfg, None, spawner))
    finally:
        spawner.close()
    assert len(pids) == FORK_SERVER_FROM
    assert not any(alive(pid) for pid in pids)
    assert not (tmp_path / "c.sock").exists()
