"""A simulator per test (own thread and port), a certificate per session, a document store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from facturacion import samples
from facturacion.signing import Signer, SigningCredentials
from facturacion.simulator import SimulatorState
from facturacion.simulator.testing import RunningSimulator
from facturacion.store import DocumentStore


@pytest.fixture(scope="session")
def credentials() -> SigningCredentials:
    return samples.self_signed_credentials()


@pytest.fixture
def signer(credentials: SigningCredentials) -> Signer:
    return Signer(credentials)


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    with RunningSimulator(SimulatorState(polls_before_done=2)) as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DocumentStore]:
    documents = DocumentStore(tmp_path / "documents.sqlite3")
    yield documents
    documents.close()
