"""File names and the zip SUNAT exchanges: ``RUC-TT-SERIE-NUMERO.zip`` holding one XML."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Final

from facturacion.errors import UnreadableResponseError

BILL_NAME: Final = re.compile(
    r"(?P<ruc>\d{11})-(?P<type>01|03|07|08)-(?P<series>[FB][A-Z0-9]{3})-(?P<number>\d{1,8})"
)
SUMMARY_NAME: Final = re.compile(
    r"(?P<ruc>\d{11})-(?P<type>RC|RA)-(?P<date>\d{8})-(?P<number>\d{1,5})"
)

# Unzipped size we accept from outside: a CDR is a few kB; this refuses zip bombs.
MAX_UNZIPPED: Final = 10 * 1024 * 1024
# A fixed timestamp makes the zip of the same signed XML byte-identical on every resend.
_EPOCH: Final = (2000, 1, 1, 0, 0, 0)


def is_summary(key: str) -> bool:
    return SUMMARY_NAME.fullmatch(key) is not None


def make_zip(key: str, xml: bytes) -> bytes:
    """``key.zip`` holding exactly ``key.xml``, deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(f"{key}.xml", date_time=_EPOCH)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        archive.writestr(info, xml)
    return buffer.getvalue()


@dataclass(frozen=True)
class ZippedXml:
    name: str
    xml: bytes
    entries: tuple[str, ...]


def read_zip(data: bytes, what: str) -> ZippedXml:
    """The one XML file in a zip, skipping directories and SUNAT's ``dummy`` entry."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as error:
        raise UnreadableResponseError(f"{what} is not a zip file: {error}") from error
    with archive:
        names = tuple(info.filename for info in archive.infolist())
        xml_entries = [
            info
            for info in archive.infolist()
            if not info.is_dir() and info.filename.lower().endswith(".xml")
        ]
        if not xml_entries:
            raise UnreadableResponseError(f"{what} holds no XML file (entries: {list(names)})")
        entry = xml_entries[0]
        if entry.file_size > MAX_UNZIPPED:
            raise UnreadableResponseError(
                f"{what}: {entry.filename} is too large to be a SUNAT file"
            )
        try:
            with archive.open(entry) as stream:
                content = stream.read(MAX_UNZIPPED + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise UnreadableResponseError(
                f"{what}: {entry.filename} is corrupt: {error}"
            ) from error
        if len(content) > MAX_UNZIPPED:
            raise UnreadableResponseError(
                f"{what}: {entry.filename} is too large to be a SUNAT file"
            )
        return ZippedXml(entry.filename.rsplit("/", 1)[-1], content, names)
