"""Warnings for what Supervisor silently ignores: unknown sections and misspelt options.

Supervisor reads the options it knows and never looks at the rest, so
``autorestar=true`` quietly leaves ``autorestart`` at its default. We say so,
and suggest the closest known name.
"""

from __future__ import annotations

import difflib

from capataz.config.context import ReadContext
from capataz.config.groups import PREFIXES
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
    """Add a warning for every unknown section and every unknown option."""
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
