"""What a worker process opens once and every billing job shares: stores, signer, settings.

A worker is a long-lived process running many jobs, so the SQLite connections and the
signing key are opened on first use and kept. Tests install their own ``Runtime`` with
``use_runtime``.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from facturacion.billing.errors import SettingsError
from facturacion.billing.settings import BillingSettings, Layout
from facturacion.billing.store import BillingStore
from facturacion.client import SunatClient
from facturacion.config import SunatConfig
from facturacion.errors import FacturacionError
from facturacion.service import SunatApi, SunatService
from facturacion.signing import SignatureAlgorithm, Signer, SigningCredentials
from facturacion.store import DocumentStore

ApiFactory = Callable[[], SunatApi]


@dataclass
class Runtime:
    settings: BillingSettings
    store: BillingStore
    documents: DocumentStore
    signer: Signer | None
    sunat: SunatConfig | None
    #: Builds the SUNAT client for one job; tests pass a fake.
    api_factory: ApiFactory | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def paths(self) -> Layout:
        return self.settings.layout

    def api(self) -> SunatApi:
        if self.api_factory is not None:
            return self.api_factory()
        if self.sunat is None:
            raise SettingsError(
                "the SUNAT connection is not configured: set FACTURACION_SUNAT_RUC, "
                "FACTURACION_SUNAT_USER and FACTURACION_SUNAT_PASSWORD"
            )
        return SunatClient(self.sunat)

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[SunatApi]:
        """A SUNAT client for one job, closed (its HTTP session too) when the job ends."""
        api = self.api()
        try:
            yield api
        finally:
            close = getattr(api, "close", None)
            if close is not None:
                await close()

    def service(self, api: SunatApi) -> SunatService:
        if self.signer is None:
            raise SettingsError(
                "no signing certificate: set FACTURACION_CERT to a .pfx/.p12 or .pem "
                "file (and FACTURACION_CERT_PASSWORD if it has one)"
            )
        can_consult = self.sunat is not None and self.sunat.consult_endpoint is not None
        can_validate = self.sunat is not None and self.sunat.validity_endpoint is not None
        read_timeout = self.sunat.read_timeout if self.sunat is not None else 60.0
        # A claim older than the longest possible call belongs to a worker that died.
        return SunatService(
            self.documents, self.signer, api, can_consult=can_consult,
            can_validate=can_validate, claim_timeout=read_timeout + 10.0,
        )  # fmt: skip

    def close(self) -> None:
        self.store.close()
        self.documents.close()


def open_runtime(settings: BillingSettings | None = None) -> Runtime:
    settings = settings or BillingSettings.from_environ()
    settings.layout.make()
    signer = None
    if settings.certificate is not None:
        try:
            credentials = SigningCredentials.load(
                settings.certificate, settings.certificate_password or None
            )
            signer = Signer(credentials, SignatureAlgorithm(settings.signature_algorithm))
        except ValueError:
            raise SettingsError(
                f"FACTURACION_SIGNATURE={settings.signature_algorithm!r}: "
                "use rsa-sha1 or rsa-sha256"
            ) from None
        except FacturacionError as error:
            raise SettingsError(str(error)) from error
    try:
        sunat: SunatConfig | None = SunatConfig.from_environ()
    except FacturacionError:
        sunat = None  # e-mail, PDF and report jobs work without SUNAT
    return Runtime(
        settings=settings,
        store=BillingStore(settings.store_target),
        documents=DocumentStore(settings.layout.documents_db),
        signer=signer,
        sunat=sunat,
    )


_current: Runtime | None = None
_current_lock = threading.Lock()


def runtime() -> Runtime:
    """This process's runtime, opened from the environment on first use."""
    global _current  # noqa: PLW0603 - one runtime per worker process, by design
    with _current_lock:
        if _current is None:
            _current = open_runtime()
        return _current


def use_runtime(value: Runtime | None) -> Runtime | None:
    """Install a runtime (tests, the demo); returns the previous one."""
    global _current
    with _current_lock:
        previous, _current = _current, value
    return previous
