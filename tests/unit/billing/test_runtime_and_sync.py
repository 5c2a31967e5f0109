"""The worker's runtime, and the status sync's answers from a SUNAT test double."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from facturacion import samples
from facturacion.billing import runtime as runtime_module
from facturacion.billing.errors import SettingsError
from facturacion.billing.runtime import Runtime, open_runtime, use_runtime
from facturacion.billing.settings import BillingSettings, Layout, SmtpSettings
from facturacion.billing.store import ReceiptState
from facturacion.billing.sync import sync_unknown
from facturacion.client import ConsultStatus, TicketStatus
from facturacion.errors import TransportError
from facturacion.signing import Signer, SigningCredentials
from facturacion.simulator.cdrs import Verdict, build_cdr_zip
from facturacion.store import State


class ConsultDouble:
    """Answers getStatusCdr with a fixed status (or raises); nothing else is needed."""

    def __init__(self, status: ConsultStatus | None = None,
                 error: Exception | None = None) -> None:  # fmt: skip
        self.status = status
        self.error = error
        self.closed = False

    async def send_bill(self, file_name: str, zip_bytes: bytes) -> bytes:
        raise NotImplementedError

    async def send_summary(self, file_name: str, zip_bytes: bytes) -> str:
        raise NotImplementedError

    async def get_status(self, ticket: str) -> TicketStatus:
        raise NotImplementedError

    async def get_status_cdr(self, ruc: str, document_type: str, series: str,
                             number: int) -> ConsultStatus:  # fmt: skip
        if self.error is not None:
            raise self.error
        assert self.status is not None
        return self.status

    async def close(self) -> None:
        self.closed = True


@pytest.fixture(scope="module")
def credentials() -> SigningCredentials:
    return samples.self_signed_credentials()


@pytest.fixture
def rt(tmp_path: Path, credentials: SigningCredentials) -> Iterator[Runtime]:
    opened = open_runtime(BillingSettings(Layout(tmp_path), SmtpSettings()))
    opened.signer = Signer(credentials)
    yield opened
    opened.close()


def _unknown(rt: Runtime, number: int) -> str:
    receipt = samples.factura(number)
    rt.store.add(receipt)
    rt.service(ConsultDouble()).prepare(receipt)
    rt.documents.record(receipt.key, State.UNKNOWN)
    rt.store.record_outcome(receipt.key, ReceiptState.SENT)
    return receipt.key


def _cdr(code: int) -> bytes:
    return build_cdr_zip("20000000001-01-F001-1", issuer_ruc="20000000001", document_id="F001-1",
                         verdict=Verdict(code, "x"), customer=None, signer=None,
                         now=dt.datetime(2026, 12, 3, tzinfo=dt.UTC))  # fmt: skip


def _sync(rt: Runtime, api: ConsultDouble) -> list[str]:
    report = asyncio.run(sync_unknown(rt, api, older_than=-1))
    return [name for name in ("settled", "resend", "unanswered") if getattr(report, name)]


@pytest.mark.parametrize(
    ("api", "outcome"),
    [
        (ConsultDouble(error=TransportError("connect-failed", "down")), "unanswered"),
        (ConsultDouble(ConsultStatus("0001", "ok", b"not a zip")), "unanswered"),
        (ConsultDouble(ConsultStatus("0001", "ok", _cdr(109))), "unanswered"),
        (ConsultDouble(ConsultStatus("0012", "not yours", None)), "unanswered"),
        (ConsultDouble(ConsultStatus("0003", "de baja", None)), "settled"),
        (ConsultDouble(ConsultStatus("0002", "rechazado", _cdr(2800))), "settled"),
    ],
    ids=["no-answer", "garbage-cdr", "exception-code", "not-ours", "voided", "rejected"],
)
def test_sync_settles_only_what_sunat_answers_for_good(
    rt: Runtime, api: ConsultDouble, outcome: str
) -> None:
    """Only a final CDR or 'voided' settles a receipt; anything else waits for next time."""
    key = _unknown(rt, 1)
    assert _sync(rt, api) == [outcome]
    state = rt.store.get(key).state
    assert (state is ReceiptState.SENT) == (outcome == "unanswered")


def test_without_sunat_settings_the_api_says_what_to_set(tmp_path: Path) -> None:
    """No FACTURACION_SUNAT_*: the SUNAT jobs refuse with the variables to set."""
    rt = open_runtime(BillingSettings(Layout(tmp_path), SmtpSettings()))
    try:
        with pytest.raises(SettingsError, match="FACTURACION_SUNAT_RUC"):
            rt.api()
        with pytest.raises(SettingsError, match="FACTURACION_CERT"):
            rt.service(ConsultDouble())
        double = ConsultDouble()
        rt.api_factory = lambda: double

        async def use() -> None:
            async with rt.connected() as api:
                assert api is double

        asyncio.run(use())
        assert double.closed
    finally:
        rt.close()


def test_the_certificate_and_algorithm_come_from_settings(
    tmp_path: Path, credentials: SigningCredentials
) -> None:
    """A PEM certificate loads into a signer; a bad algorithm or file names the variable."""
    pem = tmp_path / "cert.pem"
    pem.write_bytes(credentials.key_pem + credentials.certificate_pem)
    layout, smtp = Layout(tmp_path / "data"), SmtpSettings()
    good = open_runtime(BillingSettings(layout, smtp, certificate=pem,
                                        signature_algorithm="rsa-sha256"))  # fmt: skip
    assert good.signer is not None
    assert good.signer.algorithm.value == "rsa-sha256"
    good.close()
    with pytest.raises(SettingsError, match="FACTURACION_SIGNATURE"):
        open_runtime(BillingSettings(layout, smtp, certificate=pem, signature_algorithm="md5"))
    with pytest.raises(SettingsError, match="cannot read"):
        open_runtime(BillingSettings(layout, smtp, certificate=tmp_path / "missing.pem"))


def test_the_process_runtime_is_opened_once_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """runtime() reads FACTURACION_* on first use and keeps it; use_runtime swaps it."""
    monkeypatch.setenv("FACTURACION_DATA_DIR", str(tmp_path / "env-data"))
    monkeypatch.setenv("FACTURACION_SUNAT_RUC", "20000000001")
    monkeypatch.setenv("FACTURACION_SUNAT_USER", "MODDATOS")
    monkeypatch.setenv("FACTURACION_SUNAT_PASSWORD", "moddatos")
    previous = use_runtime(None)
    try:
        first = runtime_module.runtime()
        assert first is runtime_module.runtime()
        assert first.paths.home == tmp_path / "env-data"
        assert first.sunat is not None
        assert first.api() is not None
        first.close()
    finally:
        use_runtime(previous)
