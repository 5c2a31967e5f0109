"""A reload reopens the control listeners from the re-read [*_http_server] sections."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.daemon_harness import free_port

from capataz.ctl.transport import server_proxy

BIN = Path(sys.executable).parent



def write_config(directory: Path, socket_name: str, port: int) -> Path:
    path = directory / "capatazd.conf"
    path.write_text(f"""
[unix_http_server]
file={directory / socket_name}

[inet_http_server]
port=127.0.0.1:{port}
username=admin
password=pw

[supervisord]
logfile={directory}/main.log
pidfile={directory}/capatazd.pid
childlogdir={directory}
nodaemon=true

[program:sleeper]
command=sleep 1000
startsecs=0
""")
    return path


def state_over(url: str, **auth: str) -> str | None:
    """The daemon's state name through ``url``, or None when nothing answers there."""
    proxy = server_proxy(url, **auth)
    try:
        return str(proxy.supervisor.getState()["statename"])
    except OSError:
        return None
    finally:
        proxy("close")()


def wait_until(condition: object, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture
def capatazd(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, int]]:
    port = free_port()
    config = write_config(tmp_path, "first.sock", port)
    process = subprocess.Popen([str(BIN / "capatazd"), "-c", str(config)], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process, tmp_path, port
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_sighup_reopens_listeners_from_the_new_sections(
    capatazd: tuple[subprocess.Popen[bytes], Path, int],
) -> None:
    """After SIGHUP the socket and port of the changed file answer; the old ones are gone."""
    process, directory, old_port = capatazd
    auth = {"username": "admin", "password": "pw"}
    wait_until(lambda: state_over(f"unix://{directory / 'first.sock'}") == "RUNNING")
    assert state_over(f"http://127.0.0.1:{old_port}", **auth) == "RUNNING"

    new_port = free_port()
    write_config(directory, "second.sock", new_port)
    process.send_signal(signal.SIGHUP)
    wait_until(lambda: state_over(f"unix://{directory / 'second.sock'}") == "RUNNING")
    wait_until(lambda: state_over(f"http://127.0.0.1:{new_port}", **auth) == "RUNNING")
    assert not (directory / "first.sock").exists()
    assert state_over(f"http://127.0.0.1:{old_port}", **auth) is None
    assert process.poll() is None


def test_unservable_new_sections_keep_the_previous_listeners(
    capatazd: tuple[subprocess.Popen[bytes], Path, int],
) -> None:
    """A reload to a port already taken serves the previous socket and port again."""
    process, directory, old_port = capatazd
    auth = {"username": "admin", "password": "pw"}
    wait_until(lambda: state_over(f"unix://{directory / 'first.sock'}") == "RUNNING")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        write_config(directory, "second.sock", taken.getsockname()[1])
        process.send_signal(signal.SIGHUP)
        wait_until(lambda: "serving the control API as before the reload"
                   in (directory / "main.log").read_text())
        assert state_over(f"unix://{directory / 'first.sock'}") == "RUNNING"
        assert state_over(f"http://127.0.0.1:{old_port}", **auth) == "RUNNING"
    assert process.poll() is None
