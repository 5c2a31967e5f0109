"""How capatazctl reaches a server: XML-RPC over ``unix://`` or ``http://``.

The stdlib's ``xmlrpc.client`` does the XML-RPC and ``http.client`` does the
HTTP; the only thing added here is a connection class that connects to a UNIX
socket, and a transport that keeps one connection open across calls and sends
HTTP Basic credentials. A ``unix://`` URL carries ``localhost`` as its Host
header, as Supervisor's own client does.
"""

from __future__ import annotations

import base64
import http.client
import socket
import xmlrpc.client
from typing import Any
from urllib.parse import urlsplit

from defusedxml.xmlrpc import DefusedExpatParser

from capataz.ctl.errors import CtlError

#: ServerProxy insists on an http URL; the real destination is in the transport.
_PLACEHOLDER_URL = "http://localhost"


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection whose socket is a UNIX domain socket."""

    def __init__(self, socket_path: str, timeout: float | None = None) -> None:
        super().__init__("localhost")
        self.socket_path = socket_path
        self.unix_timeout = timeout

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.unix_timeout)
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def open_connection(serverurl: str, timeout: float | None = None) -> http.client.HTTPConnection:
    """A new (not yet connected) HTTP connection to ``serverurl``."""
    if serverurl.startswith("unix://"):
        return UnixHTTPConnection(serverurl[len("unix://") :], timeout)
    if serverurl.startswith("http://"):
        parts = urlsplit(serverurl)
        host, port = parts.hostname or "localhost", parts.port or 80
        if timeout is None:
            return http.client.HTTPConnection(host, port)
        return http.client.HTTPConnection(host, port, timeout=timeout)
    raise CtlError(f"unknown protocol for serverurl {serverurl}: use http:// or unix://")


def basic_auth_header(username: str | None, password: str | None) -> dict[str, str]:
    """The Authorization header, or nothing when no credentials were given."""
    if username is None or password is None:
        return {}
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


class ServerTransport(xmlrpc.client.Transport):
    """One persistent connection to the server, reopened after any failure."""

    def __init__(self, serverurl: str, username: str | None, password: str | None) -> None:
        super().__init__()
        self.serverurl = serverurl
        self._auth = basic_auth_header(username, password)
        self._conn: http.client.HTTPConnection | None = None

    def request(  # type: ignore[override]  # typeshed's return type is too narrow
        self, host: str, handler: str, request_body: bytes, verbose: bool = False
    ) -> Any:
        del verbose
        if self._conn is None:
            self._conn = open_connection(self.serverurl)
        headers = {
            "Content-Type": "text/xml",
            "Accept": "text/xml",
            "User-Agent": self.user_agent,
            **self._auth,
        }
        try:
            self._conn.request("POST", handler, request_body, headers)
            response = self._conn.getresponse()
            body = response.read()
        except Exception:
            self.close()
            raise
        if response.status != 200:
            self.close()
            raise xmlrpc.client.ProtocolError(
                host + handler, response.status, response.reason, dict(response.getheaders())
            )
        parser, unmarshaller = self.getparser()
        parser.feed(body)
        parser.close()
        return unmarshaller.close()

    def getparser(self) -> tuple[Any, xmlrpc.client.Unmarshaller]:
        # A server's answer is outside input too: no entities, no external references.
        unmarshaller = xmlrpc.client.Unmarshaller()
        return DefusedExpatParser(unmarshaller), unmarshaller

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def server_proxy(
    serverurl: str, username: str | None = None, password: str | None = None
) -> xmlrpc.client.ServerProxy:
    """A ServerProxy that talks to ``serverurl`` (``unix:///path`` or ``http://h:p``)."""
    if not serverurl.startswith(("unix://", "http://")):
        raise CtlError(f"unknown protocol for serverurl {serverurl}: use http:// or unix://")
    transport = ServerTransport(serverurl, username, password)
    return xmlrpc.client.ServerProxy(_PLACEHOLDER_URL, transport=transport, allow_none=True)
