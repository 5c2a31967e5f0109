"""E-mail over TLS with a login, against a real aiosmtpd server.

The server's certificate is made here and trusted through ``cafile``, so the client's
verification is on, as in production: STARTTLS on a plain port and TLS from the first
byte, a good login, a refused one, and a server that offers no STARTTLS.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from facturacion import samples
from facturacion.billing.demo.stack import free_port
from facturacion.billing.errors import MailError
from facturacion.billing.mail import build_message, send_message
from facturacion.billing.settings import SmtpSecurity, SmtpSettings

USER, PASSWORD = "facturas", "s3creta"


@dataclass
class Inbox:
    received: list[tuple[str, bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        del server, session
        self.received.append((envelope.mail_from, envelope.content))
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                   data: Any) -> AuthResult:  # fmt: skip
    del server, session, envelope, mechanism
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(), PASSWORD.encode(),
    )  # fmt: skip
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


def _context(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    return context


@dataclass
class Server:
    port: int
    inbox: Inbox


def _serve(**kwargs: Any) -> Iterator[Server]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=10, **kwargs)
    controller.start()
    yield Server(port, inbox)
    controller.stop()


@pytest.fixture
def starttls_server(tls_files: tuple[Path, Path]) -> Iterator[Server]:
    yield from _serve(tls_context=_context(tls_files), require_starttls=True,
                      authenticator=_authenticator, auth_require_tls=True)  # fmt: skip


@pytest.fixture
def ssl_server(tls_files: tuple[Path, Path]) -> Iterator[Server]:
    yield from _serve(ssl_context=_context(tls_files), server_hostname="127.0.0.1",
                      authenticator=_authenticator, auth_require_tls=False)  # fmt: skip


@pytest.fixture
def plain_server() -> Iterator[Server]:
    yield from _serve()


def _message() -> Any:
    return build_message(samples.factura(9), "compras@cliente.example", "facturas@andina.example",
                         b"%PDF-1.4", b"<Invoice/>")  # fmt: skip


def test_starttls_with_login_delivers(
    starttls_server: Server, tls_files: tuple[Path, Path]
) -> None:
    """Port 587 style: upgrade, log in, deliver; the server got both attachments."""
    settings = SmtpSettings(port=starttls_server.port, security=SmtpSecurity.STARTTLS,
                            user=USER, password=PASSWORD, cafile=str(tls_files[0]))  # fmt: skip
    send_message(settings, _message())
    ((sender, content),) = starttls_server.inbox.received
    assert sender == "facturas@andina.example"
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    names = sorted(part.get_filename() or "" for part in parsed.walk() if part.get_filename())
    assert names == ["20000000001-01-F001-9.pdf", "20000000001-01-F001-9.xml"]


def test_implicit_tls_with_login_delivers(ssl_server: Server, tls_files: tuple[Path, Path]) -> None:
    """Port 465 style: TLS from the first byte, then the login."""
    settings = SmtpSettings(port=ssl_server.port, security=SmtpSecurity.SSL, user=USER,
                            password=PASSWORD, cafile=str(tls_files[0]))  # fmt: skip
    send_message(settings, _message())
    assert len(ssl_server.inbox.received) == 1


def test_a_wrong_password_names_the_variables(
    starttls_server: Server, tls_files: tuple[Path, Path]
) -> None:
    """A refused login says which settings to check; nothing is delivered."""
    settings = SmtpSettings(port=starttls_server.port, security=SmtpSecurity.STARTTLS,
                            user=USER, password="wrong",  # noqa: S106 - a test value
                            cafile=str(tls_files[0]))  # fmt: skip
    with pytest.raises(MailError, match="FACTURACION_SMTP_PASSWORD"):
        send_message(settings, _message())
    assert starttls_server.inbox.received == []


def test_an_untrusted_certificate_is_refused(starttls_server: Server) -> None:
    """Without the CA, the self-made certificate fails verification: no silent downgrade."""
    settings = SmtpSettings(port=starttls_server.port, security=SmtpSecurity.STARTTLS,
                            user=USER, password=PASSWORD)  # fmt: skip
    with pytest.raises(MailError, match="cannot deliver"):
        send_message(settings, _message())


def test_a_server_without_starttls_is_reported(plain_server: Server) -> None:
    """Asking for STARTTLS where it is not offered names the security setting."""
    settings = SmtpSettings(port=plain_server.port, security=SmtpSecurity.STARTTLS)
    with pytest.raises(MailError, match="FACTURACION_SMTP_SECURITY"):
        send_message(settings, _message())
