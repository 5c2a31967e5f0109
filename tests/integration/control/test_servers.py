"""Listeners: socket file permissions, stale sockets, the default socket, exposure rules."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest
from tests.daemon_harness import free_port

from capataz.config.model import Config, InetHttpServerConfig, UnixHttpServerConfig
from capataz.control.errors import ControlError
from capataz.control.servers import ALLOW_ENV, check_exposure, is_loopback, start_control_servers
from capataz.control.testing import FakeBackend
from capataz.ctl.transport import server_proxy

from .conftest import LoopThread


def answers(url: str) -> bool:
    proxy = server_proxy(url)
    try:
        return bool(proxy.supervisor.getPID() == 4242)
    finally:
        proxy("close")()


def test_socket_file_gets_the_configured_mode(tmp_path: Path, loop_thread: LoopThread) -> None:
    """[unix_http_server] chmod is applied to the socket file; it is removed on close."""
    path = tmp_path / "s.sock"
    config = Config(str(tmp_path / "c.conf"), unix_http_server=UnixHttpServerConfig(
        str(path), chmod=0o770))
    servers = loop_thread.run(start_control_servers(config, FakeBackend()))
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o770
        assert stat.S_ISSOCK(path.stat().st_mode)
        assert answers(f"unix://{path}")
    finally:
        loop_thread.run(servers.close())
    assert not path.exists()


def test_default_socket_is_private(
    tmp_path: Path, loop_thread: LoopThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no http section: a socket under $XDG_RUNTIME_DIR/capataz, mode 0700, dir 0700."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    if os.geteuid() == 0:
        pytest.skip("as root the default socket is /run/capataz/capatazd.sock")
    servers = loop_thread.run(start_control_servers(Config(str(tmp_path / "c.conf")),
                                                    FakeBackend()))
    path = tmp_path / "capataz" / "capatazd.sock"
    try:
        assert servers.socket_path == str(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert answers(f"unix://{path}")
    finally:
        loop_thread.run(servers.close())


def test_default_socket_as_root(loop_thread: LoopThread) -> None:
    """As root the default socket is /run/capataz/capatazd.sock, mode 0700."""
    if os.geteuid() != 0:
        pytest.skip("only root may create /run/capataz")
    path = Path("/run/capataz/capatazd.sock")
    if path.exists():
        pytest.skip("a capatazd already runs on this machine")
    servers = loop_thread.run(start_control_servers(Config("/nonexistent.conf"), FakeBackend()))
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
        assert answers(f"unix://{path}")
    finally:
        loop_thread.run(servers.close())


def test_stale_socket_is_replaced_live_one_refused(tmp_path: Path, loop_thread: LoopThread
                                                   ) -> None:
    """A socket nobody listens on is removed; one with a live server is left alone."""
    path = tmp_path / "s.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()
    config = Config(str(tmp_path / "c.conf"), unix_http_server=UnixHttpServerConfig(str(path)))
    servers = loop_thread.run(start_control_servers(config, FakeBackend()))
    try:
        with pytest.raises(ControlError, match="already listening"):
            loop_thread.run(start_control_servers(config, FakeBackend()))
        assert answers(f"unix://{path}")
    finally:
        loop_thread.run(servers.close())
    path.write_text("not a socket")
    with pytest.raises(ControlError, match="is not a socket"):
        loop_thread.run(start_control_servers(config, FakeBackend()))


def test_unwritable_socket_directory_is_a_clear_error(tmp_path: Path, loop_thread: LoopThread
                                                      ) -> None:
    """A socket in a missing directory: a ControlError naming the path."""
    path = tmp_path / "missing" / "s.sock"
    config = Config(str(tmp_path / "c.conf"), unix_http_server=UnixHttpServerConfig(str(path)))
    with pytest.raises(ControlError, match="cannot create the control socket"):
        loop_thread.run(start_control_servers(config, FakeBackend()))


def test_chown_to_an_unknown_user_is_a_clear_error(tmp_path: Path, loop_thread: LoopThread
                                                   ) -> None:
    """chown=nosuchuser: a ControlError, and no socket is left behind."""
    path = tmp_path / "s.sock"
    config = Config(str(tmp_path / "c.conf"), unix_http_server=UnixHttpServerConfig(
        str(path), chown=("no-such-user-here", None)))
    with pytest.raises(ControlError, match="no such user"):
        loop_thread.run(start_control_servers(config, FakeBackend()))
    assert not path.exists()


def test_chown_to_ourselves(tmp_path: Path, loop_thread: LoopThread) -> None:
    """chown to the current user (and group) works without root."""
    import grp
    import pwd

    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    path = tmp_path / "s.sock"
    config = Config(str(tmp_path / "c.conf"), unix_http_server=UnixHttpServerConfig(
        str(path), chown=(user, group)))
    servers = loop_thread.run(start_control_servers(config, FakeBackend()))
    try:
        assert path.stat().st_uid == os.geteuid()
    finally:
        loop_thread.run(servers.close())


def inet(host: str, username: str | None = None) -> InetHttpServerConfig:
    return InetHttpServerConfig("inet_http_server", host, free_port(), username, "pw")


def test_exposure_rules() -> None:
    """Loopback or a password is fine; all interfaces without one is refused with a reason."""
    check_exposure(inet("127.0.0.1"), allow_unauthenticated=False)
    check_exposure(inet("localhost"), allow_unauthenticated=False)
    check_exposure(inet("::1"), allow_unauthenticated=False)
    check_exposure(inet("", "admin"), allow_unauthenticated=False)
    with pytest.raises(ControlError) as caught:
        check_exposure(inet(""), allow_unauthenticated=False)
    assert "anyone who can reach that port" in str(caught.value)
    assert ALLOW_ENV in str(caught.value)
    check_exposure(inet(""), allow_unauthenticated=True)
    assert is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0")  # noqa: S104 - a value under test, not a bind
    assert not is_loopback("no-such-host.invalid")


def test_refused_exposure_opens_nothing(tmp_path: Path, loop_thread: LoopThread,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """An unsafe inet section stops startup before any socket exists; the env var allows it."""
    path = tmp_path / "s.sock"
    config = Config(str(tmp_path / "c.conf"),
                    unix_http_server=UnixHttpServerConfig(str(path)),
                    inet_http_servers=(inet(""),))
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    with pytest.raises(ControlError):
        loop_thread.run(start_control_servers(config, FakeBackend()))
    assert not path.exists()
    monkeypatch.setenv(ALLOW_ENV, "1")
    servers = loop_thread.run(start_control_servers(config, FakeBackend()))
    try:
        port = config.inet_http_servers[0].port
        assert answers(f"http://127.0.0.1:{port}")
    finally:
        loop_thread.run(servers.close())


def test_port_in_use_is_a_clear_error(tmp_path: Path, loop_thread: LoopThread) -> None:
    """A taken TCP port: ControlError saying so, and the socket file is cleaned up."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        path = tmp_path / "s.sock"
        config = Config(str(tmp_path / "c.conf"),
                        unix_http_server=UnixHttpServerConfig(str(path)),
                        inet_http_servers=(InetHttpServerConfig("inet_http_server",
                                                                "127.0.0.1", port),))
        with pytest.raises(ControlError, match="already in use"):
            loop_thread.run(start_control_servers(config, FakeBackend()))
    assert not path.exists()


def test_unix_socket_credentials_and_sha_passwords(tmp_path: Path, loop_thread: LoopThread
                                                   ) -> None:
    """[unix_http_server] username/password guard the socket; {SHA} hashes are accepted."""
    import hashlib
    import xmlrpc.client

    path = tmp_path / "s.sock"
    digest = hashlib.sha1(b"hunter2").hexdigest()  # noqa: S324 - Supervisor's format
    config = Config(str(tmp_path / "c.conf"), unix_http_server=UnixHttpServerConfig(
        str(path), username="ops", password="{SHA}" + digest.upper()))
    servers = loop_thread.run(start_control_servers(config, FakeBackend()))
    try:
        for user, password, allowed in [("ops", "hunter2", True), ("ops", digest, False),
                                        ("ops", "wrong", False), (None, None, False)]:
            proxy = server_proxy(f"unix://{path}", user, password)
            try:
                if allowed:
                    assert proxy.supervisor.getPID() == 4242
                else:
                    with pytest.raises(xmlrpc.client.ProtocolError) as caught:
                        proxy.supervisor.getPID()
                    assert caught.value.errcode == 401
            finally:
                proxy("close")()
    finally:
        loop_thread.run(servers.close())
