"""The SUNAT jobs on the real capataz queue worker (memory store, fake clock) and the simulator.

Each path goes through the job and the queue's own retries and backoff: the fake clock
only moves the store's idea of "now", the HTTP calls are real.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from capataz.queue import CONNECTIONS, FakeClock, MemoryBackend, Worker, WorkerOptions, use
from capataz.queue.output import Output
from facturacion import jobs, samples
from facturacion.config import SunatConfig
from facturacion.signing import Signer, SigningCredentials
from facturacion.simulator import FaultKind, FaultRule, FaultStyle
from facturacion.simulator.testing import RunningSimulator
from facturacion.store import DocumentStore, State

# The unknown-outcome cases: the client gives up after READ_TIMEOUT, the simulator
# answers after SLOW. Generous margins keep ordinary calls clear of the timeout on a
# loaded machine.
READ_TIMEOUT = 2.0
SLOW = 4.0


class QuietWatchdog:
    """No heartbeat thread: the memory store's leases outlive these short jobs."""

    def arm(self, lease_token: str, timeout: float, on_timeout: Callable[[], None]) -> None:
        del lease_token, timeout, on_timeout

    def disarm(self) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class Queue:
    clock: FakeClock
    backend: MemoryBackend
    store: DocumentStore
    simulator: RunningSimulator
    log: io.StringIO

    def work(self) -> None:
        """Run a worker until nothing is available now."""
        Worker(
            self.backend,
            WorkerOptions(stop_when_empty=True, sleep=0.0, timeout=30.0, memory=0),
            clock=self.clock,
            output=Output(self.clock, stream=self.log),
            watchdog=QuietWatchdog(),
        ).run()

    def work_until_idle(self, step: float = 1.0, limit: int = 5000) -> float:
        """Work, advancing the fake clock while delayed jobs remain; return the time spent."""
        start = self.clock.time()
        for _ in range(limit):
            self.work()
            stats = self.backend.stats()
            if not any(s.delayed or s.waiting for s in stats):
                return self.clock.time() - start
            self.clock.advance(step)
        raise AssertionError("jobs still pending after the step limit")

    def failed(self) -> list[str]:
        return [f.exception for f in self.backend.failed_jobs()]

    def calls(self, operation: str) -> int:
        return sum(1 for op, _ in self.simulator.state.calls if op == operation)


@pytest.fixture
def queue(
    simulator: RunningSimulator, tmp_path: Path, credentials: SigningCredentials
) -> Iterator[Queue]:
    clock = FakeClock()
    backend = MemoryBackend(clock)
    use(backend)
    store = DocumentStore(tmp_path / "documents.sqlite3")
    config = SunatConfig.beta(
        bill_url=simulator.bill_url,
        consult_url=simulator.consult_url,
        connect_timeout=2.0,
        read_timeout=READ_TIMEOUT,
    )
    jobs.configure(jobs.Runtime(config, store, Signer(credentials)))
    yield Queue(clock, backend, store, simulator, io.StringIO())
    jobs.configure(None)
    CONNECTIONS.reset()
    store.close()


def test_accepted_factura_completes_the_job(queue: Queue) -> None:
    """dispatch_document signs and stores, the job sends once and completes."""
    document = samples.factura(21)
    jobs.dispatch_document(document)
    queue.work()
    assert queue.store.get(document.key).state is State.ACCEPTED
    assert queue.failed() == []
    assert queue.calls("sendBill") == 1


def test_duplicate_dispatch_sends_once(queue: Queue) -> None:
    """Two jobs for one document (a double click, a retried web request): one sendBill."""
    document = samples.boleta(22)
    jobs.dispatch_document(document)
    jobs.dispatch_document(document)
    queue.work()
    assert queue.calls("sendBill") == 1
    assert queue.store.get(document.key).state is State.ACCEPTED
    assert queue.failed() == []


@pytest.mark.parametrize(
    "rule",
    [
        FaultRule(FaultKind.FAULT, code=130, style=FaultStyle.SERVER, times=2),
        FaultRule(FaultKind.FAULT, code=109, style=FaultStyle.CLIENT, times=2),
        FaultRule(FaultKind.FAULT, code=200, style=FaultStyle.STRING, times=2),
        FaultRule(FaultKind.HTTP, status=503, times=2),
        FaultRule(FaultKind.HTTP, status=502, times=2),
        FaultRule(FaultKind.HTTP, status=500, times=2),
        FaultRule(FaultKind.EMPTY, times=2),
    ],
    ids=[
        "server-0130",
        "client-0109",
        "faultstring-0200",
        "http-503",
        "http-502",
        "http-500",
        "empty-200",
    ],
)
def test_transient_faults_are_retried_with_the_queue_backoff(queue: Queue, rule: FaultRule) -> None:
    """Two transient failures, then acceptance: the retries wait the job's backoff (10 s, 30 s)."""
    document = samples.factura(23)
    queue.simulator.state.rules.append(rule)
    jobs.dispatch_document(document)
    waited = queue.work_until_idle()
    assert queue.store.get(document.key).state is State.ACCEPTED
    assert queue.calls("sendBill") == 3
    assert waited >= jobs.SEND_BACKOFF[0] + jobs.SEND_BACKOFF[1]
    assert queue.failed() == []


