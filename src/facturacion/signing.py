"""Enveloped XMLDSig in ``ext:ExtensionContent``, with python-xmlsec (libxmlsec1).

Why xmlsec and not signxml: xmlsec signs RSA-SHA1 (what SUNAT documents) and RSA-SHA256
through one code path and both verify with the ``xmlsec1`` command-line tool; signxml
refuses SHA1 unless its deprecation guard is overridden, and defaults to C14N 1.1.
Canonicalization is inclusive C14N 1.0, as greenter and SUNAT's examples use.

The signed bytes are produced once and returned as they are: re-serializing (above all
pretty-printing) a signed tree breaks the signature.
"""

from __future__ import annotations

import base64
import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.utils import CryptographyDeprecationWarning
from lxml import etree

from facturacion import xmlsafe
from facturacion.errors import CertificateError, SignatureError
from facturacion.xmlbuild import DS, EXT, SIGNATURE_ID, serialize


class SignatureAlgorithm(StrEnum):
    RSA_SHA1 = "rsa-sha1"
    RSA_SHA256 = "rsa-sha256"


_METHODS = {
    SignatureAlgorithm.RSA_SHA1: (
        xmlsec.constants.TransformRsaSha1,
        xmlsec.constants.TransformSha1,
    ),
    SignatureAlgorithm.RSA_SHA256: (
        xmlsec.constants.TransformRsaSha256,
        xmlsec.constants.TransformSha256,
    ),
}


@dataclass(frozen=True)
class SigningCredentials:
    """An RSA private key and its X.509 certificate, held as unencrypted PEM in memory."""

    key_pem: bytes
    certificate_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem)

    @classmethod
    def from_pfx(cls, data: bytes, password: str | None) -> SigningCredentials:
        secret = password.encode() if password else None
        try:
            key, certificate, _ = pkcs12.load_key_and_certificates(data, secret)
        except ValueError as error:
            raise CertificateError(
                f"cannot open the PFX/P12 file: {error}; check the file and its password"
            ) from error
        if key is None or certificate is None:
            raise CertificateError(
                "the PFX/P12 file must hold both the private key and its certificate"
            )
        return cls._from_objects(key, certificate)

    @classmethod
    def from_pem(
        cls, key_data: bytes, certificate_data: bytes | None = None, password: str | None = None
    ) -> SigningCredentials:
        """A PEM key (maybe encrypted) and its certificate, in one file or two."""
        secret = password.encode() if password else None
        try:
            key = serialization.load_pem_private_key(key_data, secret)
            certificate = x509.load_pem_x509_certificate(certificate_data or key_data)
        except (ValueError, TypeError) as error:
            raise CertificateError(
                f"cannot read the PEM key or certificate: {error}; check the files and the password"
            ) from error
        return cls._from_objects(key, certificate)

    @classmethod
    def load(cls, path: Path, password: str | None = None) -> SigningCredentials:
        """Load a ``.pfx``/``.p12`` file, or a ``.pem`` holding the key and the certificate."""
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CertificateError(f"cannot read the certificate file {path}: {error}") from error
        if b"-----BEGIN" in data:
            return cls.from_pem(data, password=password)
        return cls.from_pfx(data, password)

    @classmethod
    def _from_objects(cls, key: object, certificate: x509.Certificate) -> SigningCredentials:
        if not isinstance(key, rsa.RSAPrivateKey):
            raise CertificateError(
                "SUNAT signatures need an RSA key; this certificate holds another kind"
            )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cls(key_pem, certificate.public_bytes(serialization.Encoding.PEM))


@dataclass(frozen=True)
class SignedXml:
    """The exact bytes to zip and send, and the digest printed on the paper copy."""

    xml: bytes
    digest_value: str
    algorithm: SignatureAlgorithm


