"""%(name)s expansion: Python's % with a mapping, named specifiers only."""

from __future__ import annotations

import pytest

from capataz.config.expand import expand
from capataz.config.values import BadValue

NAMES = {"program_name": "web", "process_num": 3, "ENV_HOME": "/home/ana"}


def test_plain_text_is_untouched() -> None:
    """A value without % is returned as it is."""
    assert expand("php artisan", NAMES) == "php artisan"


def test_names_widths_and_percent() -> None:
    """Names expand with any conversion; %% is a literal %."""
    assert expand("%(program_name)s_%(process_num)02d", NAMES) == "web_03"
    assert expand("%(ENV_HOME)s/100%%", NAMES) == "/home/ana/100%"


def test_unknown_name_lists_the_allowed_ones() -> None:
    """A name the option does not allow is an error naming the allowed names."""
    with pytest.raises(BadValue) as caught:
        expand("%(group_name)s", NAMES)
    assert "%(group_name)s is not one of them" in caught.value.expected
    assert "%(program_name)s" in caught.value.expected
    assert "ENV_X" in caught.value.expected


def test_unset_environment_variable() -> None:
    """%(ENV_X)s for an unset X says to export it."""
    with pytest.raises(BadValue, match="environment variable NOPE"):
        expand("%(ENV_NOPE)s", NAMES)


@pytest.mark.parametrize("template", ["100%", "%(program_name)d", "%(program_name", "%(a)*d"])
def test_badly_formed(template: str) -> None:
    """A lone %, a wrong conversion or an unclosed name is an error, as in Supervisor."""
    with pytest.raises(BadValue):
        expand(template, NAMES)


@pytest.mark.parametrize("template", ["echo %s", "%d items", "%(program_name)s %s"])
def test_unnamed_specifiers_are_refused(template: str) -> None:
    """%s without a name is refused (Supervisor would paste the whole environment in)."""
    with pytest.raises(BadValue, match="named expansion"):
        expand(template, NAMES)


def test_nested_parentheses_in_a_name() -> None:
    """A name may hold balanced parentheses, as Python's operator allows."""
    assert expand("%(a(b))s", {"a(b)": "x"}) == "x"
