"""Signatures: every document type signed with both algorithms verifies with xmlsec1."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from facturacion import samples, signing, ubl
from facturacion.errors import CertificateError, SignatureError
from facturacion.signing import SignatureAlgorithm, Signer, SigningCredentials

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

DOCUMENTS: dict[str, Callable[[], object]] = {
    "factura": samples.factura,
    "factura-credito": samples.factura_credito,
    "factura-obsequio": samples.factura_con_obsequio,
    "boleta": samples.boleta,
    "nota-credito": samples.nota_credito,
    "nota-debito": samples.nota_debito,
    "resumen-diario": samples.resumen_diario,
    "comunicacion-baja": samples.comunicacion_baja,
}


@pytest.fixture(scope="module")
def xmlsec1() -> str:
    found = shutil.which("xmlsec1")
    if found:
        return found
    reason = "the xmlsec1 command (Debian package xmlsec1) is not installed"
    if IN_CI:
        pytest.fail(f"{reason}; CI must install it")
    pytest.skip(reason)
    raise AssertionError("unreachable")  # pragma: no cover - skip raises


@pytest.mark.parametrize("algorithm", list(SignatureAlgorithm))
@pytest.mark.parametrize("kind", list(DOCUMENTS))
def test_signed_documents_verify_with_the_xmlsec1_cli(
    kind: str,
    algorithm: SignatureAlgorithm,
    credentials: SigningCredentials,
    xmlsec1: str,
    tmp_path: Path,
) -> None:
    """The independent xmlsec1 tool verifies our signature and rejects a tampered copy."""
    signed = Signer(credentials, algorithm).sign(ubl.render(DOCUMENTS[kind]()))
    cert = tmp_path / "cert.pem"
    cert.write_bytes(credentials.certificate_pem)
    document = tmp_path / "signed.xml"
    document.write_bytes(signed.xml)
    result = subprocess.run(
        [xmlsec1, "--verify", "--trusted-pem", str(cert), str(document)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout + result.stderr
    uri = {
        SignatureAlgorithm.RSA_SHA1: "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        SignatureAlgorithm.RSA_SHA256: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    }[algorithm]
    assert f'<ds:SignatureMethod Algorithm="{uri}"/>'.encode() in signed.xml
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(signed.xml.replace(b"DISTRIBUIDORA", b"DISTRIBUIDORX", 1))
    result = subprocess.run(
        [xmlsec1, "--verify", "--trusted-pem", str(cert), str(tampered)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0


@pytest.mark.parametrize("algorithm", list(SignatureAlgorithm))
def test_signature_sits_in_extension_content_with_the_certificate(
    algorithm: SignatureAlgorithm, credentials: SigningCredentials
) -> None:
    """The ds:Signature (Id SignatureSP) fills the empty ExtensionContent and embeds the cert."""
    signed = Signer(credentials, algorithm).sign(ubl.render(samples.factura()))
    assert signing.verify(signed.xml) is algorithm
    assert b'<ext:ExtensionContent><ds:Signature Id="SignatureSP">' in signed.xml
    assert signing.embedded_certificate(signed.xml) == credentials.certificate
    assert signed.digest_value == signing.digest_value(signed.xml)
    assert f"<ds:DigestValue>{signed.digest_value}</ds:DigestValue>".encode() in signed.xml


def test_verify_rejects_tampering_and_disallowed_algorithms(
    credentials: SigningCredentials,
) -> None:
    """A changed amount fails verification; an algorithm outside the allow-list is refused."""
    signed = Signer(credentials, SignatureAlgorithm.RSA_SHA1).sign(ubl.render(samples.factura()))
    with pytest.raises(SignatureError, match="does not verify"):
        signing.verify(signed.xml.replace(b"3829.98", b"3829.99"))
    with pytest.raises(SignatureError, match="not accepted"):
        signing.verify(signed.xml, allowed=frozenset({SignatureAlgorithm.RSA_SHA256}))
    unsigned = ubl.render(samples.factura())
    with pytest.raises(SignatureError, match="no ds:Signature"):
        signing.verify(unsigned)
    with pytest.raises(SignatureError, match="no empty ext:ExtensionContent"):
        Signer(credentials).sign(signed.xml)


def test_credentials_load_from_pfx_and_pem_with_password(
    credentials: SigningCredentials, tmp_path: Path
) -> None:
    """A PFX/P12 with its password, an encrypted PEM, or a key+cert PEM all give the same signer."""
    key = serialization.load_pem_private_key(credentials.key_pem, None)
    cert = credentials.certificate
    pfx = pkcs12.serialize_key_and_certificates(
        b"andina",
        key,
        cert,
        None,
        serialization.BestAvailableEncryption(b"s3cret"),  # type: ignore[arg-type]
    )
    (tmp_path / "cert.pfx").write_bytes(pfx)
    loaded = SigningCredentials.load(tmp_path / "cert.pfx", "s3cret")
    assert loaded.certificate == cert
    with pytest.raises(CertificateError, match="password"):
        SigningCredentials.load(tmp_path / "cert.pfx", "wrong")
    encrypted = key.private_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret"),
    )
    (tmp_path / "both.pem").write_bytes(encrypted + credentials.certificate_pem)
    from_pem = SigningCredentials.load(tmp_path / "both.pem", "s3cret")
    signed = Signer(from_pem).sign(ubl.render(samples.boleta()))
    assert signing.verify(signed.xml) is SignatureAlgorithm.RSA_SHA1
    with pytest.raises(CertificateError, match="password"):
        SigningCredentials.from_pem(encrypted, credentials.certificate_pem, "wrong")
    with pytest.raises(CertificateError, match="cannot read the certificate file"):
        SigningCredentials.load(tmp_path / "missing.pfx")


def test_pfx_without_key_is_refused(credentials: SigningCredentials) -> None:
    """A PFX holding only a certificate cannot sign; the message says what is missing."""
    only_cert = pkcs12.serialize_key_and_certificates(
        b"x", None, None, [credentials.certificate], serialization.NoEncryption()
    )
    with pytest.raises(CertificateError, match="both the private key"):
        SigningCredentials.from_pfx(only_cert, None)


def test_non_rsa_keys_are_refused(credentials: SigningCredentials) -> None:
    """SUNAT signatures are RSA; an EC key is refused before signing."""
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(CertificateError, match="RSA"):
        SigningCredentials.from_pem(ec_pem, credentials.certificate_pem)


def test_mismatched_key_and_certificate_fail_to_sign(credentials: SigningCredentials) -> None:
    """A key that does not match its certificate is caught at signing, not at SUNAT."""
    other = samples.self_signed_credentials(key_size=1024)
    mixed = SigningCredentials(other.key_pem, b"not a certificate")
    with pytest.raises(SignatureError, match="signing failed"):
        Signer(mixed).sign(ubl.render(samples.factura()))
    assert credentials.key_pem != other.key_pem


FIXTURES = Path(__file__).parents[2] / "fixtures" / "facturacion" / "sunat"


@pytest.mark.parametrize(
    ("name", "digest"),
    [
        ("cdr/20600995805-RA-20170719-01.xml", "WJpLoHEPpoMEoN9TPNjSYtZP8P0="),
        ("cdr/20600055519-01-F001-00000001.xml", "+aa1QPl9pxlaCSSiT1kBY8s74fw="),
    ],
)
def test_real_world_signatures_verify(name: str, digest: str) -> None:
    """Documents signed by other systems (ISO-8859-1, RSA-SHA1, negative-serial cert) verify."""
    data = (FIXTURES / name).read_bytes()
    assert signing.verify(data) is SignatureAlgorithm.RSA_SHA1
    assert signing.digest_value(data) == digest


@pytest.mark.parametrize(
    "name", ["cdr/20000000001-RC-20171119-001.xml", "documents/20505310072-01-F001-00019772.xml"]
)
def test_fixtures_edited_after_signing_fail_as_xmlsec1_says(name: str) -> None:
    """Two fixtures were reformatted after signing; xmlsec1 rejects them, and so do we."""
    with pytest.raises(SignatureError, match="does not verify"):
        signing.verify((FIXTURES / name).read_bytes())
