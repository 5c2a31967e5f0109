"""The billing jobs in this process against the real SUNAT simulator and a real SMTP server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from capataz.queue import CONNECTIONS, MemoryBackend
from facturacion import samples
from facturacion.billing import mailserver
from facturacion.billing.demo.stack import free_port
from facturacion.billing.runtime import Runtime, open_runtime, use_runtime
from facturacion.billing.settings import BillingSettings, Layout, SmtpSettings
from facturacion.config import SunatConfig
from facturacion.signing import Signer, SigningCredentials
from facturacion.simulator.state import FaultRule
from facturacion.simulator.testing import RunningSimulator


@pytest.fixture(scope="session")
def credentials() -> SigningCredentials:
    return samples.self_signed_credentials()


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    with RunningSimulator() as running:
        yield running


@dataclass
class Mailbox:
    port: int
    directory: Path

    def messages(self) -> list[Path]:
        return sorted((self.directory / "new").iterdir())


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    port = free_port()
    controller = mailserver.start("127.0.0.1", port, tmp_path / "mail")
    yield Mailbox(port, tmp_path / "mail")
    controller.stop()


@dataclass
class Queue:
    backend: MemoryBackend

    def take(self) -> list[tuple[str, list[Any], dict[str, Any]]]:
        """Every job dispatched so far (and now taken off the queue): name, args, kwargs."""
        taken = []
        while (job := self.backend.claim(["documentos", "default"], "test", 30)) is not None:
            payload = json.loads(job.payload)
            taken.append((payload["job"].rsplit(".", 1)[-1], payload["args"], payload["kwargs"]))
            self.backend.complete(job.lease_token)
        return taken


@pytest.fixture
def queue() -> Iterator[Queue]:
    backend = MemoryBackend()
    CONNECTIONS.use(backend)
    yield Queue(backend)
    CONNECTIONS.reset()


@pytest.fixture
def runtime(
    tmp_path: Path, simulator: RunningSimulator, mailbox: Mailbox,
    credentials: SigningCredentials, queue: Queue,
) -> Iterator[Runtime]:  # fmt: skip
    del queue
    settings = BillingSettings(Layout(tmp_path / "data"), SmtpSettings(port=mailbox.port))
    opened = open_runtime(settings)
    opened.signer = Signer(credentials)
    opened.sunat = SunatConfig.beta(
        bill_url=simulator.bill_url, consult_url=simulator.consult_url,
        connect_timeout=2.0, read_timeout=1.0,
    )  # fmt: skip
    previous = use_runtime(opened)
    yield opened
    use_runtime(previous)
    opened.close()


def script(simulator: RunningSimulator, **rule: Any) -> None:
    simulator.state.rules.append(FaultRule.from_json(rule))
