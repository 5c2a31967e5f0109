"""The simulator as users run it: a real process, a real port, real signals."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from facturacion import samples, ubl
from facturacion.cdr import read_cdr_zip
from facturacion.client import SunatClient
from facturacion.config import SunatConfig
from facturacion.packaging import make_zip
from facturacion.signing import Signer
from facturacion.validity import EstadoCp, ValidityQuery

# Characters that must be XML-escaped in the WS-Security header.
PASSWORD = "s3cr&t<"  # noqa: S105 - the simulator's test password


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "facturacion.simulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture
def process() -> Iterator[subprocess.Popen[str]]:
    child = start(
        "--port", "0", "--polls", "1", "--user", "20000000001ADMIN", "--password", PASSWORD,
        "--client-id", "erp-andina", "--client-secret", PASSWORD,
    )  # fmt: skip
    yield child
    if child.poll() is None:
        child.kill()
        child.wait(timeout=10)
    for stream in (child.stdout, child.stderr):
        if stream is not None:
            stream.close()


def test_simulator_serves_until_sigterm(process: subprocess.Popen[str], credentials) -> None:
    """It prints its URL, checks the configured credentials (escaped password), answers a CDR
    and, with its API credentials, the Consulta Integrada; it exits 0 on SIGTERM."""
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("facturacion-simulator listening on http://127.0.0.1:")
    url = line.split()[-1]
    document = samples.factura(50)
    xml = Signer(credentials).sign(ubl.render(document)).xml

    config = SunatConfig.beta(
        bill_url=f"{url}/billService", sol_user="ADMIN", sol_password=PASSWORD,
        validity_url=url, api_client_id="erp-andina", api_client_secret=PASSWORD,
    )  # fmt: skip

    async def send() -> tuple[bytes, EstadoCp]:
        async with SunatClient(config) as client:
            cdr = await client.send_bill(f"{document.key}.zip", make_zip(document.key, xml))
            status = await client.validate(ValidityQuery.of_signed(document.key, xml))
            return cdr, status.state

    cdr_zip, estado = asyncio.run(send())
    assert estado is EstadoCp.ACEPTADO
    cdr = read_cdr_zip(cdr_zip)
    assert cdr.response_code == 0
    assert b"SignSUNAT" in cdr.xml
    assert cdr.xml.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "192.0.2.1"], "not a loopback address"),
        (["--user", "20000000001X"], "together"),
        (["--polls", "-1"], "--polls"),
        (["--today", "mañana"], "Invalid isoformat"),
        (["--client-secret", ""], "--client-secret"),
    ],
)
def test_bad_options_exit_2_with_a_message(args: list[str], message: str) -> None:
    """Bad options are refused with exit code 2 and a one-line reason, never a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "facturacion.simulator", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_exits_1() -> None:
    """A port that cannot be bound is reported, exit code 1."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "facturacion.simulator", "--port", str(port), "--unsigned-cdr"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1
    assert "cannot listen" in result.stderr
