"""A worker that dies in the middle of a send, made deterministic.

The first attempt is cut off while SUNAT (the simulator) has already registered the
document and is still answering, exactly what a SIGKILL at that moment leaves: a
claimed send, no answer stored. The claim is made to go stale quickly here; then
the next attempt must find out what SUNAT holds instead of sending a new number.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

import pytest

from capataz.queue import FailJob
from facturacion import samples
from facturacion.billing import jobs
from facturacion.billing.runtime import Runtime
from facturacion.billing.store import ReceiptState
from facturacion.model import Comprobante
from facturacion.service import SunatApi, SunatService
from facturacion.simulator.state import API_CLIENT_ID, API_CLIENT_SECRET
from facturacion.simulator.testing import RunningSimulator
from facturacion.store import State

from .conftest import Mailbox, Queue, script

CLAIM_TIMEOUT = 0.5


@pytest.fixture
def quick_claims(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """A read timeout longer than the simulator's delay, and claims stale after 0.5 s."""
    assert runtime.sunat is not None
    runtime.sunat = replace(runtime.sunat, read_timeout=10.0)

    def service(api: SunatApi) -> SunatService:
        assert runtime.signer is not None
        assert runtime.sunat is not None
        return SunatService(runtime.documents, runtime.signer, api, can_consult=True,
                            can_validate=runtime.sunat.validity_endpoint is not None,
                            claim_timeout=CLAIM_TIMEOUT)  # fmt: skip

    monkeypatch.setattr(runtime, "service", service)
    return runtime


def _die_mid_send(runtime: Runtime, simulator: RunningSimulator, receipt: Comprobante) -> None:
    script(simulator, kind="slow", match=receipt.key, delay=1.5, operation="sendBill")
    runtime.store.add(receipt, "a@b.example")

    async def cut_off() -> None:
        await asyncio.wait_for(jobs.emitir_comprobante(receipt.key), 0.7)

    with pytest.raises(TimeoutError):
        asyncio.run(cut_off())
    assert runtime.documents.get(receipt.key).state is State.SENDING
    time.sleep(CLAIM_TIMEOUT + 1.2)  # the simulator has answered by now; the claim is stale


def test_a_factura_whose_answer_died_is_recovered_with_getstatuscdr(
    quick_claims: Runtime, simulator: RunningSimulator, queue: Queue
) -> None:
    """The retry asks billConsultService, records SUNAT's CDR, and sends nothing again."""
    receipt = samples.factura(41)
    _die_mid_send(quick_claims, simulator, receipt)
    assert asyncio.run(jobs.emitir_comprobante(receipt.key)) == "accepted"
    stored = quick_claims.store.get(receipt.key)
    assert stored.cdr_path is not None
    assert [c for c in simulator.state.calls if c[0] == "sendBill"] == [
        ("sendBill", f"{receipt.key}.zip")
    ]
    assert queue.take() == [("generar_pdf", [receipt.key], {})]


def test_a_boleta_whose_answer_died_is_settled_by_the_consulta_integrada(
    quick_claims: Runtime, simulator: RunningSimulator, queue: Queue, mailbox: Mailbox
) -> None:
    """The retry asks the Consulta Integrada (estadoCp 1): accepted without a CDR, the
    answer kept as evidence, sent once, and printed and mailed like any accepted receipt."""
    assert quick_claims.sunat is not None
    quick_claims.sunat = replace(
        quick_claims.sunat, validity_url=simulator.validity_url, api_client_id=API_CLIENT_ID,
        api_client_secret=API_CLIENT_SECRET,
    )  # fmt: skip
    receipt = samples.boleta(43)
    _die_mid_send(quick_claims, simulator, receipt)
    assert asyncio.run(jobs.emitir_comprobante(receipt.key)) == "accepted"
    stored = quick_claims.store.get(receipt.key)
    assert (stored.state, stored.sunat_code, stored.cdr_path) == (ReceiptState.ACCEPTED, 0, None)
    evidence = json.loads(quick_claims.paths.evidence_path(receipt.key).read_bytes())
    assert evidence["data"]["estadoCp"] == "1"
    assert "estadoCp 1 (aceptado)" in stored.message
    assert [c for c in simulator.state.calls if c[0] == "sendBill"] == [
        ("sendBill", f"{receipt.key}.zip")
    ]
    assert queue.take() == [("generar_pdf", [receipt.key], {})]
    jobs.generar_pdf(receipt.key)
    assert queue.take() == [("enviar_correo", [receipt.key], {})]
    assert jobs.enviar_correo(receipt.key) == "a@b.example"
    assert len(mailbox.messages()) == 1


def test_without_api_credentials_a_boleta_whose_answer_died_waits_for_a_person(
    quick_claims: Runtime, simulator: RunningSimulator, queue: Queue
) -> None:
    """No status query for boletas: the identical resend gets 1033, and a person is asked.

    Never a new number, never a state SUNAT did not state, never printed or mailed.
    """
    receipt = samples.boleta(42)
    _die_mid_send(quick_claims, simulator, receipt)
    with pytest.raises(FailJob, match="needs a person"):
        asyncio.run(jobs.emitir_comprobante(receipt.key))
    stored = quick_claims.store.get(receipt.key)
    assert (stored.state, stored.sunat_code) == (ReceiptState.ERROR, 1033)
    assert quick_claims.documents.get(receipt.key).sends == 2
    assert queue.take() == []
