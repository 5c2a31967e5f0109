"""The structs the API returns, shaped exactly as Supervisor 4.3.0 shapes them.

``getProcessInfo`` (with the ``description`` supervisorctl prints),
``getAllConfigInfo`` and signal names: pure functions of the data, no I/O
beyond the user database.
"""

from __future__ import annotations

import datetime
import pwd
import signal
import time
from typing import Any

from capataz.config.model import AUTO, GroupConfig, ProcessConfig
from capataz.control.errors import RpcFault
from capataz.control.interface import ProcessView
from capataz.control.protocol import Fault, ProcessState

MAXINT = 2**31 - 1
Struct = dict[str, Any]


def capped(value: float) -> int:
    """XML-RPC ints are 32-bit; timestamps saturate (until API 4 changes the type)."""
    return max(-MAXINT - 1, min(MAXINT, int(value)))


def describe(info: ProcessView) -> str:
    """The ``description`` supervisorctl prints after the state."""
    state = info.state
    if state == ProcessState.RUNNING:
        start = datetime.datetime(*time.gmtime(capped(info.start))[:6])
        now = datetime.datetime(*time.gmtime(capped(info.now))[:6])
        return f"pid {info.pid}, uptime {max(now - start, datetime.timedelta(0))}"
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
