"""The demo's fallback: when capatazd cannot run, the programs run as plain subprocesses.

Real processes: the SUNAT simulator and the mail server started from their command
lines, workers kept alive by the stand-in supervisor, all stopped at the end.
"""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from facturacion.billing import mailserver
from facturacion.billing.demo.stack import Programs, free_port, port_open, start_stack
from facturacion.billing.errors import BillingError


def _programs(tmp_path: Path, simulator_port: int, mail_port: int) -> Programs:
    return Programs(
        config=tmp_path / "supervisor.conf",
        capatazd="/bin/false",  # a daemon that exits at once
        worker=[sys.executable, "-c", "import time; time.sleep(60)"],
        simulator=[sys.executable, "-m", "facturacion.simulator", "--port", str(simulator_port)],
        mailserver=[
            sys.executable, "-m", "facturacion.billing.mailserver",
            "--port", str(mail_port), "--maildir", str(tmp_path / "mail"),
        ],
        environment=dict(os.environ),
        logs=tmp_path / "logs",
        numprocs=2,
    )


def _wait_for(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_fallback_runs_keeps_alive_and_stops_every_program(tmp_path: Path) -> None:
    """capatazd exits: the demo says so, starts the services and workers, restarts a killed
    worker, and on stop leaves no process behind; the mail server files what it gets."""
    simulator_port, mail_port = free_port(), free_port()
    said: list[str] = []
    stack = start_stack(_programs(tmp_path, simulator_port, mail_port),
                        lambda: port_open(simulator_port) and port_open(mail_port),
                        said.append, wait=20)  # fmt: skip
    try:
        assert stack.mode == "subprocesses"
        assert "exited with status 1" in said[0]
        assert "plain subprocesses" in said[0]
        first = stack.worker_pids()
        assert len(first) == 2
        os.kill(first[0], signal.SIGKILL)
        _wait_for(lambda: len(stack.worker_pids()) == 1)
        stack.tend()
        assert len(stack.worker_pids()) == 2
        assert first[0] not in stack.worker_pids()
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@b.example", "c@d.example", "hola"
        message.set_content("prueba")
        with smtplib.SMTP("127.0.0.1", mail_port, timeout=10) as client:
            client.send_message(message)
        _wait_for(lambda: any((tmp_path / "mail" / "new").iterdir()))
        pids = stack.worker_pids()
    finally:
        stack.stop()
    assert not stack.alive()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert "listening" in (tmp_path / "logs" / "mailserver.log").read_text()


def test_services_that_never_come_up_are_an_error(tmp_path: Path) -> None:
    """If the simulator or mail server cannot start, the demo stops with where to look."""
    programs = _programs(tmp_path, free_port(), free_port())
    with pytest.raises(BillingError, match="did not start"):
        start_stack(programs, lambda: False, lambda _: None, wait=1.5)


def test_the_mail_server_stops_on_sigterm_with_status_0(tmp_path: Path) -> None:
    """As a supervised program: it says where it listens, and a SIGTERM ends it cleanly."""
    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "facturacion.billing.mailserver", "--port", str(port),
         "--maildir", str(tmp_path / "m")], stdout=subprocess.PIPE, text=True,
    ) as process:  # fmt: skip
        try:
            assert process.stdout is not None
            assert "listening on smtp://127.0.0.1:" in process.stdout.readline()
            process.send_signal(signal.SIGTERM)
            assert process.wait(10) == 0
        finally:
            if process.poll() is None:
                process.kill()


def test_the_mail_server_refuses_other_addresses(capsys: pytest.CaptureFixture[str]) -> None:
    """It is a local test tool: a non-loopback address is a usage error; a busy port fails."""
    assert mailserver.main(["--host", "0.0.0.0", "--maildir", "/tmp/x"]) == 2  # noqa: S104
    assert "loopback" in capsys.readouterr().err


def test_the_mail_server_reports_a_busy_port(tmp_path: Path) -> None:
    """Another server on the port: exit 1 with the address, not a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "facturacion.billing.mailserver", "--port", str(port),
             "--maildir", str(tmp_path / "m")], capture_output=True, text=True, timeout=30,
            check=False,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
