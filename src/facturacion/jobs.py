"""The SUNAT queue jobs: thin wrappers that turn a service ``Result`` into a job's fate.

Payloads carry only the document key. The document is prepared (built, signed,
stored) *before* dispatch by :func:`dispatch_document`, so every attempt of every
job sends the same stored bytes, whichever worker runs it.

Fates: final answers complete the job; transient failures and unknown outcomes raise
``SunatRetryError`` so the queue retries with its backoff; configuration errors and
unreconciled duplicates fail the job at once (a person must look); a summary whose
ticket is still in process re-dispatches its job with a growing delay.

Run a worker with ``capataz work -A facturacion.jobs``; configure it with
``FACTURACION_SUNAT_*`` (see ``SunatConfig.from_environ``), ``FACTURACION_CERT``,
``FACTURACION_CERT_PASSWORD``, ``FACTURACION_SIGNATURE`` (rsa-sha1 | rsa-sha256)
and ``FACTURACION_DATA_DIR`` (where the document store lives).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from capataz.queue import JobDefinition, current_job, fail, job
from facturacion.client import SunatClient
from facturacion.config import SunatConfig
from facturacion.errors import ConfigurationError, FacturacionError
from facturacion.model import Comprobante
from facturacion.service import Document, Result, SunatService, poll_delay, prepare_document
from facturacion.signing import SignatureAlgorithm, Signer, SigningCredentials
from facturacion.store import DocumentStore, State
from facturacion.summaries import DailySummary

# Transient failures: 10 s, 30 s, 1 min, 5 min, then every 15 min (the queue's rule:
# the last delay repeats) for up to 12 attempts, about two hours.
SEND_TRIES = 12
SEND_BACKOFF = (10.0, 30.0, 60.0, 300.0, 900.0)
# A ticket still in process after this many polls (about 32 hours with the service's
# schedule) needs a person to ask SUNAT; the ticket stays stored.
MAX_POLLS = 200


class SunatRetryError(FacturacionError):
    """Raised inside a job so the queue retries it with its backoff."""


@dataclass
class Runtime:
    """What the jobs of one worker process share: configuration, store and signer."""

    config: SunatConfig
    store: DocumentStore
    signer: Signer

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Runtime:
        env = os.environ if environ is None else environ
        certificate = env.get("FACTURACION_CERT", "")
        if not certificate:
            raise ConfigurationError(
                "set FACTURACION_CERT to the PFX/P12 or PEM signing certificate"
            )
        try:
            algorithm = SignatureAlgorithm(env.get("FACTURACION_SIGNATURE", "rsa-sha1"))
        except ValueError as error:
            raise ConfigurationError(
                "FACTURACION_SIGNATURE must be rsa-sha1 or rsa-sha256"
            ) from error
        credentials = SigningCredentials.load(
            Path(certificate), env.get("FACTURACION_CERT_PASSWORD")
        )
        data_dir = Path(env.get("FACTURACION_DATA_DIR", "var/facturacion"))
        return cls(
            SunatConfig.from_environ(env),
            DocumentStore(data_dir / "documents.sqlite3"),
            Signer(credentials, algorithm),
        )


_runtime: Runtime | None = None


def configure(runtime: Runtime | None) -> None:
    """Set the runtime the jobs use (tests, or an application that builds its own)."""
    global _runtime  # noqa: PLW0603 - one runtime per worker process, set once
    _runtime = runtime


def get_runtime() -> Runtime:
    global _runtime  # noqa: PLW0603 - built lazily from the environment, once
    if _runtime is None:
        _runtime = Runtime.from_environ()
    return _runtime


async def _run(call: Callable[[SunatService], Awaitable[Result]]) -> Result:
    # One HTTP session per job run: a worker may change event loops between jobs.
    runtime = get_runtime()
    async with SunatClient(runtime.config) as client:
        service = SunatService(
            runtime.store,
            runtime.signer,
            client,
            can_consult=runtime.config.consult_endpoint is not None,
            can_validate=runtime.config.validity_endpoint is not None,
            claim_timeout=runtime.config.read_timeout + runtime.config.connect_timeout + 60,
        )
        return await call(service)


def _settle(result: Result) -> str:
    """Complete, retry or fail the job according to the result."""
    if result.state.is_final:
        return result.state.value
    if result.state is State.CONFIGURATION:
        fail(ConfigurationError(f"{result.key}: {result.message}"))
    if result.state is State.DUPLICATE:
        fail(FacturacionError(f"{result.key} is already registered at SUNAT: {result.message}"))
    raise SunatRetryError(f"{result.key}: {result.message}")


@job(name="facturacion.enviar_comprobante", tries=SEND_TRIES, backoff=SEND_BACKOFF)
async def enviar_comprobante(key: str) -> str:
    """Send a prepared factura, boleta or note; retry only transient outcomes."""
    return _settle(await _run(lambda service: service.send(key)))


async def _summary(definition: JobDefinition, key: str) -> str:
    result = await _run(lambda service: service.send_summary(key))
    if result.state is State.TICKET:
        if result.polls >= MAX_POLLS:
            fail(
                FacturacionError(
                    f"{key}: ticket {result.ticket} still in process after {result.polls} polls"
                )
            )
        # The ticket is stored; poll again later instead of holding a worker.
        delay = poll_delay(result.polls)
        definition.using(delay=delay, queue=current_job().queue).dispatch(key)
        return f"ticket {result.ticket}: polling again in {delay:g}s"
    return _settle(result)


@job(name="facturacion.enviar_resumen", tries=SEND_TRIES, backoff=SEND_BACKOFF)
async def enviar_resumen(key: str) -> str:
    """Send a resumen diario (RC), keep its ticket, then poll it until 0 or 99."""
    return await _summary(enviar_resumen, key)


@job(name="facturacion.enviar_baja", tries=SEND_TRIES, backoff=SEND_BACKOFF)
async def enviar_baja(key: str) -> str:
    """Send a comunicación de baja (RA), keep its ticket, then poll it until 0 or 99."""
    return await _summary(enviar_baja, key)


def dispatch_document(document: Document, *, delay: float | None = None) -> str:
    """Prepare (build and sign once) and queue the job that sends it; return the job id."""
    runtime = get_runtime()
    prepare_document(runtime.store, runtime.signer, document)
    if isinstance(document, Comprobante):
        definition = enviar_comprobante
    elif isinstance(document, DailySummary):
        definition = enviar_resumen
    else:
        definition = enviar_baja
    return definition.using(delay=delay).dispatch(document.key)
