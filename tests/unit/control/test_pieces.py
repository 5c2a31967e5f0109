"""Small parts of the control layer: credentials, log reading rules, names and faults."""

from __future__ import annotations

import base64
import hashlib
import socket
from pathlib import Path

import pytest

from capataz.control.errors import RpcFault
from capataz.control.http_app import Credentials, _make_room_for
from capataz.control.logs import read_log, tail_log
from capataz.control.protocol import Fault, fault_string, make_namespec, split_namespec
from capataz.control.rpc import BadRequestError, parse_request
from capataz.control.structs import signal_number


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_credentials() -> None:
    """Plain and {SHA} passwords; anything malformed is simply not accepted."""
    plain = Credentials("u", "p")
    assert plain.accepts(basic("u:p"))
    assert not plain.accepts(basic("u:x"))
    assert not plain.accepts(basic("x:p"))
    assert not plain.accepts(basic("no-colon"))
    assert not plain.accepts("Basic !!!not-base64")
    assert not plain.accepts("Basic " + base64.b64encode(b"\xff:\xfe").decode())
    assert not plain.accepts("Bearer abc")
    assert not plain.accepts(None)
    hashed = Credentials("u", "{SHA}" + hashlib.sha1(b"p").hexdigest())  # noqa: S324
    assert hashed.accepts(basic("u:p"))
    assert not hashed.accepts(basic("u:" + hashlib.sha1(b"p").hexdigest()))  # noqa: S324


def test_read_log_rules(tmp_path: Path) -> None:
    """readLog: offsets from the start or the end; unreadable files are FAILED."""
    path = tmp_path / "log"
    path.write_bytes(b"0123456789")
    assert read_log(str(path), 2, 3) == "234"
    assert read_log(str(path), -3, 0) == "789"
    assert read_log(str(path), -30, 0) == "0123456789"
    assert read_log(str(path), 20, 0) == ""
    directory = tmp_path / "dir"
    directory.mkdir()
    with pytest.raises(RpcFault) as caught:
        read_log(str(directory), 0, 0)
    assert caught.value.code == Fault.FAILED


def test_tail_log_rules(tmp_path: Path) -> None:
    """tailProcessLog: Supervisor's tailFile corner cases, one by one."""
    path = tmp_path / "log"
    path.write_bytes(b"0123456789")
    assert tail_log(str(path), 0, 4) == ["6789", 10, True]
    assert tail_log(str(path), 8, 4) == ["6789", 10, False]
    assert tail_log(str(path), 10, 4) == ["", 10, False]
    assert tail_log(str(path), 12, 4) == ["", 10, False]
    assert tail_log(str(path), 0, 0) == ["", 10, True]
    assert tail_log(str(path), 0, -5) == ["", 10, True]
    assert tail_log(str(tmp_path / "none"), 5, 5) == ["", 0, False]
    directory = tmp_path / "dir"
    directory.mkdir()
    assert tail_log(str(directory), 3, 5) == ["", 3, False]


def test_names_and_faults() -> None:
    """Namespecs and fault strings as Supervisor writes them."""
    assert split_namespec("a") == ("a", "a")
    assert split_namespec("g:a") == ("g", "a")
    assert split_namespec("g:*") == ("g", None)
    assert split_namespec("g:") == ("g", None)
    assert make_namespec("a", "a") == "a"
    assert make_namespec("g", "a") == "g:a"
    assert fault_string(10, "x") == "BAD_NAME: x"
    assert fault_string(999) == "UNKNOWN"


def test_signal_numbers() -> None:
    """Names with or without SIG, any case, numbers Supervisor accepts; others BAD_SIGNAL."""
    assert signal_number("hup") == 1
    assert signal_number("SIGTERM") == 15
    assert signal_number(" 9 ") == 9
    assert signal_number("0") == 0  # SIG_DFL's number, which Supervisor also accepts
    for bad in ("FOO", "65", "-1", "SIG"):
        with pytest.raises(RpcFault):
            signal_number(bad)


def test_parse_request() -> None:
    """Calls parse to (method, params); the rest is a BadRequestError."""
    body = (b"<?xml version='1.0'?><methodCall><methodName>a.b</methodName><params>"
            b"<param><value><int>3</int></value></param></params></methodCall>")
    assert parse_request(body) == ("a.b", (3,))
    with pytest.raises(BadRequestError):
        parse_request(b"<methodCall><params/></methodCall>")


def test_the_package_names_are_imported_when_first_used() -> None:
    """``capataz.control`` re-exports lazily, so protocol users do not import the server."""
    from capataz import control
    from capataz.control import errors, servers

    assert control.ControlError is errors.ControlError
    assert control.start_control_servers is servers.start_control_servers
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = control.no_such_name  # type: ignore[attr-defined]


class _Transport:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> socket.socket | None:
        return self.sock if name == "socket" else None


class _Request:
    def __init__(self, sock: socket.socket | None) -> None:
        self.transport = None if sock is None else _Transport(sock)


def test_large_answers_get_room_in_a_unix_socket_only() -> None:
    """A big answer on a UNIX socket grows its send buffer; small ones and TCP are left be."""
    big = 300 * 1024
    local, peer = socket.socketpair()
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with local, peer, tcp:
        default = local.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        tcp_default = tcp.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        _make_room_for(_Request(local), 1000)  # type: ignore[arg-type]
        assert local.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == default
        _make_room_for(_Request(local), big)  # type: ignore[arg-type]
        assert local.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) >= big
        local.setblocking(False)
        assert local.send(b"x" * big) == big  # the whole answer in one write
        _make_room_for(_Request(tcp), big)  # type: ignore[arg-type]
        assert tcp.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == tcp_default
        _make_room_for(_Request(None), big)  # type: ignore[arg-type]
