"""The INI dialect: RawConfigParser's rules with Supervisor's settings, and line numbers."""

from __future__ import annotations

import configparser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capataz.config import ConfigError
from capataz.config.ini import IniDocument


def _doc(text: str) -> IniDocument:
    document = IniDocument()
    document.read(text, "/etc/s.conf")
    return document


def _stdlib(text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    parser.read_string(text)
    return parser


SAMPLES = [
    "[a]\nx = 1\n",
    "[a]\nx=1 ; comment\ny=bash -c 'a;b' ;c\n",
    "[a]\nx=a;b ;c #d\n",
    "[a]\nx=a#b #c\n",
    "; top\n# top\n[a]\n  ; indented comment\nx: 2\n",
    "[a]\nx = first\n  second\n\n  third\n\n\ny=2\n",
    "[a]\nx=1\n[a]\nx=2\ny=3\n",
    "[DEFAULT]\nd=1\n[a]\nx=1\n[b]\nd=2\n",
    "[A]\nMiXeD=1\n",
    "[a]\nx=\n",
    "[a] trailing\nx=1\n",
    "[a]\nx = 1\n\ty = 2\n",
    "[a]\r\nx=1\r\n",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_same_values_as_rawconfigparser(text: str) -> None:
    """Every section, option and value matches Python's RawConfigParser as Supervisor sets it."""
    document = _doc(text)
    parser = _stdlib(text)
    assert list(document.sections) == parser.sections()
    for section in parser.sections():
        assert document.options(section) == parser.options(section)
        for option in parser.options(section):
            found = document.get(section, option)
            assert found is not None
            assert found.text == parser.get(section, option)


def test_values_remember_their_line() -> None:
    """Each value knows the file and line of its option."""
    document = _doc("[a]\n\nx=1\ny=2\n  more\n")
    assert (document.get("a", "y").line, document.get("a", "y").file) == (4, "/etc/s.conf")  # type: ignore[union-attr]
    assert document.sections["a"].line == 1


def test_option_before_any_section() -> None:
    """An option before the first header is an error at its line."""
    with pytest.raises(ConfigError) as caught:
        _doc("command=x\n[a]\n")
    assert caught.value.line == 1
    assert "[section] header" in caught.value.message


def test_line_without_separator() -> None:
    """A line with neither = nor : is an error naming that line."""
    with pytest.raises(ConfigError) as caught:
        _doc("[a]\nx=1\nthis is not an option\n")
    assert caught.value.line == 3
    assert caught.value.found == "this is not an option"


def test_empty_option_name() -> None:
    """'=value' has no option name and is an error."""
    with pytest.raises(ConfigError, match="neither"):
        _doc("[a]\n=value\n")


def test_second_file_merges() -> None:
    """A second file adds sections and overrides options, as an include does."""
    document = _doc("[a]\nx=1\n")
    document.read("[a]\nx=2\n[b]\ny=1\n", "/etc/more.conf")
    assert document.get("a", "x").text == "2"  # type: ignore[union-attr]
    assert document.get("a", "x").file == "/etc/more.conf"  # type: ignore[union-attr]
    assert list(document.sections) == ["a", "b"]


_LINE_PIECES = st.sampled_from(
    ["[a]", "[b]", "[DEFAULT]", "x", "y", "=", ":", " ", "\t", ";", "#", "1", "v w", "'", "[", "]"]
)
_LINES = st.lists(st.lists(_LINE_PIECES, max_size=6).map("".join), max_size=12).map("\n".join)


@settings(max_examples=500, deadline=None)
@given(_LINES)
def test_generated_text_reads_like_rawconfigparser(text: str) -> None:
    """Any mix of headers, options, comments and indents reads as RawConfigParser reads it."""
    try:
        parser = _stdlib(text)
    except configparser.Error:
        with pytest.raises(ConfigError):
            _doc(text)
        return
    document = _doc(text)
    assert list(document.sections) == parser.sections()
    for section in parser.sections():
        assert document.options(section) == parser.options(section)
        for option in parser.options(section):
            assert document.get(section, option).text == parser.get(section, option)  # type: ignore[union-attr]
