"""The one table of every option a process section takes.

Each row says the option's name, how its text converts, its default (as
Supervisor writes it, converted like any other value) and its *scope*: which
``%(x)s`` names its value may use. Supervisor reads the options of a section
in two phases, and that decides the scope:

* ``SECTION``: read once per section: ``here``, ``program_name``,
  ``group_name``, ``host_node_name`` and ``ENV_*``;
* ``PROCESS``: read once per process (``numprocs``): the ``SECTION`` names plus
  ``process_num``, ``numprocs`` and the program's own ``environment`` as ``ENV_*``.

``LISTENER`` and ``FCGI`` rows belong only to ``[eventlistener:x]`` and
``[fcgi-program:x]``; they are read before the processes, with ``here`` and
``ENV_*`` (and ``program_name`` for ``socket``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from capataz.config import values
from capataz.config.model import GroupKind


class Scope(enum.Enum):
    SECTION = "section"
    PROCESS = "process"
    GROUP = "group"  # the eventlistener/fcgi options read before the processes


def _text(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class OptionSpec:
    name: str
    convert: Callable[[str], Any]
    default: str | None  # None: unset unless written (or computed, see the reader)
    scope: Scope
    kinds: frozenset[GroupKind] = frozenset(GroupKind)
    #: Supervisor expands the std*_logfile values twice (``%%`` must be ``%%%%``).
    expansions: int = 1


_ALL = frozenset(GroupKind)
_LISTENER = frozenset({GroupKind.EVENTLISTENER})
_FCGI = frozenset({GroupKind.FCGI_PROGRAM})
S, P, G = Scope.SECTION, Scope.PROCESS, Scope.GROUP


def _channel(channel: str) -> tuple[OptionSpec, ...]:
    return (
        OptionSpec(f"{channel}_logfile", values.logfile, "AUTO", P, expansions=2),
        OptionSpec(f"{channel}_logfile_maxbytes", values.byte_size, "50MB", P),
        OptionSpec(f"{channel}_logfile_backups", values.integer, "10", P),
        OptionSpec(f"{channel}_capture_maxbytes", values.byte_size, "0", S),
        OptionSpec(f"{channel}_events_enabled", values.boolean, "false", S),
        OptionSpec(f"{channel}_syslog", values.boolean, "false", P),
    )


PROCESS_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("command", _text, None, P),
    OptionSpec("process_name", values.name, "%(program_name)s", P),
    OptionSpec("numprocs", values.integer, "1", S),
    OptionSpec("numprocs_start", values.integer, "0", S),
    OptionSpec("priority", values.integer, "999", S),
    OptionSpec("autostart", values.boolean, "true", S),
    OptionSpec("autorestart", values.auto_restart, "unexpected", S),
    OptionSpec("startsecs", values.integer, "1", S),
    OptionSpec("startretries", values.integer, "3", S),
    OptionSpec("exitcodes", values.exit_codes, "0", S),
    OptionSpec("stopsignal", values.signal_number, "TERM", S),
    OptionSpec("stopwaitsecs", values.integer, "10", S),
    OptionSpec("stopasgroup", values.boolean, "false", S),
    OptionSpec("killasgroup", values.boolean, None, S),  # default: the value of stopasgroup
    OptionSpec("user", _text, None, S),
    OptionSpec("directory", _text, None, P),
    OptionSpec("umask", values.octal, None, S),
    OptionSpec("redirect_stderr", values.boolean, "false", S),
    OptionSpec("environment", values.key_value_pairs, "", P),
    OptionSpec("serverurl", _text, "AUTO", S),
    *_channel("stdout"),
    *_channel("stderr"),
    OptionSpec("events", values.comma_list, "", G, _LISTENER),
    OptionSpec("buffer_size", values.integer, "10", G, _LISTENER),
    OptionSpec("result_handler", _text, "supervisor.dispatchers:default_handler", G, _LISTENER),
    OptionSpec("socket", _text, None, G, _FCGI),
    OptionSpec("socket_backlog", values.integer, None, G, _FCGI),
    OptionSpec("socket_owner", _text, None, G, _FCGI),
    OptionSpec("socket_mode", values.octal, None, G, _FCGI),
)
OPTIONS_BY_NAME = {spec.name: spec for spec in PROCESS_OPTIONS}
#: The options every process section reads once, before its processes.
SECTION_SCOPED = tuple(spec for spec in PROCESS_OPTIONS if spec.scope is Scope.SECTION)


def known_options(kind: GroupKind) -> frozenset[str]:
    return frozenset(spec.name for spec in PROCESS_OPTIONS if kind in spec.kinds)


#: Options of the other sections (their values and expansions are read in ``sections.py``).
SECTION_OPTIONS: dict[str, frozenset[str]] = {
    "supervisord": frozenset(
        {
            "logfile",
            "logfile_maxbytes",
            "logfile_backups",
            "loglevel",
            "pidfile",
            "umask",
            "nodaemon",
            "silent",
            "minfds",
            "minprocs",
            "nocleanup",
            "childlogdir",
            "user",
            "directory",
            "strip_ansi",
            "environment",
            "identifier",
        }
    ),
    "unix_http_server": frozenset({"file", "chmod", "chown", "username", "password"}),
    "inet_http_server": frozenset({"port", "username", "password"}),
    "supervisorctl": frozenset({"serverurl", "username", "password", "prompt", "history_file"}),
    "include": frozenset({"files"}),
    "group": frozenset({"programs", "priority"}),
}
