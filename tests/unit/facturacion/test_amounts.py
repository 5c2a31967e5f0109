"""Amounts: SUNAT's half-up cents, the XML text of amounts, and the legend in words."""

from __future__ import annotations

from decimal import Decimal

import pytest

from facturacion.amounts import amount_in_words, integer_in_words, money, money_text, unit_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2.345", "2.35"), ("2.344", "2.34"), ("-2.345", "-2.35"), ("0.005", "0.01"), ("7", "7.00")],
)
def test_money_rounds_half_up_to_cents(value: str, expected: str) -> None:
    """Half-up, not banker's rounding: 2.345 is 2.35 as SUNAT's checks compute it."""
    assert money_text(Decimal(value)) == expected
    assert money(Decimal(value)) == Decimal(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", "1.00"), ("4.2373", "4.2373"), ("12.345678901234", "12.3456789012"), ("1E+2", "100.00")],
)
def test_unit_values_keep_up_to_ten_decimals(value: str, expected: str) -> None:
    """Unit values keep their precision (max 10 decimals) and never print an exponent."""
    assert unit_text(Decimal(value)) == expected


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "CERO"),
        (1, "UNO"),
        (15, "QUINCE"),
        (16, "DIECISÉIS"),
        (21, "VEINTIUNO"),
        (22, "VEINTIDÓS"),
        (31, "TREINTA Y UNO"),
        (100, "CIEN"),
        (101, "CIENTO UNO"),
        (118, "CIENTO DIECIOCHO"),
        (500, "QUINIENTOS"),
        (1000, "MIL"),
        (1001, "MIL UNO"),
        (21000, "VEINTIÚN MIL"),
        (31000, "TREINTA Y UN MIL"),
        (100000, "CIEN MIL"),
        (101000, "CIENTO UN MIL"),
        (1_000_000, "UN MILLÓN"),
        (2_000_000, "DOS MILLONES"),
        (21_000_000, "VEINTIÚN MILLONES"),
        (1_234_567, "UN MILLÓN DOSCIENTOS TREINTA Y CUATRO MIL QUINIENTOS SESENTA Y SIETE"),
    ],
)
def test_integer_in_words(number: int, words: str) -> None:
    """Spanish numerals with the apocope before MIL and MILLONES (VEINTIÚN MIL, UN MILLÓN)."""
    assert integer_in_words(number) == words


def test_amount_in_words_has_cents_and_currency() -> None:
    """The legend reads 'SON: <words> CON <cents>/100 <currency>'."""
    assert amount_in_words(Decimal("118.50"), "PEN") == "SON: CIENTO DIECIOCHO CON 50/100 SOLES"
    assert amount_in_words(Decimal("0.999"), "USD") == "SON: UNO CON 00/100 DÓLARES AMERICANOS"


def test_amount_in_words_refuses_out_of_range() -> None:
    """A negative or trillion-sized amount is refused with the supported range."""
    with pytest.raises(ValueError, match="0 to 999999999999"):
        integer_in_words(-1)
