"""Every real CDR fixture parses to the right code, notes and outcome."""

from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from facturacion.cdr import Cdr, read_cdr_xml, read_cdr_zip
from facturacion.errors import UnreadableResponseError
from facturacion.outcome import Outcome, classify
from facturacion.packaging import make_zip

FIXTURES = Path(__file__).parents[2] / "fixtures" / "facturacion" / "sunat" / "cdr"


def load(name: str) -> Cdr:
    data = (FIXTURES / name).read_bytes()
    return read_cdr_zip(data) if name.endswith(".zip") else read_cdr_xml(data)


def outcome_of(cdr: Cdr) -> Outcome:
    return classify(code=cdr.response_code, observations=len(cdr.notes))


@pytest.mark.parametrize(
    ("name", "code", "reference", "notes", "outcome"),
    [
        ("R-20600995805-01-F001-1.xml", 0, "F001-1", (), Outcome.ACCEPTED),
        ("R-20600995805-01-F001-3.xml", 0, "F001-1", (4031, 4001), Outcome.OBSERVED),
        ("R-20000000001-09-T001-1.xml", 0, "T001-1", (4398,), Outcome.OBSERVED),
        ("efact_cdr1.xml", 0, "F001-1", (), Outcome.ACCEPTED),
        ("cdr-rechazo.zip", 109, "F001-2", (), Outcome.TRANSIENT),
        ("cdrBaja.zip", 0, "RA-20171001-1", (), Outcome.ACCEPTED),
        ("cdrGRE.zip", 0, "T001-1", (4398,), Outcome.OBSERVED),
    ],
)
def test_fixture_cdrs_parse_to_the_right_outcome(
    name: str, code: int, reference: str, notes: tuple[int, ...], outcome: Outcome
) -> None:
    """Prefixed, default-namespace, UBL 2.0/2.1, zipped or bare: code, notes and outcome."""
    cdr = load(name)
    assert cdr.response_code == code
    assert cdr.reference_id == reference
    assert cdr.observations == notes
    assert outcome_of(cdr) is outcome


def test_zipped_cdr_is_kept_as_received_and_decoded_from_latin1() -> None:
    """The raw zip is kept byte for byte; ISO-8859-1 text decodes (Comunicación)."""
    raw = (FIXTURES / "cdrBaja.zip").read_bytes()
    cdr = read_cdr_zip(raw)
    assert cdr.zip_bytes == raw
    assert cdr.file_name == "R-20600995805-RA-20171001-1.xml"
    assert cdr.description == "La Comunicación de baja RA-20171001-1, ha sido aceptada"


def test_note_texts_and_document_description_are_read() -> None:
    """Notes split into code and text; a guía's QR URL is exposed."""
    cdr = load("R-20000000001-09-T001-1.xml")
    assert cdr.notes[0].text.startswith("El Número de placa no se encuentra")
    assert cdr.document_description is not None
    assert cdr.document_description.startswith("https://e-factura.sunat.gob.pe/")
    rejected = load("cdr-rechazo.zip")
    assert rejected.description == "El sistema no pudo procesar su solicitud"
    assert rejected.file_name == "R-20600995805-01-F001-2.xml"


@pytest.mark.parametrize(
    ("name", "root"),
    [
        ("20000000001-RC-20171119-001.xml", "SummaryDocuments"),
        ("20600995805-RA-20170719-01.xml", "VoidedDocuments"),
        ("20600055519-01-F001-00000001.xml", "Invoice"),
    ],
)
def test_documents_that_are_not_cdrs_are_refused_by_name(name: str, root: str) -> None:
    """The fixtures' signed documents are not CDRs; the reader says what it got instead."""
    with pytest.raises(UnreadableResponseError, match=f"got a {root} document"):
        load(name)


def test_free_text_notes_keep_their_text() -> None:
    """A note without a leading code is kept with code None."""
    xml = (
        b"<ApplicationResponse"
        b' xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"'
        b' xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"'
        b' xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2">'
        b"<cbc:Note>sin codigo</cbc:Note><cac:DocumentResponse><cac:Response>"
        b"<cbc:ResponseCode>2800</cbc:ResponseCode></cac:Response></cac:DocumentResponse>"
        b"</ApplicationResponse>"
    )
    cdr = read_cdr_xml(xml)
    assert cdr.notes[0].code is None
    assert cdr.notes[0].text == "sin codigo"
    assert cdr.observations == ()
    assert outcome_of(cdr) is Outcome.REJECTED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a zip"),
        (b"not a zip", "not a zip"),
        (make_zip("x", b"<a/>").replace(b"x.xml", b"x.txt"), "no XML file"),
        (make_zip("x", b"<a>"), "not well-formed"),
        (make_zip("x", b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'), "DOCTYPE"),
        (make_zip("x", b"<ApplicationResponse/>"), "no DocumentResponse"),
    ],
)
def test_unreadable_cdrs_raise_a_clear_error(data: bytes, message: str) -> None:
    """Garbage, empty zips, entity bombs and CDRs without a response are refused cleanly."""
    with pytest.raises(UnreadableResponseError, match=message):
        read_cdr_zip(data)


def test_non_numeric_response_code_is_refused() -> None:
    """A ResponseCode that is not a number cannot be classified; the reader says so."""
    xml = (
        b"<ApplicationResponse><DocumentResponse><Response><ResponseCode>OK</ResponseCode>"
        b"</Response></DocumentResponse></ApplicationResponse>"
    )
    with pytest.raises(UnreadableResponseError, match="not a number"):
        read_cdr_xml(xml)


def test_oversized_zip_entries_are_refused() -> None:
    """A zip whose XML inflates past 10 MB is refused (zip bombs)."""
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("R-big.xml", b"<a>" + b" " * (11 * 1024 * 1024) + b"</a>")
    with pytest.raises(UnreadableResponseError, match="too large"):
        read_cdr_zip(buffer.getvalue())
