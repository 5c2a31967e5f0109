"""Field checks shared by the document model; each raises naming the field it refuses."""

from __future__ import annotations

import re
from collections.abc import Container
from decimal import Decimal
from typing import Final

from facturacion.errors import InvalidDocumentError

_RUC: Final = re.compile(r"(10|15|16|17|20)\d{9}")
_RUC_WEIGHTS: Final = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_SERIES: Final = re.compile(r"[FB][A-Z0-9]{3}")
_OTHER_ID: Final = re.compile(r"[A-Za-z0-9-]{1,15}")
_UNIT_CODE: Final = re.compile(r"[A-Z0-9]{2,3}")
MAX_NUMBER: Final = 99_999_999


def ruc_check_digit(first_ten: str) -> int:
    """Modulus-11 check digit SUNAT uses for the eleventh digit of a RUC."""
    total = sum(int(digit) * weight for digit, weight in zip(first_ten, _RUC_WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def check_ruc(field: str, value: str) -> None:
    if not _RUC.fullmatch(value):
        raise InvalidDocumentError(
            field, f"a RUC has 11 digits starting with 10, 15, 16, 17 or 20, got {value!r}"
        )
    if ruc_check_digit(value[:10]) != int(value[10]):
        raise InvalidDocumentError(field, f"RUC {value} has a wrong check digit; copy it again")


def check_identity(field: str, identity_type: str, value: str) -> None:
    """Validate a customer number by its catálogo 06 type."""
    if identity_type == "6":
        check_ruc(field, value)
    elif identity_type == "1":
        if not re.fullmatch(r"\d{8}", value):
            raise InvalidDocumentError(field, f"a DNI has 8 digits, got {value!r}")
    elif not _OTHER_ID.fullmatch(value):
        raise InvalidDocumentError(
            field, f"use 1 to 15 letters, digits or '-' for this identity type, got {value!r}"
        )


def check_series(field: str, value: str, letter: str) -> None:
    if not _SERIES.fullmatch(value) or not value.startswith(letter):
        raise InvalidDocumentError(
            field,
            f"the series must be {letter} followed by 3 capital letters or digits "
            f"(e.g. {letter}001), got {value!r}",
        )


def check_number(field: str, value: int) -> None:
    if not 1 <= value <= MAX_NUMBER:
        raise InvalidDocumentError(field, f"the number must be 1 to {MAX_NUMBER}, got {value}")


def check_text(field: str, value: str, max_length: int = 500) -> None:
    if not value.strip():
        raise InvalidDocumentError(field, "must not be empty")
    if len(value) > max_length:
        raise InvalidDocumentError(field, f"at most {max_length} characters, got {len(value)}")


def check_positive(field: str, value: Decimal) -> None:
    if not value.is_finite() or value <= 0:
        raise InvalidDocumentError(field, f"must be greater than zero, got {value}")


def check_not_negative(field: str, value: Decimal) -> None:
    if not value.is_finite() or value < 0:
        raise InvalidDocumentError(field, f"must not be negative, got {value}")


def check_unit_code(field: str, value: str) -> None:
    if not _UNIT_CODE.fullmatch(value):
        raise InvalidDocumentError(
            field, f"use a UN/ECE unit code from catálogo 03 (NIU, ZZ, KGM...), got {value!r}"
        )


def check_choice(field: str, value: str, allowed: Container[str], what: str) -> None:
    if value not in allowed:
        raise InvalidDocumentError(field, f"{value!r} is not a {what}")