def test_transient_faults_that_never_end_fail_after_the_tries(queue: Queue) -> None:
    """A SUNAT that stays down: the job fails after SEND_TRIES attempts; the document waits."""
    document = samples.factura(24)
    queue.simulator.state.rules.append(FaultRule(FaultKind.HTTP, status=503, times=-1))
    jobs.dispatch_document(document)
    queue.work_until_idle(step=60.0)
    assert queue.calls("sendBill") == jobs.SEND_TRIES
    assert len(queue.failed()) == 1
    assert "SunatRetryError" in queue.failed()[0]
    assert queue.store.get(document.key).state is State.PENDING


def test_configuration_error_fails_at_once(queue: Queue) -> None:
    """A credentials fault (0102) fails the job on its first attempt: no retries hide it."""
    document = samples.factura(25)
    queue.simulator.state.users = {"20000000001MODDATOS": "another"}
    jobs.dispatch_document(document)
    queue.work_until_idle()
    assert queue.calls("sendBill") == 1
    assert len(queue.failed()) == 1
    assert "ConfigurationError" in queue.failed()[0]
    assert queue.store.get(document.key).state is State.CONFIGURATION


def test_rejection_completes_the_job_with_the_document_rejected(queue: Queue) -> None:
    """A rejection is an answer, not a job failure: the job completes, the number is consumed."""
    document = samples.factura(26)
    queue.simulator.state.rules.append(FaultRule(FaultKind.REJECT, code=3103))
    jobs.dispatch_document(document)
    queue.work_until_idle()
    stored = queue.store.get(document.key)
    assert (stored.state, stored.response_code) == (State.REJECTED, 3103)
    assert queue.failed() == []


def test_observed_document_completes_with_notes(queue: Queue) -> None:
    """Observations are stored and the job completes."""
    document = samples.factura(27)
    queue.simulator.state.rules.append(
        FaultRule(FaultKind.OBSERVE, notes=("4252 - Observacion simulada",))
    )
    jobs.dispatch_document(document)
    queue.work()
    stored = queue.store.get(document.key)
    assert stored.state is State.OBSERVED
    assert stored.notes == ("4252 - Observacion simulada",)


def test_unknown_outcome_is_retried_and_reconciled_without_resending(queue: Queue) -> None:
    """A send that times out after registering: the retry asks getStatusCdr and never resends."""
    document = samples.factura(28)
    queue.simulator.state.rules.append(FaultRule(FaultKind.SLOW, delay=SLOW))
    jobs.dispatch_document(document)
    queue.work_until_idle()
    assert queue.store.get(document.key).state is State.ACCEPTED
    assert queue.calls("sendBill") == 1
    assert queue.calls("getStatusCdr") == 1
    assert queue.failed() == []


def test_foreign_duplicate_fails_for_a_person(
    queue: Queue, credentials: SigningCredentials
) -> None:
    """1033 on a first send (another system used the number) fails the job: reconcile by hand."""
    document = samples.factura(29)
    queue.simulator.state.rules.append(
        FaultRule(FaultKind.FAULT, code=1033, style=FaultStyle.CLIENT)
    )
    jobs.dispatch_document(document)
    queue.work_until_idle()
    assert queue.store.get(document.key).state is State.DUPLICATE
    assert "already registered" in queue.failed()[0]
    assert credentials is not None


@pytest.mark.parametrize(
    ("make", "job_name"),
    [(samples.resumen_diario, "enviar_resumen"), (samples.comunicacion_baja, "enviar_baja")],
)
def test_summary_ticket_polling_reaches_a_final_state(queue: Queue, make, job_name: str) -> None:
    """RC/RA: send once, keep the ticket, poll by re-dispatching with a delay until 0."""
    document = make()
    jobs.dispatch_document(document)
    queue.work_until_idle()
    stored = queue.store.get(document.key)
    assert stored.state is State.ACCEPTED
    assert stored.ticket is not None
    assert stored.polls == 3  # 98, 98, then 0
    assert queue.calls("sendSummary") == 1
    assert queue.calls("getStatus") == 3
    assert f"facturacion.{job_name}" in queue.log.getvalue()
    assert queue.failed() == []


def test_summary_rejected_through_ticket_99(queue: Queue) -> None:
    """A summary whose ticket ends in 99 is rejected with the CDR's code; the job completes."""
    document = samples.comunicacion_baja(2)
    queue.simulator.state.rules.append(
        FaultRule(FaultKind.REJECT, operation="sendSummary", code=2375)
    )
    jobs.dispatch_document(document)
    queue.work_until_idle()
    stored = queue.store.get(document.key)
    assert (stored.state, stored.response_code) == (State.REJECTED, 2375)
    assert stored.cdr_zip is not None


def test_summary_send_failure_is_retried_before_any_ticket(queue: Queue) -> None:
    """A 503 on sendSummary is retried by the queue; the ticket comes from the retry."""
    document = samples.resumen_diario(3)
    queue.simulator.state.rules.append(
        FaultRule(FaultKind.HTTP, operation="sendSummary", status=503)
    )
    jobs.dispatch_document(document)
    queue.work_until_idle()
    assert queue.store.get(document.key).state is State.ACCEPTED
    assert queue.calls("sendSummary") == 2


def test_ticket_stuck_in_process_fails_after_max_polls(
    queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ticket that never leaves 98 stops polling after MAX_POLLS and fails for a person."""
    monkeypatch.setattr(jobs, "MAX_POLLS", 3)
    queue.simulator.state.polls_before_done = 1000
    document = samples.resumen_diario(4)
    jobs.dispatch_document(document)
    queue.work_until_idle(step=60.0)
    stored = queue.store.get(document.key)
    assert (stored.state, stored.polls) == (State.TICKET, 3)
    assert "still in process after 3 polls" in queue.failed()[0]
