"""The customer's e-mail: headers, body and both attachments; unsafe settings refused."""

from __future__ import annotations

import email
import email.policy

import pytest

from facturacion import samples
from facturacion.billing.errors import MailError, SettingsError
from facturacion.billing.mail import build_message, message_id, send_message
from facturacion.billing.settings import SmtpSecurity, SmtpSettings


def test_the_message_carries_the_pdf_and_the_xml() -> None:
    """Subject names the document; the PDF and XML are attached under the receipt key."""
    receipt = samples.factura(4)
    message = build_message(receipt, "compras@cliente.example", "facturas@andina.example",
                            b"%PDF-1.4 fake", b"<Invoice/>")  # fmt: skip
    parsed = email.message_from_bytes(bytes(message), policy=email.policy.default)
    assert parsed["Subject"] == "FACTURA ELECTRÓNICA F001-4 - DISTRIBUIDORA ANDINA S.A.C."
    assert parsed["To"] == "compras@cliente.example"
    assert parsed["Message-ID"] == message_id(receipt.key) == f"<{receipt.key}@facturacion>"
    body = parsed.get_body(("plain",))
    assert body is not None
    assert f"{receipt.payable:.2f}" in body.get_content()
    parts = {part.get_filename(): part for part in parsed.iter_attachments()}
    assert parts[f"{receipt.key}.pdf"].get_content_type() == "application/pdf"
    assert parts[f"{receipt.key}.pdf"].get_content() == b"%PDF-1.4 fake"
    assert parts[f"{receipt.key}.xml"].get_content() == b"<Invoice/>"


def test_a_password_is_never_sent_in_clear_text() -> None:
    """A login without TLS is refused when the settings are built, naming the fix."""
    with pytest.raises(SettingsError, match="starttls"):
        SmtpSettings(user="u", password="p", security=SmtpSecurity.NONE)  # noqa: S106


def test_an_unreachable_server_is_a_mail_error() -> None:
    """Nothing listening: a MailError naming host, port and security, not an OSError."""
    settings = SmtpSettings(host="127.0.0.1", port=1, timeout=2)
    message = build_message(samples.boleta(1), "a@b.example", "c@d.example", b"", b"")
    with pytest.raises(MailError, match=r"127\.0\.0\.1:1 \(none\)"):
        send_message(settings, message)
