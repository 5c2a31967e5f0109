"""Hostile and malformed requests are refused, and the server carries on.

Each test ends by checking that a normal call still answers.
"""

from __future__ import annotations

import resource
import socket
import xmlrpc.client

import pytest

from capataz.ctl.transport import UnixHTTPConnection

from .conftest import Served

CALL = b"""<?xml version="1.0"?><methodCall><methodName>supervisor.getPID</methodName>
<params></params></methodCall>"""

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<methodCall><methodName>supervisor.getProcessInfo</methodName>
<params><param><value><string>&lol9;</string></value></param></params></methodCall>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>supervisor.getProcessInfo</methodName>
<params><param><value><string>&secret;</string></value></param></params></methodCall>"""


def post(served: Served, body: bytes, path: str = "/RPC2",
         headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = UnixHTTPConnection(str(served.socket_path), timeout=10)
    try:
        conn.request("POST", path, body, {"Content-Type": "text/xml", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def still_serving(served: Served) -> bool:
    return bool(served.proxy().supervisor.getPID() == 4242)


@pytest.mark.parametrize(
    "body",
    [b"", b"not xml at all", b"<methodCall><methodName>x", b"<methodCall></methodCall>",
     b"<?xml version='1.0'?><methodCall><params/></methodCall>",
     b"<methodCall><methodName>supervisor.getPID</methodName><params><param><value>"
     b"<int>notanint</int></value></param></params></methodCall>",
     "<methodCall><methodName>\u00e9</methodName></methodCall>".encode("latin-1")],
    ids=["empty", "text", "truncated", "no-method", "no-method-name", "bad-int", "latin1"],
)
def test_malformed_requests_get_400(served: Served, body: bytes) -> None:
    """A body that is not an XML-RPC call is a 400; nothing else happens."""
    status, _ = post(served, body)
    assert status == 400
    assert still_serving(served)


def test_entity_expansion_bomb_is_refused(served: Served) -> None:
    """A billion-laughs body is refused at its DTD, before any expansion."""
    status, _ = post(served, BOMB)
    assert status == 400
    assert still_serving(served)


def test_external_entities_are_never_read(served: Served) -> None:
    """An external entity is refused; the file's content never reaches the answer."""
    status, answer = post(served, EXTERNAL)
    assert status == 400
    assert b"root:" not in answer
    assert still_serving(served)


def test_a_100_mb_body_is_refused_at_its_headers(served: Served) -> None:
    """Content-Length 100 MB: 413 at once, without the server reading (or keeping) it."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(served.socket_path))
        sock.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
                     b"Content-Length: 104857600\r\n\r\n")
        sock.sendall(b"<" * 65536)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50 * 1024
    assert still_serving(served)


def test_a_large_chunked_body_is_cut_off(served: Served) -> None:
    """A body with no length that grows past the limit is refused with 413."""
    conn = UnixHTTPConnection(str(served.socket_path), timeout=30)
    chunks = (b"x" * 65536 for _ in range(100))  # 6.4 MB, no Content-Length
    try:
        conn.request("POST", "/RPC2", chunks, {"Transfer-Encoding": "chunked"},
                     encode_chunked=True)
        status = conn.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        status = 413  # the server closed the connection once it had refused the body
    finally:
        conn.close()
    assert status == 413
    assert still_serving(served)


def test_deeply_nested_values_do_not_crash_the_server(served: Served) -> None:
    """Thousands of nested arrays inside the size limit: an answer, and the server lives."""
    depth = 5000
    body = (b"<methodCall><methodName>supervisor.getPID</methodName><params><param>"
            + b"<value><array><data>" * depth + b"</data></array></value>" * depth
            + b"</param></params></methodCall>")
    status, answer = post(served, body)
    assert status == 200
    assert b"faultCode" in answer  # getPID takes no parameters
    assert still_serving(served)


def test_other_uris_under_rpc2_are_the_api_and_get_is_not(served: Served) -> None:
    """Any URI starting with /RPC2 takes calls; a GET on it does not."""
    status, answer = post(served, CALL, path="/RPC2/anything")
    assert status == 200
    assert b"<int>4242</int>" in answer
    conn = UnixHTTPConnection(str(served.socket_path), timeout=10)
    conn.request("GET", "/RPC2")
    assert conn.getresponse().status == 405
    conn.close()


def test_a_storm_of_bad_requests_leaves_the_server_answering(served: Served) -> None:
    """Hundreds of hostile calls in a row, then a normal one: it still answers."""
    proxy = served.proxy()
    for _ in range(100):
        post(served, BOMB)
        post(served, b"garbage")
        with pytest.raises(xmlrpc.client.Fault):
            proxy.supervisor._update("x")
    assert still_serving(served)
