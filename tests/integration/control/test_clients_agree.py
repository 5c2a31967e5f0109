"""The real supervisorctl and capatazctl print the same against our server.

The server runs on the FakeBackend, so this pins the XML-RPC surface alone;
the tests against capatazd itself are in tests/acceptance.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PASSWORD, USER, Served

BIN = Path(sys.executable).parent
_VOLATILE = re.compile(r"uptime [\d:]+|[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M")


def run(tool: str, served: Served, *args: str, url: str | None = None) -> tuple[str, int]:
    done = subprocess.run([str(BIN / tool), "-s", url or served.unix_url, *args],
                          capture_output=True, text=True, timeout=60, check=False)
    return _VOLATILE.sub("T", done.stdout + done.stderr), done.returncode


@pytest.mark.parametrize(
    "args",
    [("status",), ("status", "grp:*", "nosuch"), ("status", "solo"), ("avail",), ("pid",),
     ("pid", "all"), ("pid", "idle"), ("version",), ("tail", "solo"), ("tail", "-5", "grp:a",
     "stderr"), ("maintail",), ("reread",), ("start", "solo"), ("stop", "idle"),
     ("signal", "HUP", "idle"), ("signal", "FOO", "solo"), ("remove", "solo"),
     ("add", "solo"), ("add", "nosuch"), ("clear", "nosuch"), ("start", "nosuch:*"),
     ("fg", "idle")],
    ids=" ".join,
)
def test_both_clients_print_the_same(served: Served, args: tuple[str, ...]) -> None:
    """Read-only commands and refused changes: identical text and exit code."""
    assert run("capatazctl", served, *args) == run("supervisorctl", served, *args)


@pytest.mark.parametrize(
    "args",
    [("stop", "grp:*"), ("stop", "solo"), ("start", "idle"), ("restart", "solo"),
     ("clear", "all"), ("signal", "CONT", "all"), ("stop", "all")],
    ids=" ".join,
)
def test_both_clients_change_state_alike(served: Served, args: tuple[str, ...]) -> None:
    """From the same state, a change reads the same from both tools."""
    def reset() -> None:
        for name in ("solo", "grp:a", "grp:b"):
            process = served.backend.proc(name)
            process.state, process.pid = 20, 100
        idle = served.backend.proc("idle")
        idle.state, idle.pid = 0, 0

    reset()
    ours = run("capatazctl", served, *args)
    reset()
    theirs = run("supervisorctl", served, *args)
    assert sorted(ours[0].splitlines()) == sorted(theirs[0].splitlines())
    assert ours[1] == theirs[1]


def test_tcp_with_password(served: Served) -> None:
    """Over TCP both need the password, and with it both see the same."""
    creds = ("-u", USER, "-p", PASSWORD, "status")
    assert run("capatazctl", served, *creds, url=served.http_url) == run(
        "supervisorctl", served, *creds, url=served.http_url)
    ours = run("capatazctl", served, "status", url=served.http_url)
    theirs = run("supervisorctl", served, "status", url=served.http_url)
    assert ours == ("Server requires authentication\n", 1)
    assert theirs[0].startswith(ours[0])
    assert theirs[1] == 1