class Signer:
    def __init__(
        self,
        credentials: SigningCredentials,
        algorithm: SignatureAlgorithm = SignatureAlgorithm.RSA_SHA1,
        *,
        signature_id: str = SIGNATURE_ID,
    ) -> None:
        self._credentials = credentials
        self.algorithm = algorithm
        self.signature_id = signature_id

    def sign(self, unsigned: bytes) -> SignedXml:
        document = xmlsafe.parse(unsigned, "the document to sign")
        slot = _empty_extension_content(document)
        sign_method, digest_method = _METHODS[self.algorithm]
        signature = xmlsec.template.create(
            document, xmlsec.constants.TransformInclC14N, sign_method, id=self.signature_id, ns="ds"
        )
        slot.append(signature)
        reference = xmlsec.template.add_reference(signature, digest_method, uri="")
        xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
        x509_data = xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
        xmlsec.template.x509_data_add_certificate(x509_data)
        context = xmlsec.SignatureContext()
        try:
            key = xmlsec.Key.from_memory(
                self._credentials.key_pem, xmlsec.constants.KeyDataFormatPem
            )
            key.load_cert_from_memory(
                self._credentials.certificate_pem, xmlsec.constants.KeyDataFormatCertPem
            )
            context.key = key
            context.sign(signature)
        except xmlsec.Error as error:
            raise SignatureError(
                f"signing failed: {error}; check the key matches the certificate"
            ) from error
        signed = serialize(document)
        return SignedXml(signed, digest_value(signed), self.algorithm)


def _empty_extension_content(document: etree._Element) -> etree._Element:
    for slot in document.iter(f"{{{EXT}}}ExtensionContent"):
        if len(slot) == 0:
            return slot
    raise SignatureError("the document has no empty ext:ExtensionContent to hold the signature")


def _signature_node(document: etree._Element) -> etree._Element:
    node = document.find(f".//{{{DS}}}Signature")
    if node is None:
        raise SignatureError("the document carries no ds:Signature")
    return node


def digest_value(signed: bytes) -> str:
    """The ``ds:DigestValue`` of a signed document (the "hash" on the printed copy)."""
    document = xmlsafe.parse(signed, "the signed document")
    value = _signature_node(document).findtext(f".//{{{DS}}}DigestValue")
    if not value:
        raise SignatureError("the signature has no DigestValue")
    return value.strip()


def embedded_certificate(signed: bytes) -> x509.Certificate:
    document = xmlsafe.parse(signed, "the signed document")
    encoded = _signature_node(document).findtext(f".//{{{DS}}}X509Certificate")
    if not encoded:
        raise SignatureError("the signature carries no X509Certificate")
    try:
        with warnings.catch_warnings():
            # Certificates SUNAT-era CAs issued with negative serial numbers are still in
            # use; cryptography warns about them, and we only need their public key.
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return x509.load_der_x509_certificate(base64.b64decode("".join(encoded.split())))
    except ValueError as error:
        raise SignatureError(f"the embedded certificate is unreadable: {error}") from error


def verify(
    signed: bytes, allowed: frozenset[SignatureAlgorithm] | None = None
) -> SignatureAlgorithm:
    """Verify an enveloped signature against the certificate it embeds; return its algorithm.

    This proves integrity, not trust: whether the certificate belongs to the issuer is
    for SUNAT (or the caller) to decide.
    """
    document = xmlsafe.parse(signed, "the signed document")
    signature = _signature_node(document)
    method = signature.find(f"{{{DS}}}SignedInfo/{{{DS}}}SignatureMethod")
    uri = method.get("Algorithm", "") if method is not None else ""
    algorithm = next((a for a in SignatureAlgorithm if uri.endswith(a.value)), None)
    if algorithm is None or (allowed is not None and algorithm not in allowed):
        raise SignatureError(f"signature algorithm {uri or 'missing'} is not accepted")
    certificate = embedded_certificate(signed)
    context = xmlsec.SignatureContext()
    try:
        context.key = xmlsec.Key.from_memory(
            certificate.public_bytes(serialization.Encoding.PEM),
            xmlsec.constants.KeyDataFormatCertPem,
        )
        context.verify(signature)
    except xmlsec.Error as error:
        raise SignatureError(f"the signature does not verify: {error}") from error
    return algorithm
