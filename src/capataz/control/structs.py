"""The structs the API returns, shaped exactly as Supervisor 4.3.0 shapes them.

``getProcessInfo`` (with the ``description`` supervisorctl prints),
``getAllConfigInfo`` and signal names: pure functions of the data, no I/O
beyond the user database.
"""

from __future__ import annotations

import functools
import pwd
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from capataz.config.model import AUTO, GroupConfig, ProcessConfig
from capataz.control.errors import RpcFault
from capataz.control.interface import ProcessView
from capataz.control.protocol import Fault, ProcessState
from capataz.control.wire import escape, member_xml

MAXINT = 2**31 - 1
Struct = dict[str, Any]


def capped(value: float) -> int:
    """XML-RPC ints are 32-bit; timestamps saturate (until API 4 changes the type)."""
    return max(-MAXINT - 1, min(MAXINT, int(value)))


@functools.lru_cache(maxsize=4096)  # processes started in the same second share theirs
def uptime(seconds: int) -> str:
    """Seconds as Supervisor prints an uptime (``str(timedelta)``): ``H:MM:SS``, days first."""
    minutes, secs = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    clock = f"{hours}:{minutes:02d}:{secs:02d}"
    if not days:
        return clock
    return f"{days} day{'' if days == 1 else 's'}, {clock}"


def describe(info: ProcessView) -> str:
    """The ``description`` supervisorctl prints after the state."""
    state = info.state
    if state == ProcessState.RUNNING:
        return f"pid {info.pid}, uptime {uptime(capped(info.now) - capped(info.start))}"
    if state in (ProcessState.FATAL, ProcessState.BACKOFF):
        return info.spawnerr or f'unknown error (try "tail {info.name}")'
    if state in (ProcessState.STOPPED, ProcessState.EXITED):
        if not info.start:
            return "Not started"
        return time.strftime("%b %d %I:%M %p", time.localtime(capped(info.stop)))
    return ""


def process_struct(info: ProcessView) -> Struct:
    try:
        statename = ProcessState(info.state).name
    except ValueError:
        statename = "UNKNOWN"
    return {
        "name": info.name,
        "group": info.group,
        "start": capped(info.start),
        "stop": capped(info.stop),
        "now": capped(info.now),
        "state": int(info.state),
        "statename": statename,
        "spawnerr": info.spawnerr or "",
        "exitstatus": info.exitstatus or 0,
        "logfile": info.stdout_logfile or "",
        "stdout_logfile": info.stdout_logfile or "",
        "stderr_logfile": info.stderr_logfile or "",
        "pid": info.pid,
        "description": describe(info),
    }


# A process's struct, split around the two values that change by the second:
# head <now> middle <description> _STRUCT_END. ``now`` is capped to 32 bits and
# a RUNNING description is digits and words, so neither needs a range check or
# escaping when written; the tests hold the result to ``value_xml(process_struct())``.
_NOW_OPEN = "<member>\n<name>now</name>\n<value><int>"
_NOW_CLOSE = "</int></value>\n</member>\n"
_DESCRIPTION_OPEN = "<member>\n<name>description</name>\n<value><string>"
_STRUCT_END = "</string></value>\n</member>\n</struct></value>\n"


@dataclass(frozen=True, slots=True)
class _RenderedProcess:
    """A process's struct as XML, all but ``now`` and a RUNNING process's uptime."""

    head: str  # up to the value of ``now``
    middle: str  # from after ``now`` up to the description's text
    description: str | None  # escaped; None while RUNNING (written on each call)
    start: int
    pid: int

    def xml(self, now: int) -> str:
        """The struct at ``now`` (already ``capped``)."""
        description = self.description
        if description is None:
            description = f"pid {self.pid}, uptime {uptime(now - self.start)}"
        return f"{self.head}{now}{self.middle}{description}{_STRUCT_END}"


def _render(info: ProcessView) -> _RenderedProcess:
    struct = process_struct(info)
    head = ["<value><struct>\n"]
    middle = [_NOW_CLOSE]
    part = head
    for name, value in struct.items():
        if name == "now":
            head.append(_NOW_OPEN)
            part = middle
        elif name != "description":
            part.append(member_xml(name, value))
    middle.append(_DESCRIPTION_OPEN)
    running = info.state == ProcessState.RUNNING
    return _RenderedProcess("".join(head), "".join(middle),
                            None if running else escape(struct["description"]),
                            capped(info.start), info.pid)


