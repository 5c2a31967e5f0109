"""The JSON API, and capatazctl's streaming commands (tail -f, maintail -f, fg) end to end."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from capataz.ctl.transport import UnixHTTPConnection

from .conftest import Served

BIN = Path(sys.executable).parent


def request(served: Served, method: str, path: str) -> tuple[int, Any]:
    conn = UnixHTTPConnection(str(served.socket_path), timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_json_api_is_a_second_view_of_the_same_interface(served: Served) -> None:
    """/api/state, /api/processes[/name] and start/stop answer JSON; faults are HTTP errors."""
    status, state = request(served, "GET", "/api/state")
    assert status == 200
    assert state == {"state": {"statecode": 1, "statename": "RUNNING"}, "pid": 4242,
                     "identification": "supervisor", "version": "4.3.0"}
    status, processes = request(served, "GET", "/api/processes")
    assert [p["name"] for p in processes] == ["a", "b", "idle", "solo"]
    assert request(served, "GET", "/api/processes/grp:a")[1]["statename"] == "RUNNING"
    assert request(served, "GET", "/api/processes/nosuch") == (
        404, {"fault": 10, "error": "BAD_NAME: nosuch"})
    assert request(served, "POST", "/api/processes/idle/start") == (200, True)
    assert request(served, "POST", "/api/processes/idle/start")[0] == 409
    assert request(served, "POST", "/api/processes/idle/stop?wait=false") == (200, True)
    served.backend.state = -1
    assert request(served, "GET", "/api/state")[0] == 503
    assert request(served, "GET", "/api/processes")[0] == 503


def follow(served: Served, *args: str) -> tuple[list[bytes], int]:
    """Run capatazctl, read three lines, interrupt it as Ctrl-C would."""
    child = subprocess.Popen([str(BIN / "capatazctl"), "-s", served.unix_url, *args],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert child.stdout is not None
    try:
        lines = [child.stdout.readline() for _ in range(2)]
        child.send_signal(signal.SIGINT)
        lines.append(child.stdout.read())
        return lines, child.wait(20)
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def test_tail_f_and_maintail_f_until_ctrl_c(served: Served) -> None:
    """tail -f and maintail -f print the stream, and Ctrl-C ends them cleanly (exit 0)."""
    lines, code = follow(served, "tail", "-f", "grp:a", "stderr")
    assert lines[:2] == [b"==> Press Ctrl-C to exit <==\n", b"grp:a stderr line 1\n"]
    assert code == 0
    lines, code = follow(served, "maintail", "-f")
    assert lines[1] == b"2026-01-01 INFO supervisord started\n"
    assert code == 0


def test_tail_f_of_an_unknown_process(served: Served) -> None:
    """tail -f of a name the server does not know: the 404 is reported, not a traceback."""
    done = subprocess.run([str(BIN / "capatazctl"), "-s", served.unix_url, "tail", "-f",
                           "nosuch"], capture_output=True, text=True, timeout=30, check=False)
    assert done.stderr == f"{served.unix_url}/logtail/nosuch/stdout Cannot read, status code 404\n"


def test_fg_sends_input_and_ends_when_the_process_dies(served: Served) -> None:
    """fg forwards each typed line to stdin and stops when the process stops."""
    child = subprocess.Popen([str(BIN / "capatazctl"), "-s", served.unix_url, "fg", "solo"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        assert child.stdout.readline() == b"==> Press Ctrl-C to exit <==\n"
        child.stdin.write(b"hello\n")
        child.stdin.flush()
        deadline = time.monotonic() + 10
        while bytes(served.backend.proc("solo").stdin) != b"hello\n":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        served.backend.proc("solo").state = 0
        child.stdin.write(b"more\n")
        child.stdin.flush()
        rest = child.stdout.read()
        assert child.wait(20) == 0
    finally:
        child.kill()
        child.wait()
        child.stdin.close()
        child.stdout.close()
    assert b"Process got killed\n" in rest
    assert rest.endswith(b"Exiting foreground\n")


def test_fg_ends_at_end_of_input(served: Served) -> None:
    """fg with stdin closed: "Exiting foreground"."""
    done = subprocess.run([str(BIN / "capatazctl"), "-s", served.unix_url, "fg", "solo"],
                          input=b"", capture_output=True, timeout=30, check=False)
    assert done.stdout.endswith(b"Exiting foreground\n")
    served.backend.proc("solo").stdin_closed = True
    done = subprocess.run([str(BIN / "capatazctl"), "-s", served.unix_url, "fg", "solo"],
                          input=b"x\n", capture_output=True, timeout=30, check=False)
    assert b"ERROR: <Fault 20: 'NO_FILE: solo'>\n" in done.stdout
    assert done.stdout.endswith(b"Exiting foreground\n")
