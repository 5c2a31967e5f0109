"""E-mail to the customer: the PDF and the signed XML attached, over SMTP.

TLS and login come from ``SmtpSettings``: STARTTLS (587) or implicit TLS (465) with
the system's trust store (plus an optional CA file), and plain SMTP only without a
password. The Message-ID is derived from the receipt key, so a resend after a worker
died mid-send can be recognised as the same message by the receiving side.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from facturacion.billing.errors import MailError
from facturacion.billing.printed import TITLES
from facturacion.billing.settings import SmtpSecurity, SmtpSettings
from facturacion.model import Comprobante


def message_id(key: str) -> str:
    return f"<{key}@facturacion>"


def build_message(
    receipt: Comprobante, recipient: str, sender: str, pdf: bytes, xml: bytes
) -> EmailMessage:
    title = TITLES[receipt.document_type]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = f"{title} {receipt.document_id} - {receipt.issuer.legal_name}"
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = message_id(receipt.key)
    message.set_content(
        f"Estimado(a) {receipt.customer.name}:\n\n"
        f"Le enviamos su {title.lower()} {receipt.document_id} por "
        f"{receipt.currency} {receipt.payable:.2f}, emitida el "
        f"{receipt.issue_date.isoformat()}.\n\n"
        "Adjuntamos la representación impresa (PDF) y el documento electrónico (XML).\n\n"
        f"{receipt.issuer.legal_name}\nRUC {receipt.issuer.ruc}\n"
    )
    message.add_attachment(pdf, maintype="application", subtype="pdf",
                           filename=f"{receipt.key}.pdf")  # fmt: skip
    message.add_attachment(xml, maintype="application", subtype="xml",
                           filename=f"{receipt.key}.xml")  # fmt: skip
    return message


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.cafile:
        context.load_verify_locations(cafile=settings.cafile)
    return context


def send_message(settings: SmtpSettings, message: EmailMessage) -> None:
    """Deliver one message; every failure becomes a ``MailError`` saying what to check."""
    where = f"{settings.host}:{settings.port} ({settings.security.value})"
    try:
        if settings.security is SmtpSecurity.SSL:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout,
                context=_tls_context(settings),
            )  # fmt: skip
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security is SmtpSecurity.STARTTLS:
                client.starttls(context=_tls_context(settings))
            if settings.user:
                client.login(settings.user, settings.password)
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as error:
        raise MailError(
            f"the mail server {where} refused the login of {settings.user!r}: {error.smtp_code} "
            "; check FACTURACION_SMTP_USER and FACTURACION_SMTP_PASSWORD"
        ) from error
    except smtplib.SMTPNotSupportedError as error:
        raise MailError(
            f"the mail server {where} does not offer this: {error}; check "
            "FACTURACION_SMTP_SECURITY (starttls for 587, ssl for 465)"
        ) from error
    except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
        raise MailError(f"cannot deliver through {where}: {error}") from error

