"""Reading a CDR (constancia de recepción): SUNAT's signed ApplicationResponse.

Namespace-aware but prefix-agnostic (SUNAT, OSEs and greenter's fixtures all use
different prefixes, default namespaces and UBL 2.0/2.1), any declared encoding
(SUNAT's are usually ISO-8859-1). The raw zip is kept as received.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from facturacion import xmlsafe
from facturacion.errors import UnreadableResponseError
from facturacion.packaging import read_zip

_NOTE: re.Pattern[str] = re.compile(r"^\s*(\d{1,4})\s*-\s*(.*)$", re.DOTALL)


@dataclass(frozen=True)
class CdrNote:
    """An observation (``cbc:Note``), usually ``"4252 - text"``."""

    code: int | None
    text: str


@dataclass(frozen=True)
class Cdr:
    response_code: int
    description: str
    reference_id: str | None
    notes: tuple[CdrNote, ...]
    document_description: str | None  # e.g. the QR URL SUNAT returns for a guía
    xml: bytes
    zip_bytes: bytes | None = None  # as received, when the CDR came zipped
    file_name: str | None = None

    @property
    def observations(self) -> tuple[int, ...]:
        return tuple(note.code for note in self.notes if note.code is not None)


def read_cdr_zip(data: bytes) -> Cdr:
    zipped = read_zip(data, "the CDR zip")
    cdr = read_cdr_xml(zipped.xml)
    return Cdr(
        cdr.response_code,
        cdr.description,
        cdr.reference_id,
        cdr.notes,
        cdr.document_description,
        cdr.xml,
        zip_bytes=data,
        file_name=zipped.name,
    )


def read_cdr_xml(xml: bytes) -> Cdr:
    root = xmlsafe.parse(xml, "the CDR")
    if xmlsafe.local_name(root) != "ApplicationResponse":
        raise UnreadableResponseError(
            f"expected a CDR (ApplicationResponse), got a {xmlsafe.local_name(root)} document"
        )
    response = xmlsafe.find_local(root, "DocumentResponse", "Response")
    if response is None:
        raise UnreadableResponseError("the CDR has no DocumentResponse/Response")
    code_text = xmlsafe.text_of(response, "ResponseCode")
    if code_text is None or not code_text.isdigit():
        raise UnreadableResponseError(f"the CDR's ResponseCode is not a number: {code_text!r}")
    notes = tuple(
        _note(node.text or "")
        for node in root
        if isinstance(node.tag, str) and xmlsafe.local_name(node) == "Note"
    )
    return Cdr(
        response_code=int(code_text),
        description=xmlsafe.text_of(response, "Description") or "",
        reference_id=xmlsafe.text_of(response, "ReferenceID"),
        notes=notes,
        document_description=xmlsafe.text_of(
            root, "DocumentResponse", "DocumentReference", "DocumentDescription"
        ),
        xml=xml,
    )


def _note(text: str) -> CdrNote:
    match = _NOTE.match(text)
    if match is None:
        return CdrNote(None, text.strip())
    return CdrNote(int(match.group(1)), match.group(2).strip())
