"""The demo's --kill-workers: which worker it kills, and when."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from facturacion import samples
from facturacion.billing.demo import run
from facturacion.billing.demo.run import Demo, DemoOptions
from facturacion.billing.store import BillingStore, ReceiptState
from facturacion.store import DocumentStore, State


class Workers:
    def __init__(self, pids: list[int]) -> None:
        self.pids = pids

    def worker_pids(self) -> list[int]:
        return self.pids


@pytest.fixture
def documents(tmp_path: Path) -> DocumentStore:
    opened = DocumentStore(tmp_path / "documents.sqlite3")
    for document in (samples.factura(1), samples.boleta(2), samples.boleta(3)):
        opened.insert_if_absent(document.key, "f", b"<x/>", b"zip", "d")
    return opened


def _claim(documents: DocumentStore, key: str, claimer: str) -> None:
    assert documents.claim(key, frozenset({State.PREPARED}), 1.0, 0.0, claimer)


def test_only_a_boleta_send_held_by_one_of_our_workers_is_aimed_at(
    documents: DocumentStore,
) -> None:
    host = socket.gethostname()
    assert run._boleta_in_flight(documents, [11, 12]) is None
    _claim(documents, samples.factura(1).key, f"{host}:11")
    _claim(documents, samples.boleta(2).key, "other-host:12")
    assert run._boleta_in_flight(documents, [11, 12]) is None
    _claim(documents, samples.boleta(3).key, f"{host}:12")
    assert run._boleta_in_flight(documents, [11]) is None
    assert run._boleta_in_flight(documents, [11, 12]) == (12, samples.boleta(3).key)


def test_the_first_kill_is_aimed_the_others_follow_the_batch(
    documents: DocumentStore, store: BillingStore, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A worker caught sending a boleta is killed at once; the next kills wait for each
    further quarter of the batch to be answered."""
    killed: list[int] = []
    monkeypatch.setattr(run.os, "kill", lambda pid, signum: killed.append(pid))
    out = io.StringIO()
    demo = Demo(DemoOptions(workdir=tmp_path, kill_workers=3), out)
    demo.webhook.stop()  # never started: only its event loop to close
    demo.stack = Workers([11, 12])  # type: ignore[assignment]
    receipts = [samples.factura(n) for n in range(1, 5)]
    store.add_many((r, "") for r in receipts)
    assert demo._aiming()
    _claim(documents, samples.boleta(3).key, f"{socket.gethostname()}:12")
    demo._chaos(store, documents, 4)
    assert (killed, demo.kills, demo._aiming()) == ([12], 1, False)
    assert f"(1/3) while it sends {samples.boleta(3).key}" in out.getvalue()
    demo._chaos(store, documents, 4)
    assert killed == [12]
    for receipt in receipts[:2]:
        store.record_outcome(receipt.key, ReceiptState.ACCEPTED, code=0)
    demo._chaos(store, documents, 4)
    assert len(killed) == 2
    assert "(2/3)" in out.getvalue()
