"""Warnings for what Supervisor accepts without a word.

Supervisor reads the options it knows and never looks at the rest, so
``autorestar=true`` quietly leaves ``autorestart`` at its default. We say so,
and suggest the closest known name. The same goes for a section or option
written twice in one file (merged silently), and for what only fails once the
daemon runs: a command it cannot find, an unclosed quote, a device log file
it would try to rotate.
"""

from __future__ import annotations

import difflib
import os
import shlex
from collections.abc import Sequence

from capataz.config.commands import candidates, lookup_path
from capataz.config.context import ReadContext
from capataz.config.groups import PREFIXES
from capataz.config.ini import DEFAULT_SECTION
from capataz.config.model import GroupConfig, ProcessConfig
from capataz.config.options import SECTION_OPTIONS, known_options

_PLUGIN_PREFIXES = ("rpcinterface:", "ctlplugin:")
_SERVER_PREFIXES = ("unix_http_server", "inet_http_server")
_KNOWN_SECTION_EXAMPLES = (
    "supervisord",
    "unix_http_server",
    "inet_http_server",
    "supervisorctl",
    "include",
    "program:",
    "group:",
    "eventlistener:",
    "fcgi-program:",
    "rpcinterface:",
    "ctlplugin:",
)


def _suggest(word: str, choices: list[str] | frozenset[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.75)
    return f"; did you mean {close[0]}?" if close else ""


def _options_for(section: str) -> frozenset[str] | None:
    """The options ``section`` knows, or None when it takes any (plugins)."""
    for prefix, kind in PREFIXES.items():
        if section.startswith(prefix):
            return known_options(kind)
    if section.startswith(_PLUGIN_PREFIXES):
        return None
    if section.startswith("group:"):
        return SECTION_OPTIONS["group"]
    for prefix in _SERVER_PREFIXES:
        if section.startswith(prefix):
            return SECTION_OPTIONS[prefix]
    return SECTION_OPTIONS.get(section, frozenset())


def _section_known(section: str) -> bool:
    return (
        section in ("supervisord", "supervisorctl", "include")
        or section.startswith(_SERVER_PREFIXES)
        or section.startswith((*PREFIXES, "group:", *_PLUGIN_PREFIXES))
    )


def lint(ctx: ReadContext) -> None:
    """Add a warning for every unknown section and every unknown option, and for a section
    or an option written twice in one file."""
    _lint_repeats(ctx)
    for section, body in ctx.doc.sections.items():
        if not _section_known(section):
            head = section.split(":", 1)[0]
            heads = [example.rstrip(":") for example in _KNOWN_SECTION_EXAMPLES]
            close = difflib.get_close_matches(head, heads, n=1, cutoff=0.75)
            hint = ""
            if close:
                fixed = close[0] + (section[len(head) :] if ":" in section else "")
                hint = f"; did you mean [{fixed}]?"
            ctx.warn(f"unknown section [{section}] is ignored{hint}", section)
            continue
        known = _options_for(section)
        if known is None:
            continue
        for option, value in body.options.items():
            if option not in known:
                ctx.warn(
                    f"unknown option {option!r} is ignored{_suggest(option, known)}",
                    section,
                    value,
                )


def _lint_repeats(ctx: ReadContext) -> None:
    """Supervisor merges a repeated header or option without a word: a copied [program:x]
    block left unrenamed silently turns two programs into one."""
    for section, body in ctx.doc.sections.items():
        for again in body.reopened:
            ctx.warn(
                f"[{section}] appears again in this file (first at line {body.line}); the two "
                "merge into one section, a repeated option's later value winning: rename one "
                "if two were meant",
                section,
                again,
            )
    for section, option, earlier in ctx.doc.repeated:
        later = ctx.doc.defaults.get(option) if section == DEFAULT_SECTION else ctx.raw(
            section, option)
        ctx.warn(
            f"option {option!r} is set again in [{section}] (first at line {earlier.line}); "
            "only the later value counts",
            section,
            later,
        )


def lint_processes(ctx: ReadContext, groups: Sequence[GroupConfig],
                   daemon_env: Sequence[tuple[str, str]] = ()) -> None:
    """Warn about what makes a valid file fail at run time. ``daemon_env`` is
    ``[supervisord] environment=``."""
    group_names: set[str] = set()
    finder = _ProgramFinder(ctx, daemon_env)
    for group in groups:
        if group.name in group_names:
            ctx.warn(
                f"two process groups are named {group.name!r}; capatazd keeps only one",
                group.source.section if group.source else group.name,
            )
        group_names.add(group.name)
        process_names: set[str] = set()
        for process in group.processes:
            section = process.source.section if process.source else group.name
            if process.name in process_names:
                ctx.warn(
                    f"two processes of group {group.name!r} are named {process.name!r}; "
                    "make process_name unique (add %(process_num)d)",
                    section,
                )
            process_names.add(process.name)
            if not process.name or any(c in process.name for c in " :/"):
                ctx.warn(
                    f"the process name {process.name!r} is empty or holds ' ', ':' or '/' "
                    "after expansion; supervisorctl cannot name it, so fix process_name",
                    section,
                    ctx.raw(section, "process_name"),
                )
            _lint_command(ctx, section, process, finder)
            _lint_device_logs(ctx, section, process)


def _lint_command(ctx: ReadContext, section: str, process: ProcessConfig,
                  finder: _ProgramFinder) -> None:
    value = ctx.raw(section, "command")
    try:
        words = shlex.split(process.command)
    except ValueError:
        lost = ""
        if value is not None and value.comment:
            lost = (
                f"; note that {value.comment.strip()!r} was read as a comment, because ';' or "
                "'#' after whitespace starts one: remove the space before it"
            )
        ctx.warn(
            f"the command has an unclosed quote, so the process cannot start{lost}",
            section,
            value,
        )
        return
    if not words:
        ctx.warn("the command is empty, so the process cannot start", section, value)
        return
    missing = finder.missing(process, words[0])
    if missing:
        ctx.warn(f"{missing}; the process will go FATAL (\"can't find command\") until it is "
                 "installed there", section, value)


class _ProgramFinder:
    """Looks for programs as the daemon will when it spawns them (config.commands), once
    per program and PATH (the processes of a numprocs=N program share both)."""

    def __init__(self, ctx: ReadContext, daemon_env: Sequence[tuple[str, str]]) -> None:
        self._exists = ctx.host.exists
        self._environ = ctx.host.environ
        self._daemon_env = daemon_env
        self._seen: dict[tuple[str, str], str | None] = {}

    def missing(self, process: ProcessConfig, program: str) -> str | None:
        """Why ``program`` cannot be found, or None when it can (or when that depends on what
        only spawning knows: a relative path, a relative PATH entry)."""
        path = lookup_path(process.environment, self._daemon_env, self._environ)
        key = (program, path)
        if key not in self._seen:
            self._seen[key] = self._look(program, path)
        return self._seen[key]

    def _look(self, program: str, path: str) -> str | None:
        places = candidates(program, path)
        if not all(os.path.isabs(place) for place in places):
            return None  # relative to the daemon's directory at spawn time
        if any(self._exists(place) for place in places):
            return None
        if "/" in program:
            return f"the program {program} does not exist"
        return f"no program {program!r} in any directory of the command's PATH"


def _lint_device_logs(ctx: ReadContext, section: str, process: ProcessConfig) -> None:
    for channel, log in (("stdout", process.stdout), ("stderr", process.stderr)):
        if isinstance(log.logfile, str) and log.logfile.startswith("/dev/") and log.maxbytes:
            ctx.warn(
                f"{channel}_logfile={log.logfile} cannot be rotated; set "
                f"{channel}_logfile_maxbytes=0 (otherwise every write logs 'Illegal seek')",
                section,
                ctx.raw(section, f"{channel}_logfile"),
            )
