"""SOAP 1.1 envelopes for billService/billConsultService, and reading their answers.

Three tiny operations do not need a WSDL-driven client: the envelopes are built with
lxml (so the password is escaped), the bundled WSDLs document the contract. Operation
elements are in ``http://service.sunat.gob.pe``; their children are unqualified.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Final

from lxml import etree

from facturacion import xmlsafe
from facturacion.errors import SunatFaultError, UnreadableResponseError

SOAP_ENV: Final = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE: Final = "http://service.sunat.gob.pe"
WSSE: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_WSS_PROFILE_URI: Final = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
)
PLAIN_TEXT_URI: Final = f"{_WSS_PROFILE_URI}#PasswordText"
CONTENT_TYPE: Final = "text/xml; charset=utf-8"

_CODE_IN_FAULTCODE: Final = re.compile(r"\.(\d{1,4})\s*$")
_CODE_LEADING_FAULTSTRING: Final = re.compile(r"^\s*(\d{1,4})(?:\s|$|[-:.])")


def wsdl_text(name: str) -> str:
    """A bundled WSDL/XSD (``billService.wsdl``, ``billConsultService.wsdl``...)."""
    return resources.files("facturacion").joinpath("wsdl", name).read_text(encoding="utf-8")


def envelope(operation: str, username: str, password: str, fields: dict[str, str]) -> bytes:
    nsmap = {"soapenv": SOAP_ENV, "ser": SERVICE, "wsse": WSSE}
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=nsmap)
    header = etree.SubElement(root, f"{{{SOAP_ENV}}}Header")
    security = etree.SubElement(header, f"{{{WSSE}}}Security")
    token = etree.SubElement(security, f"{{{WSSE}}}UsernameToken")
    etree.SubElement(token, f"{{{WSSE}}}Username").text = username
    secret = etree.SubElement(token, f"{{{WSSE}}}Password", Type=PLAIN_TEXT_URI)
    secret.text = password
    body = etree.SubElement(root, f"{{{SOAP_ENV}}}Body")
    call = etree.SubElement(body, f"{{{SERVICE}}}{operation}")
    for name, value in fields.items():
        etree.SubElement(call, name).text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def soap_action(operation: str) -> str:
    return f"urn:{operation}"


def fault_code(faultcode: str, faultstring: str) -> int | None:
    """SUNAT's code: digits after the dot of ``faultcode``, else leading digits of the string."""
    match = _CODE_IN_FAULTCODE.search(faultcode) or _CODE_LEADING_FAULTSTRING.match(faultstring)
    return int(match.group(1)) if match else None


def read_answer(body: bytes, operation: str, http_status: int) -> etree._Element:
    """The ``<operation>Response`` element, or raise the SOAP fault it carries."""
    root = xmlsafe.parse(body, f"SUNAT's {operation} answer")
    if xmlsafe.local_name(root) != "Envelope":
        raise UnreadableResponseError(f"SUNAT's {operation} answer is not a SOAP envelope")
    first = xmlsafe.first_element(xmlsafe.find_local(root, "Body"))
    if first is None:
        raise UnreadableResponseError(f"SUNAT's {operation} answer has an empty SOAP body")
    if xmlsafe.local_name(first) == "Fault":
        faultcode = xmlsafe.text_of(first, "faultcode") or ""
        faultstring = xmlsafe.text_of(first, "faultstring") or ""
        detail = xmlsafe.text_of(first, "detail", "message")
        message = faultstring if not detail else f"{faultstring} ({detail})"
        raise SunatFaultError(fault_code(faultcode, faultstring), message, http_status)
    if xmlsafe.local_name(first) != f"{operation}Response":
        raise UnreadableResponseError(
            f"expected {operation}Response from SUNAT, got {xmlsafe.local_name(first)}"
        )
    return first


def fault_envelope(faultcode: str, faultstring: str) -> bytes:
    """A SOAP 1.1 fault, as SUNAT (and the simulator) sends it."""
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap-env": SOAP_ENV})
    body = etree.SubElement(root, f"{{{SOAP_ENV}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = faultcode
    etree.SubElement(fault, "faultstring").text = faultstring
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def response_envelope(operation: str, fields: dict[str, str | dict[str, str]]) -> bytes:
    """A successful ``<br:operationResponse>``; a dict value becomes a nested element."""
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap-env": SOAP_ENV, "br": SERVICE})
    body = etree.SubElement(root, f"{{{SOAP_ENV}}}Body")
    answer = etree.SubElement(body, f"{{{SERVICE}}}{operation}Response")
    for name, value in fields.items():
        child = etree.SubElement(answer, name)
        if isinstance(value, dict):
            for inner, text in value.items():
                etree.SubElement(child, inner).text = text
        else:
            child.text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
