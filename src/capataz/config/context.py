"""The state of one read: the INI document, the host, the names, the warnings.

Every section reader gets a :class:`ReadContext` and reads each option through
:meth:`ReadContext.read`, which expands ``%(x)s`` with the names that option
allows, converts the text, and turns any problem into a :class:`ConfigError`
that names the file, line, section and option.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn, TypeVar

from capataz.config.errors import ConfigError
from capataz.config.expand import Names, expand
from capataz.config.host import Host
from capataz.config.ini import IniDocument, IniValue
from capataz.config.model import ConfigWarning, Source
from capataz.config.values import BadValue

T = TypeVar("T")


@dataclass
class ReadContext:
    doc: IniDocument
    host: Host
    main_file: str
    #: ``ENV_X`` names every option sees: the environment, then ``[supervisord] environment``.
    env_names: dict[str, str] = field(default_factory=dict)
    warnings: list[ConfigWarning] = field(default_factory=list)

    @property
    def main_dir(self) -> str:
        return os.path.dirname(self.main_file)

    def source(self, section: str, value: IniValue | None = None) -> Source:
        if value is not None:
            return Source(value.file, value.line, section)
        found = self.doc.sections.get(section)
        if found is None:
            return Source(self.main_file, 0, section)
        return Source(found.file, found.line, section)

    def here(self, section: str, value: IniValue | None) -> str:
        """``%(here)s``: the directory of the file that holds the value (or its section)."""
        origin = value.file if value is not None else self.source(section).file
        return os.path.dirname(origin)

    def fail(
        self,
        problem: str,
        section: str,
        option: str | None = None,
        *,
        value: IniValue | None = None,
        expected: str | None = None,
    ) -> NoReturn:
        where = self.source(section, value)
        raise ConfigError(
            problem,
            file=where.file,
            line=where.line or None,
            section=section,
            option=option,
            found=value.text if value is not None else None,
            expected=expected,
        )

    def warn(self, message: str, section: str, value: IniValue | None = None) -> None:
        warning = ConfigWarning(message, self.source(section, value))
        if warning not in self.warnings:  # once per option, not once per process
            self.warnings.append(warning)

    def raw(self, section: str, option: str) -> IniValue | None:
        return self.doc.get(section, option)

    def expand(
        self,
        section: str,
        option: str,
        value: IniValue,
        names: Names,
        text: str,
        *,
        here: bool = True,
    ) -> str:
        """Expand ``text`` with ``ENV_*``, ``names`` and (when allowed) ``here``."""
        every: dict[str, str | int] = {**self.env_names, **names}
        if here:
            every["here"] = self.here(section, value)
        try:
            return expand(text, every)
        except BadValue as bad:
            self.fail(
                "cannot expand the value", section, option, value=value, expected=bad.expected
            )

    def read(
        self,
        section: str,
        option: str,
        default: T,
        names: Names,
        convert: Callable[[str], T] | None = None,
        *,
        times: int = 1,
        here: bool = True,
    ) -> T:
        """Read, expand ``times`` times (Supervisor expands log file names twice) and convert."""
        value = self.raw(section, option)
        if value is None:
            return default
        text = value.text
        for _ in range(times):
            text = self.expand(section, option, value, names, text, here=here)
        if convert is None:
            return text  # type: ignore[return-value]  # T is str when no converter is given
        return self.convert(section, option, value, text, convert)

    def convert(
        self, section: str, option: str, value: IniValue, text: str, convert: Callable[[str], T]
    ) -> T:
        try:
            return convert(text)
        except BadValue as bad:
            self.fail("invalid value", section, option, value=value, expected=bad.expected)
