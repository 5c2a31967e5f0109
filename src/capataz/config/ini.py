"""The INI dialect of supervisor.conf, read line by line with line numbers kept.

Supervisor reads its files with Python's ``RawConfigParser`` configured with
``inline_comment_prefixes=(';', '#')`` and ``strict=False``. This module reads
the same dialect with the same rules, and remembers where every value was
written so that errors can point at the line:

* a line whose first non-blank character is ``;`` or ``#`` is a comment;
* ``;`` or ``#`` starts a comment inside a line only after whitespace (so
  ``bash -c 'a ; b'`` loses ``; b'`` exactly as in Supervisor);
* ``name = value`` or ``name: value``; the name is everything before the first
  ``=`` or ``:`` and is lower-cased;
* a line indented deeper than its option continues the value (joined with
  newlines; blank lines inside are kept, trailing ones dropped);
* a section or option seen twice merges, the last value winning (where that
  happens inside one file, which is rarely meant, it is remembered for a warning);
* ``[DEFAULT]`` options are inherited by every section.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from capataz.config.errors import ConfigError

DEFAULT_SECTION = "DEFAULT"
_SECTION_HEADER = re.compile(r"\[(?P<header>.+)\]")
_OPTION_LINE = re.compile(r"(?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$")
_NON_SPACE = re.compile(r"\S")
_COMMENT_PREFIXES = ("#", ";")


@dataclass(frozen=True, slots=True)
class IniValue:
    """One option's raw text and where it was written."""

    text: str
    file: str
    line: int
    #: The inline comment cut from the option's line, if any: ``bash -c 'a ; b'``
    #: loses `` ; b'`` to it, and a warning can show what was lost.
    comment: str | None = None


@dataclass(slots=True)
class IniSection:
    name: str
    file: str
    line: int
    options: dict[str, IniValue] = field(default_factory=dict)
    #: Where the same header appears again in the file that opened the section.
    reopened: list[IniValue] = field(default_factory=list)


@dataclass(slots=True)
class _Pending:
    """A value still collecting continuation lines."""

    lines: list[str]
    file: str
    line: int
    comment: str | None


def _comment_start(line: str) -> int | None:
    """Where a comment starts in ``line``, exactly as RawConfigParser decides it.

    Each round looks at the next occurrence of every prefix; the first round in
    which some occurrence follows whitespace (or starts the line) decides. This
    is not always the leftmost such occurrence, and Supervisor's meaning of a
    line like ``a;b ;c #d`` depends on it.
    """
    if line.strip().startswith(_COMMENT_PREFIXES):
        return 0
    positions = dict.fromkeys(_COMMENT_PREFIXES, -1)
    while positions:
        found: list[int] = []
        following: dict[str, int] = {}
        for prefix, after in positions.items():
            index = line.find(prefix, after + 1)
            if index == -1:
                continue
            following[prefix] = index
            if index == 0 or line[index - 1].isspace():
                found.append(index)
        if found:
            return min(found)
        positions = following
    return None


class IniDocument:
    """Sections and options read from one or more files, in reading order."""

    def __init__(self) -> None:
        self.defaults: dict[str, IniValue] = {}
        self.sections: dict[str, IniSection] = {}
        #: (section, option, the earlier line): an option set again in the same file.
        self.repeated: list[tuple[str, str, IniValue]] = []

    def read(self, text: str, filename: str) -> None:
        """Add the sections of ``text`` (read from ``filename``) to the document."""
        pending: dict[tuple[str, str], _Pending] = {}
        current: dict[str, IniValue] | None = None
        section_name: str | None = None
        option: str | None = None
        indent_level = 0
        bad_line: tuple[int, str] | None = None
        for number, line in enumerate(io.StringIO(text, newline=None), start=1):
            comment = _comment_start(line)
            value = line[:comment].strip()
            if not value:
                key = (section_name or "", option or "")
                if comment is None and option and key in pending:
                    pending[key].lines.append("")
                continue
            first = _NON_SPACE.search(line)
            indent = first.start() if first else 0
            if current is not None and option and indent > indent_level:
                pending[(section_name or "", option)].lines.append(value)
                continue
            indent_level = indent
            header = _SECTION_HEADER.match(value)
            if header:
                section_name = header.group("header")
                current = self._open_section(section_name, filename, number)
                option = None
                continue
            if current is None or section_name is None:
                raise ConfigError(
                    "the file must start with a [section] header before any option",
                    file=filename,
                    line=number,
                    found=line.rstrip("\n"),
                    expected="a header such as [program:name] or [supervisord]",
                )
            match = _OPTION_LINE.match(value)
            if match is None or not match.group("option"):
                bad_line = bad_line or (number, line.rstrip("\n"))
                if match is None:
                    continue
            option = match.group("option").rstrip().lower()
            cut = line[comment:].rstrip("\n") if comment else None
            pending[(section_name, option)] = _Pending(
                [match.group("value").strip()], filename, number, cut
            )
            earlier = current.get(option)
            if earlier is not None and earlier.file == filename:
                self.repeated.append((section_name, option, earlier))
            current[option] = IniValue("", filename, number)
        if bad_line is not None:
            number, line = bad_line
            raise ConfigError(
                "this line is neither a [section] header nor an option",
                file=filename,
                line=number,
                found=line,
                expected="name=value, name: value, or an indented continuation of the value above",
            )
        for (section, name), collected in pending.items():
            target = self.defaults if section == DEFAULT_SECTION else self.sections[section].options
            placed = target.get(name)
            # Only the last occurrence of an option is still in place; the others were replaced.
            if placed is not None and (placed.file, placed.line) == (
                collected.file,
                collected.line,
            ):
                text = "\n".join(collected.lines).rstrip()
                target[name] = IniValue(text, collected.file, collected.line, collected.comment)

    def _open_section(self, name: str, filename: str, line: int) -> dict[str, IniValue]:
        if name == DEFAULT_SECTION:
            return self.defaults
        section = self.sections.get(name)
        if section is None:
            section = self.sections[name] = IniSection(name, filename, line)
        elif section.file == filename:
            section.reopened.append(IniValue("", filename, line))
        return section.options

    def get(self, section: str, option: str) -> IniValue | None:
        """The value of ``option`` in ``section``, falling back on ``[DEFAULT]``."""
        own = self.sections[section].options.get(option)
        return own if own is not None else self.defaults.get(option)

    def options(self, section: str) -> list[str]:
        """Every option name ``section`` sees: its own, then ``[DEFAULT]``'s."""
        own = list(self.sections[section].options)
        return own + [name for name in self.defaults if name not in own]
