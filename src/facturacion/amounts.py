"""Money: rounding as SUNAT validates it, the XML text of an amount, and amounts in words.

SUNAT checks totals to two decimals with half-up rounding; unit values may carry up to
ten decimals. Every amount is a ``Decimal`` from the caller to the XML.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from facturacion.catalogs import CURRENCIES

CENT: Final = Decimal("0.01")
UNIT_PLACES: Final = 10


def money(value: Decimal) -> Decimal:
    """Round to cents, half up (what SUNAT's arithmetic checks assume)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_text(value: Decimal) -> str:
    """An amount as the XML writes it: always two decimals, never an exponent."""
    return f"{money(value):.2f}"


def unit_text(value: Decimal) -> str:
    """A unit value or quantity: up to ten decimals, at least two, no exponent."""
    rounded = value.quantize(Decimal(1).scaleb(-UNIT_PLACES), rounding=ROUND_HALF_UP)
    text = f"{rounded:f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


_UNITS: Final = (
    "CERO", "UNO", "DOS", "TRES", "CUATRO", "CINCO", "SEIS", "SIETE", "OCHO", "NUEVE",
    "DIEZ", "ONCE", "DOCE", "TRECE", "CATORCE", "QUINCE", "DIECISÉIS", "DIECISIETE",
    "DIECIOCHO", "DIECINUEVE", "VEINTE", "VEINTIUNO", "VEINTIDÓS", "VEINTITRÉS",
    "VEINTICUATRO", "VEINTICINCO", "VEINTISÉIS", "VEINTISIETE", "VEINTIOCHO", "VEINTINUEVE",
)  # fmt: skip
_TENS: Final = ("", "", "", "TREINTA", "CUARENTA", "CINCUENTA", "SESENTA", "SETENTA",
                "OCHENTA", "NOVENTA")  # fmt: skip
_HUNDREDS: Final = ("", "CIENTO", "DOSCIENTOS", "TRESCIENTOS", "CUATROCIENTOS", "QUINIENTOS",
                    "SEISCIENTOS", "SETECIENTOS", "OCHOCIENTOS", "NOVECIENTOS")  # fmt: skip


def _below_thousand(number: int) -> str:
    if number == 100:
        return "CIEN"
    hundreds, rest = divmod(number, 100)
    words = [_HUNDREDS[hundreds]] if hundreds else []
    if rest >= 30:
        tens, units = divmod(rest, 10)
        words.append(_TENS[tens] + (f" Y {_UNITS[units]}" if units else ""))
    elif rest:
        words.append(_UNITS[rest])
    return " ".join(words)


def _apocopate(words: str) -> str:
    """'UNO' becomes 'UN' before a noun: 'VEINTIÚN MIL', 'UN MILLÓN'."""
    if words.endswith("VEINTIUNO"):
        return words[: -len("VEINTIUNO")] + "VEINTIÚN"
    if words.endswith("UNO"):
        return words[:-1]
    return words


def integer_in_words(number: int) -> str:
    """Spanish words for 0 <= number < 10**12, as Peruvian receipts print them."""
    if not 0 <= number < 10**12:
        raise ValueError(f"amount in words supports 0 to 999999999999, got {number}")
    if number == 0:
        return "CERO"
    millions, below_million = divmod(number, 1_000_000)
    thousands, units = divmod(below_million, 1000)
    parts: list[str] = []
    if millions == 1:
        parts.append("UN MILLÓN")
    elif millions:
        parts.append(f"{_apocopate(integer_in_words(millions))} MILLONES")
    if thousands == 1:
        parts.append("MIL")
    elif thousands:
        parts.append(f"{_apocopate(_below_thousand(thousands))} MIL")
    if units:
        parts.append(_below_thousand(units))
    return " ".join(parts)


def amount_in_words(amount: Decimal, currency: str) -> str:
    """The legend 1000 text: ``SON: CIENTO DIECIOCHO CON 50/100 SOLES``."""
    rounded = money(amount)
    whole = int(rounded)
    cents = int((rounded - whole) * 100)
    currency_words = CURRENCIES.get(currency, currency)
    return f"SON: {integer_in_words(whole)} CON {cents:02d}/100 {currency_words}"
