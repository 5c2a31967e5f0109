"""/logtail and /mainlogtail stream a log as it grows, for capatazctl and supervisorctl."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from capataz.ctl.transport import UnixHTTPConnection, basic_auth_header, open_connection

from .conftest import PASSWORD, USER, Served

BIN = Path(sys.executable).parent


def read_until(response: object, wanted: bytes, limit: float = 10.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + limit
    while wanted not in seen and time.monotonic() < deadline:
        seen += response.read1(65536)  # type: ignore[attr-defined]
    return seen


def test_logtail_streams_the_end_then_what_is_appended(served: Served) -> None:
    """The last KiB first, then each new line as it is written; rotation is followed."""
    path = Path(str(served.backend.proc("solo").stdout_logfile))
    path.write_bytes(b"x" * 5000 + b"END-OF-OLD\n")
    conn = UnixHTTPConnection(str(served.socket_path), timeout=10)
    try:
        conn.request("GET", "/logtail/solo")
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Transfer-Encoding") == "chunked"
        first = read_until(response, b"END-OF-OLD\n")
        assert first == b"x" * (1024 - 11) + b"END-OF-OLD\n"
        with path.open("ab") as log:
            log.write(b"fresh line\n")
        assert read_until(response, b"fresh line\n") == b"fresh line\n"
        path.write_bytes(b"")  # cleared
        path.write_bytes(b"after clear\n")
        assert b"after clear\n" in read_until(response, b"after clear\n")
        path.rename(path.with_suffix(".1"))  # rotated
        path.write_bytes(b"rotated\n")
        assert b"rotated\n" in read_until(response, b"rotated\n")
    finally:
        conn.close()


def test_logtail_channels_and_missing_names(served: Served) -> None:
    """/stderr picks the channel; unknown names, channels or files are 404."""
    for path, status in [("/logtail/grp:a/stderr", 200), ("/logtail/nosuch", 404),
                         ("/logtail/grp:*", 404), ("/logtail/solo/stdboth", 404)]:
        conn = UnixHTTPConnection(str(served.socket_path), timeout=10)
        conn.request("GET", path)
        response = conn.getresponse()
        assert response.status == status, path
        if status == 200:
            assert read_until(response, b"line 2\n").endswith(b"grp:a stderr line 2\n")
        conn.close()
    served.backend.proc("idle").stdout_logfile = None
    conn = UnixHTTPConnection(str(served.socket_path), timeout=10)
    conn.request("GET", "/logtail/idle")
    assert conn.getresponse().status == 404
    conn.close()


def test_mainlogtail_and_its_credentials(served: Served) -> None:
    """/mainlogtail streams the daemon's log; over TCP only with the password."""
    conn = open_connection(served.http_url, timeout=10)
    conn.request("GET", "/mainlogtail")
    assert conn.getresponse().status == 401
    conn.close()
    conn = open_connection(served.http_url, timeout=10)
    conn.request("GET", "/mainlogtail", headers=basic_auth_header(USER, PASSWORD))
    response = conn.getresponse()
    assert response.status == 200
    assert b"supervisord started" in read_until(response, b"started\n")
    conn.close()


def test_supervisorctl_tail_f_reads_our_stream(served: Served) -> None:
    """The real supervisorctl's own HTTP client follows our chunked stream."""
    for tool in ("supervisorctl", "capatazctl"):
        child = subprocess.Popen(
            [str(BIN / tool), "-s", served.unix_url, "tail", "-f", "grp:b"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        try:
            assert child.stdout is not None
            lines = [child.stdout.readline() for _ in range(3)]
        finally:
            child.kill()
            child.wait()
            child.stdout.close()  # type: ignore[union-attr]
        assert lines == [b"==> Press Ctrl-C to exit <==\n", b"grp:b stdout line 1\n",
                         b"grp:b stdout line 2\n"], tool
