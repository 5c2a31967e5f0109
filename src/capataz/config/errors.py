"""Errors of the configuration reader: one class, one complete message."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration file that cannot be used as written.

    The message names the file, the line, the section and the option, says what
    was found and what is expected, so the reader can fix it without the docs.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        line: int | None = None,
        section: str | None = None,
        option: str | None = None,
        found: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.line = line
        self.section = section
        self.option = option
        self.found = found
        self.expected = expected
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        if self.section:
            where += f" [{self.section}]"
        if self.option:
            where += f" {self.option}"
        text = f"{where}: {self.problem}"
        if self.found is not None:
            text += f"; found {self.found!r}"
        if self.expected is not None:
            text += f"; expected {self.expected}"
        return text
