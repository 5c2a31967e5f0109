"""Where the billing jobs keep their files and how they reach the mail server.

Workers run under a supervisor, so settings come from ``FACTURACION_*`` environment
variables (``environment=`` in supervisor.conf, the container, or the systemd unit).
The names are the ones ``facturacion.jobs`` reads (``FACTURACION_DATA_DIR``,
``FACTURACION_CERT``, ``FACTURACION_CERT_PASSWORD``, ``FACTURACION_SIGNATURE``), so
one environment serves both; the SUNAT connection is
``facturacion.config.SunatConfig.from_environ`` (``FACTURACION_SUNAT_*``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from facturacion.billing.errors import SettingsError

PREFIX = "FACTURACION_"


class SmtpSecurity(StrEnum):
    NONE = "none"  # plain SMTP: only for a local test server
    STARTTLS = "starttls"  # port 587: upgrade the connection before logging in
    SSL = "ssl"  # port 465: TLS from the first byte


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    security: SmtpSecurity = SmtpSecurity.NONE
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = "comprobantes@localhost"
    timeout: float = 30.0
    #: A CA bundle to trust besides the system's (a company relay with its own CA).
    cafile: str = ""

    def __post_init__(self) -> None:
        if self.user and self.security is SmtpSecurity.NONE:
            raise SettingsError(
                "refusing to send the SMTP password in clear text: set "
                "FACTURACION_SMTP_SECURITY=starttls (port 587) or ssl (port 465)"
            )


@dataclass(frozen=True)
class Layout:
    """The directory tree under ``FACTURACION_DATA_DIR``."""

    home: Path

    @property
    def billing_db(self) -> Path:
        return self.home / "billing.sqlite3"

    @property
    def documents_db(self) -> Path:
        """The SUNAT document store, shared with ``facturacion.jobs``."""
        return self.home / "documents.sqlite3"

    @property
    def xml_dir(self) -> Path:
        return self.home / "xml"

    @property
    def cdr_dir(self) -> Path:
        return self.home / "cdr"

    @property
    def pdf_dir(self) -> Path:
        return self.home / "pdf"

    @property
    def report_dir(self) -> Path:
        return self.home / "reports"

    def xml_path(self, key: str) -> Path:
        return self.xml_dir / f"{key}.xml"

    def cdr_path(self, key: str) -> Path:
        return self.cdr_dir / f"R-{key}.zip"

    def evidence_path(self, key: str) -> Path:
        """The status answer that settled a receipt SUNAT gives no CDR for (a boleta)."""
        return self.cdr_dir / f"{key}.consulta.json"

    def pdf_path(self, key: str) -> Path:
        return self.pdf_dir / f"{key}.pdf"

    def make(self) -> None:
        for directory in (self.xml_dir, self.cdr_dir, self.pdf_dir, self.report_dir):
            directory.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class BillingSettings:
    layout: Layout
    smtp: SmtpSettings
    certificate: Path | None = None
    certificate_password: str = field(default="", repr=False)
    signature_algorithm: str = "rsa-sha1"
    #: Calls per second allowed to each third-party API (shared by every worker).
    http_rate: float = 5.0
    #: Told (POST, JSON) about every receipt SUNAT answered for good: the ERP, a CRM.
    webhook_url: str = ""
    #: A ``postgresql://`` URL for the billing store; empty: the SQLite file in the layout.
    billing_url: str = field(default="", repr=False)

    @property
    def store_target(self) -> Path | str:
        return self.billing_url or self.layout.billing_db

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> BillingSettings:
        env = os.environ if environ is None else environ

        def get(name: str, default: str = "") -> str:
            return env.get(PREFIX + name, default).strip()

        home = get("DATA_DIR", "var/facturacion")
        try:
            security = SmtpSecurity(get("SMTP_SECURITY", "none").lower())
        except ValueError:
            raise SettingsError(
                f"{PREFIX}SMTP_SECURITY={get('SMTP_SECURITY')!r}: use none, starttls or ssl"
            ) from None
        port_default = {"none": "25", "starttls": "587", "ssl": "465"}[security.value]
        smtp = SmtpSettings(
            host=get("SMTP_HOST", "127.0.0.1"),
            port=_number(PREFIX + "SMTP_PORT", get("SMTP_PORT", port_default), int),
            security=security,
            user=get("SMTP_USER"),
            password=env.get(PREFIX + "SMTP_PASSWORD", ""),
            sender=get("SMTP_FROM", "comprobantes@localhost"),
            timeout=_number(PREFIX + "SMTP_TIMEOUT", get("SMTP_TIMEOUT", "30"), float),
            cafile=get("SMTP_CAFILE"),
        )
        certificate = get("CERT")
        return cls(
            layout=Layout(Path(home)),
            smtp=smtp,
            certificate=Path(certificate) if certificate else None,
            certificate_password=env.get(PREFIX + "CERT_PASSWORD", ""),
            signature_algorithm=get("SIGNATURE", "rsa-sha1"),
            http_rate=_number(PREFIX + "HTTP_RATE", get("HTTP_RATE", "5"), float),
            webhook_url=get("WEBHOOK_URL"),
            billing_url=_billing_url(env),
        )


def _billing_url(env: Mapping[str, str]) -> str:
    """``FACTURACION_BILLING_URL``, else the queue's PostgreSQL when the queue runs there."""
    explicit = env.get(PREFIX + "BILLING_URL", "").strip()
    if explicit:
        if not explicit.startswith(("postgresql://", "postgres://")):
            raise SettingsError(
                f"{PREFIX}BILLING_URL must be a postgresql:// URL; leave it empty for the "
                "SQLite file in FACTURACION_DATA_DIR"
            )
        return explicit
    queue = env.get("CAPATAZ_QUEUE_URL", "").strip()
    if not queue.startswith(("postgresql://", "postgres://")):
        return ""
    # Same database, not the queue's schema: the billing tables get one of their own.
    parts = urlsplit(queue)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "schema"]
    return urlunsplit(parts._replace(query=urlencode(query)))


N = TypeVar("N", int, float)


def _number(name: str, text: str, kind: Callable[[str], N]) -> N:
    try:
        value = kind(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r} is not a number") from None
    if value <= 0:
        raise SettingsError(f"{name}={text!r} must be more than 0")
    return value
