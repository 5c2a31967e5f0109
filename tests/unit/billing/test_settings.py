"""Settings from FACTURACION_* variables: defaults, TLS ports, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from facturacion.billing.errors import SettingsError
from facturacion.billing.settings import BillingSettings, Layout, SmtpSecurity


def test_defaults_need_no_variables() -> None:
    """With nothing set: var/facturacion, plain SMTP on localhost:25, no certificate."""
    settings = BillingSettings.from_environ({})
    assert settings.layout.home == Path("var/facturacion")
    assert settings.smtp.security is SmtpSecurity.NONE
    assert (settings.smtp.host, settings.smtp.port) == ("127.0.0.1", 25)
    assert settings.certificate is None
    assert settings.signature_algorithm == "rsa-sha1"


def test_every_variable_is_read() -> None:
    """The names shared with facturacion.jobs and the SMTP ones all take effect."""
    settings = BillingSettings.from_environ({
        "FACTURACION_DATA_DIR": "/srv/f/data", "FACTURACION_CERT": "/srv/f/c.pfx",
        "FACTURACION_CERT_PASSWORD": "s3", "FACTURACION_SIGNATURE": "rsa-sha256",
        "FACTURACION_SMTP_HOST": "smtp.example", "FACTURACION_SMTP_SECURITY": "STARTTLS",
        "FACTURACION_SMTP_USER": "u", "FACTURACION_SMTP_PASSWORD": "hunter2",
        "FACTURACION_SMTP_FROM": "f@example", "FACTURACION_SMTP_TIMEOUT": "5",
        "FACTURACION_SMTP_CAFILE": "/ca.pem", "FACTURACION_HTTP_RATE": "2.5",
        "FACTURACION_WEBHOOK_URL": "https://erp.example/hook",
    })  # fmt: skip
    assert settings.layout.billing_db == Path("/srv/f/data/billing.sqlite3")
    assert settings.layout.documents_db == Path("/srv/f/data/documents.sqlite3")
    assert settings.certificate == Path("/srv/f/c.pfx")
    assert settings.certificate_password == "s3"  # noqa: S105 - a test value
    assert settings.smtp.port == 587
    assert settings.smtp.cafile == "/ca.pem"
    assert settings.http_rate == 2.5
    assert settings.webhook_url == "https://erp.example/hook"
    assert settings.smtp.password == "hunter2"  # noqa: S105 - a test value
    assert "hunter2" not in repr(settings)
    assert BillingSettings.from_environ({"FACTURACION_SMTP_SECURITY": "ssl"}).smtp.port == 465


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"FACTURACION_SMTP_SECURITY": "tls"}, "none, starttls or ssl"),
        ({"FACTURACION_SMTP_PORT": "smtp"}, "FACTURACION_SMTP_PORT='smtp' is not a number"),
        ({"FACTURACION_HTTP_RATE": "0"}, "must be more than 0"),
        ({"FACTURACION_SMTP_USER": "u"}, "clear text"),
    ],
)
def test_bad_values_are_refused_by_name(variables: dict[str, str], message: str) -> None:
    """Each bad value names the variable and what it accepts."""
    with pytest.raises(SettingsError, match=message):
        BillingSettings.from_environ(variables)


def test_the_layout_names_every_file(tmp_path: Path) -> None:
    """XML, CDR and PDF live in their own directories under the data directory."""
    layout = Layout(tmp_path)
    layout.make()
    assert layout.xml_path("K").parent.is_dir()
    assert layout.cdr_path("K").name == "R-K.zip"
    assert layout.pdf_path("K") == tmp_path / "pdf" / "K.pdf"
    assert layout.report_dir.is_dir()


def test_the_billing_store_follows_the_queue_to_postgresql() -> None:
    """SQLite by default; the queue's PostgreSQL database (own schema) when it runs there."""
    assert BillingSettings.from_environ({}).store_target == Path("var/facturacion/billing.sqlite3")
    queue = "postgresql://u@db:5432/app?schema=capataz&sslmode=require"
    settings = BillingSettings.from_environ({"CAPATAZ_QUEUE_URL": queue})
    assert settings.store_target == "postgresql://u@db:5432/app?sslmode=require"
    explicit = BillingSettings.from_environ(
        {"CAPATAZ_QUEUE_URL": queue, "FACTURACION_BILLING_URL": "postgresql://x@y/z"}
    )
    assert explicit.store_target == "postgresql://x@y/z"
    sqlite_queue = {"CAPATAZ_QUEUE_URL": "sqlite:///tmp/q.sqlite3"}
    assert BillingSettings.from_environ(sqlite_queue).billing_url == ""
    with pytest.raises(SettingsError, match="postgresql://"):
        BillingSettings.from_environ({"FACTURACION_BILLING_URL": "mysql://x"})
