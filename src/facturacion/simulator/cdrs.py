"""CDR zips shaped like SUNAT's: ``dummy/`` plus ``R-<name>.xml``, ISO-8859-1, signed."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from typing import Final

from lxml import etree

from facturacion.signing import Signer
from facturacion.xmlbuild import PREFIXES, sub

_APPLICATION_RESPONSE: Final = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
SUNAT_RUC: Final = "20131312955"

_DOCUMENT_NAMES: Final = {
    "01": "La Factura",
    "03": "La Boleta de Venta",
    "07": "La Nota de Credito",
    "08": "La Nota de Debito",
    "RC": "El Resumen diario",
    "RA": "La Comunicación de baja",
}


@dataclass(frozen=True)
class Verdict:
    """What the simulator decided about one document."""

    code: int
    description: str
    notes: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.code == 0 or self.code >= 4000


def accepted_text(document_type: str, document_id: str) -> str:
    name = _DOCUMENT_NAMES.get(document_type, "El comprobante")
    return f"{name} numero {document_id}, ha sido aceptada"


def build_cdr_zip(
    name: str,
    *,
    issuer_ruc: str,
    document_id: str,
    verdict: Verdict,
    customer: str | None,
    signer: Signer | None,
    now: dt.datetime,
) -> bytes:
    nsmap = {"ar": _APPLICATION_RESPONSE, **{k: PREFIXES[k] for k in ("cac", "cbc", "ds", "ext")}}
    root = etree.Element(f"{{{_APPLICATION_RESPONSE}}}ApplicationResponse", nsmap=nsmap)
    extension = sub(sub(root, "ext:UBLExtensions"), "ext:UBLExtension")
    sub(extension, "ext:ExtensionContent")
    sub(root, "cbc:UBLVersionID", "2.0")
    sub(root, "cbc:CustomizationID", "1.0")
    sub(root, "cbc:ID", now.strftime("%Y%m%d%H%M%S%f"))
    for tag in ("IssueDate", "ResponseDate"):
        sub(root, f"cbc:{tag}", now.date().isoformat())
    for tag in ("IssueTime", "ResponseTime"):
        sub(root, f"cbc:{tag}", now.strftime("%H:%M:%S"))
    for note in verdict.notes:
        sub(root, "cbc:Note", note)
    signature = sub(root, "cac:Signature")
    sub(signature, "cbc:ID", "SignSUNAT")
    party = sub(signature, "cac:SignatoryParty")
    sub(sub(party, "cac:PartyIdentification"), "cbc:ID", SUNAT_RUC)
    sub(sub(party, "cac:PartyName"), "cbc:Name", "SUNAT")
    attachment = sub(signature, "cac:DigitalSignatureAttachment")
    sub(sub(attachment, "cac:ExternalReference"), "cbc:URI", "#SignSUNAT")
    sub(sub(sub(root, "cac:SenderParty"), "cac:PartyIdentification"), "cbc:ID", SUNAT_RUC)
    sub(sub(sub(root, "cac:ReceiverParty"), "cac:PartyIdentification"), "cbc:ID", issuer_ruc)
    document_response = sub(root, "cac:DocumentResponse")
    response = sub(document_response, "cac:Response")
    sub(response, "cbc:ReferenceID", document_id)
    sub(response, "cbc:ResponseCode", str(verdict.code))
    sub(response, "cbc:Description", verdict.description)
    sub(sub(document_response, "cac:DocumentReference"), "cbc:ID", document_id)
    if customer:
        recipient = sub(document_response, "cac:RecipientParty")
        sub(sub(recipient, "cac:PartyIdentification"), "cbc:ID", customer)
    xml = _latin1(root)
    if signer is not None:
        # Re-encoding keeps the signature valid: C14N digests the parsed text, not bytes.
        xml = _latin1(etree.fromstring(signer.sign(xml).xml))
    return _zip(f"R-{name}.xml", xml)


def _latin1(root: etree._Element) -> bytes:
    """SUNAT's CDRs are ISO-8859-1; so are ours, to exercise readers honestly."""
    data = etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1")
    return data if isinstance(data, bytes) else data.encode("latin-1")


def _zip(entry: str, xml: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("dummy/"), b"")
        archive.writestr(entry, xml)
    return buffer.getvalue()
