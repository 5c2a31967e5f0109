"""The interpreter: server checks, authentication, errors, completion, the shell loop."""

from __future__ import annotations

import io
import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest

from capataz.ctl.cli import Controller
from capataz.ctl.errors import CtlError
from capataz.ctl.options import CtlOptions

from .conftest import Ctl


class Refusing:
    """A proxy whose every call raises ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.supervisor = self

    def __call__(self, name: str) -> Any:
        return lambda: None

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any) -> Any:
            raise self.error
        return fail


def run_with(proxy: Any, line: str, interactive: bool = False) -> tuple[str, int]:
    out = io.StringIO()
    options = CtlOptions(serverurl="unix:///x.sock", interactive=interactive)
    controller = Controller(options, stdin=io.StringIO(), stdout=out,
                            proxy_factory=lambda *_: proxy)
    controller.onecmd(line)
    return out.getvalue(), controller.exitstatus


@pytest.mark.parametrize(
    ("error", "expected"),
    [(ConnectionRefusedError(111, "refused"), ("unix:///x.sock refused connection\n", 4)),
     (FileNotFoundError(2, "nope"), ("unix:///x.sock no such file\n", 7)),
     (PermissionError(13, "Permission denied"),
      ("error: <class 'PermissionError'>, [Errno 13] Permission denied\n", 1)),
     (xmlrpc.client.Fault(1, "UNKNOWN_METHOD"), None),
     (xmlrpc.client.Fault(6, "SHUTDOWN_STATE"),
      ("error: <class 'xmlrpc.client.Fault'>, <Fault 6: 'SHUTDOWN_STATE'>\n", 1)),
     # capatazctl's own errors say what to do; the class name would only be noise
     (CtlError("unknown protocol for serverurl foo://x: use http:// or unix://"),
      ("error: unknown protocol for serverurl foo://x: use http:// or unix://\n", 1))],
)
def test_upcheck_reports_why_the_server_cannot_be_used(
    error: BaseException, expected: tuple[str, int] | None
) -> None:
    """Refused, missing socket, other errors and a server without the supervisor API."""
    text, code = run_with(Refusing(error), "version")
    if expected is None:
        assert text.startswith("Sorry, supervisord responded but did not recognize")
        assert code == 3
    else:
        assert (text, code) == expected


def test_status_turns_a_dead_server_into_exit_4() -> None:
    """status exits 4 whatever upcheck found (LSB status: unknown)."""
    assert run_with(Refusing(FileNotFoundError(2, "x")), "status")[1] == 4


def test_api_version_mismatch_exits_5() -> None:
    """A server speaking another API version is refused with supervisorctl's message."""
    class Old(Refusing):
        def __getattr__(self, name: str) -> Any:
            return lambda *args: "2.0"

    text, code = run_with(Old(RuntimeError()), "version")
    assert "expects to talk to a server with API version 3.0, but the remote version is 2.0" in text
    assert code == 5


def test_http_errors() -> None:
    """401 asks for credentials (interactively: prompts and retries); others are one line."""
    denied = xmlrpc.client.ProtocolError("x/RPC2", 401, "Unauthorized", {})
    assert run_with(Refusing(denied), "pid") == ("Server requires authentication\n", 1)
    broken = xmlrpc.client.ProtocolError("x/RPC2", 500, "Internal Server Error", {})
    assert run_with(Refusing(broken), "pid") == (
        "error: unix:///x.sock answered HTTP 500 Internal Server Error\n", 1)


def test_interactive_401_prompts_then_retries(ctl: Ctl, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    """In the shell a 401 asks Username/Password, then runs the command again with them."""
    monkeypatch.setattr("getpass.getpass", lambda prompt: "s3cret")
    real = ctl.controller().proxy_factory
    attempts: list[tuple[Any, ...]] = []

    def factory(url: str, user: str | None, password: str | None) -> Any:
        attempts.append((user, password))
        if password is None:
            return Refusing(xmlrpc.client.ProtocolError("x", 401, "Unauthorized", {}))
        return real(url, user, password)

    ctl.stdin.write("admin\n")
    ctl.stdin.seek(0)
    out = io.StringIO()
    ctl.options.interactive = True
    controller = Controller(ctl.options, stdin=ctl.stdin, stdout=out, proxy_factory=factory)
    controller.onecmd("pid")
    assert out.getvalue() == "Server requires authentication\nUsername:\n4242\n"
    assert attempts == [(None, None), ("admin", "s3cret")]


def test_completion(ctl: Ctl) -> None:
    """Tab completes commands, then groups or processes as the command takes them."""
    controller = ctl.controller()
    assert controller.complete("st", 0, "st") == "start "
    assert controller.complete("st", 2, "st") == "stop "
    assert controller.complete("st", 3, "st") is None
    assert controller.complete("", 0, "") == "help "
    assert controller.complete("s", 0, "help s") == "shutdown "
    assert controller.complete("g", 0, "add g") == "grp "
    assert controller.complete("", 0, "status ") == "grp:a "
    assert controller.complete("", 1, "status ") == "grp:* "
    assert controller.complete("s", 0, "stop s") == "solo "
    assert controller.complete("solo:", 0, "stop solo:") == "solo:solo "
    assert controller.complete("x", 0, "version x") is None
    assert ctl.calls.count("supervisor.getAllProcessInfo") == 1  # cached per command line


def test_shell_runs_status_first_and_keeps_history(ctl: Ctl, tmp_path: Path) -> None:
    """The shell shows status, reads lines until quit, and saves the history file."""
    history = tmp_path / "history"
    ctl.options.history_file = str(history)
    ctl.stdin.write("pid\nquit\n")
    ctl.stdin.seek(0)
    controller = ctl.controller()
    controller.run_shell()
    text = controller.out.getvalue()  # type: ignore[attr-defined]
    assert text.startswith("grp:a ")
    assert "supervisor> 4242\n" in text
    assert history.exists()
    controller.run_shell()  # reads the history back; stdin is at EOF: ends at once


def test_shell_ends_cleanly_on_ctrl_c(ctl: Ctl, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C in the shell prints an empty line and returns."""
    controller = ctl.controller()

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(controller, "cmdloop", interrupted)
    controller.run_shell()
    assert controller.out.getvalue() == "\n"  # type: ignore[attr-defined]