#: What a process's struct depends on besides the clock.
_Fields = tuple[object, ...]


def _fields(info: ProcessView) -> _Fields:
    return (info.state, info.pid, info.start, info.stop, info.exitstatus, info.spawnerr,
            info.stdout_logfile, info.stderr_logfile)


class ProcessXml:
    """``getProcessInfo`` structs as XML text, each process's unchanging part written once.

    getAllProcessInfo is what ``supervisorctl status`` and every monitoring
    agent poll; most of its answer is the same from one call to the next.
    Each process's members are kept rendered, keyed by what they are made of:
    a new state, pid, exit status, error or log path renders them again, and
    ``now`` and a RUNNING process's uptime are written on every call.
    """

    def __init__(self) -> None:
        self._rendered: dict[tuple[str, str], tuple[_Fields, _RenderedProcess]] = {}

    def struct(self, info: ProcessView) -> str:
        """The ``<value>`` of ``process_struct(info)``."""
        return self._lookup(info, self._rendered).xml(capped(info.now))

    def array(self, infos: Iterable[ProcessView]) -> str:
        """The ``<value>`` of ``[process_struct(i) for i in infos]``.

        Only the processes listed stay cached, so removed ones do not linger.
        """
        kept: dict[tuple[str, str], tuple[_Fields, _RenderedProcess]] = {}
        structs: list[str] = []
        wall, now = None, 0  # one clock reading for many processes: cap it once
        for info in infos:
            if info.now != wall:
                wall, now = info.now, capped(info.now)
            structs.append(self._lookup(info, kept).xml(now))
        self._rendered = kept
        return f"<value><array><data>\n{''.join(structs)}</data></array></value>\n"

    def _lookup(self, info: ProcessView,
                into: dict[tuple[str, str], tuple[_Fields, _RenderedProcess]]) -> _RenderedProcess:
        name = (info.group, info.name)
        fields = _fields(info)
        cached = self._rendered.get(name)
        if cached is None or cached[0] != fields:
            cached = (fields, _render(info))
        into[name] = cached
        return cached[1]


def _config_value(value: object) -> object:
    if value is AUTO:
        return "auto"
    return "none" if value is None else value


def _uid(user: str | None) -> object:
    if user is None:
        return "none"
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return user


def config_struct(group: GroupConfig, process: ProcessConfig, inuse: bool) -> Struct:
    fields: Struct = {
        "autostart": process.autostart, "directory": process.directory,
        "uid": _uid(process.user), "command": process.command,
        "exitcodes": list(process.exitcodes), "group": group.name,
        "group_prio": group.priority, "inuse": inuse, "killasgroup": process.killasgroup,
        "name": process.name, "process_prio": process.priority,
        "redirect_stderr": process.redirect_stderr, "startretries": process.startretries,
        "startsecs": process.startsecs, "stopsignal": int(process.stopsignal),
        "stopwaitsecs": process.stopwaitsecs,
        # Supervisor 4.3 reports an AUTO serverurl as "none" (it resolves it to None).
        "serverurl": None if process.serverurl is AUTO else process.serverurl,
    }
    for channel, log in (("stdout", process.stdout), ("stderr", process.stderr)):
        fields[f"{channel}_capture_maxbytes"] = log.capture_maxbytes
        fields[f"{channel}_events_enabled"] = log.events_enabled
        fields[f"{channel}_logfile"] = log.logfile
        fields[f"{channel}_logfile_backups"] = log.backups
        fields[f"{channel}_logfile_maxbytes"] = log.maxbytes
        fields[f"{channel}_syslog"] = log.syslog
    return {key: _config_value(value) for key, value in fields.items()}


def signal_number(value: object) -> int:
    """Supervisor's rule: a number, or a name with or without ``SIG``, any case."""
    text = str(value).strip()
    try:
        number = int(text)
    except ValueError:
        name = text.upper() if text.upper().startswith("SIG") else "SIG" + text.upper()
        member = getattr(signal.Signals, name, None)
        if member is None:
            raise RpcFault(Fault.BAD_SIGNAL, value) from None
        return int(member)
    if number not in {int(s) for s in signal.Signals} | {0, 1}:  # SIG_DFL, SIG_IGN count
        raise RpcFault(Fault.BAD_SIGNAL, value)
    return number
