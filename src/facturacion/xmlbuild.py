"""Namespaces and the small element helpers every UBL builder shares."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from lxml import etree

from facturacion.amounts import money_text
from facturacion.catalogs import Tributo
from facturacion.model import Issuer

CAC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
EXT: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
DS: Final = "http://www.w3.org/2000/09/xmldsig#"
SAC: Final = "urn:sunat:names:specification:ubl:peru:schema:xsd:SunatAggregateComponents-1"

PREFIXES: Final = {"cac": CAC, "cbc": CBC, "ext": EXT, "ds": DS, "sac": SAC}

# The ds:Signature Id; cac:Signature points at it with "#SignatureSP".
SIGNATURE_ID: Final = "SignatureSP"


def qname(prefixed: str) -> str:
    prefix, _, local = prefixed.partition(":")
    return f"{{{PREFIXES[prefix]}}}{local}"


def root(namespace: str, local_name: str) -> etree._Element:
    """A document root whose default namespace is ``namespace``, with the usual prefixes."""
    # lxml takes None for the default namespace; its stubs only allow str keys.
    nsmap: dict[Any, str] = {None: namespace}
    nsmap.update(PREFIXES)
    return etree.Element(f"{{{namespace}}}{local_name}", nsmap=nsmap)


def sub(
    parent: etree._Element, prefixed: str, text: str | None = None, **attributes: str
) -> etree._Element:
    element = etree.SubElement(parent, qname(prefixed), attributes)
    if text is not None:
        element.text = text
    return element


def amount(parent: etree._Element, prefixed: str, value: Decimal, currency: str) -> None:
    sub(parent, prefixed, money_text(value), currencyID=currency)


def extension_slot(document: etree._Element) -> None:
    """The empty ``ext:ExtensionContent`` the signature goes into."""
    extensions = sub(document, "ext:UBLExtensions")
    sub(sub(extensions, "ext:UBLExtension"), "ext:ExtensionContent")


def signature_reference(document: etree._Element, issuer: Issuer) -> None:
    """``cac:Signature``: who signed, and where the ds:Signature is."""
    signature = sub(document, "cac:Signature")
    sub(signature, "cbc:ID", issuer.ruc)
    party = sub(signature, "cac:SignatoryParty")
    sub(sub(party, "cac:PartyIdentification"), "cbc:ID", issuer.ruc)
    sub(sub(party, "cac:PartyName"), "cbc:Name", issuer.legal_name)
    attachment = sub(signature, "cac:DigitalSignatureAttachment")
    sub(sub(attachment, "cac:ExternalReference"), "cbc:URI", f"#{SIGNATURE_ID}")


def tax_scheme(parent: etree._Element, tributo: Tributo) -> None:
    scheme = sub(parent, "cac:TaxScheme")
    sub(scheme, "cbc:ID", tributo.code)
    sub(scheme, "cbc:Name", tributo.name)
    sub(scheme, "cbc:TaxTypeCode", tributo.type_code)


def summary_supplier(document: etree._Element, issuer: Issuer) -> None:
    """The UBL 2.0 supplier block RC and RA use."""
    supplier = sub(document, "cac:AccountingSupplierParty")
    sub(supplier, "cbc:CustomerAssignedAccountID", issuer.ruc)
    sub(supplier, "cbc:AdditionalAccountID", "6")
    legal = sub(sub(supplier, "cac:Party"), "cac:PartyLegalEntity")
    sub(legal, "cbc:RegistrationName", issuer.legal_name)


def serialize(document: etree._Element) -> bytes:
    """UTF-8 bytes with a declaration; never pretty-printed (signatures depend on it)."""
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8")
