"""``[program:x]``, ``[eventlistener:x]``, ``[fcgi-program:x]`` and ``[group:x]`` to process groups.

Follows Supervisor's ``process_groups_from_parser``: ``[group:x]`` sections
first (their programs leave their own groups and take the group's name), then
the remaining programs, event listeners and FastCGI programs, each its own
group; groups sorted by (priority, name) and the processes of a program by
(priority, name).
"""

from __future__ import annotations

import os
import re
from typing import Any

from capataz.config import values
from capataz.config.context import ReadContext
from capataz.config.ini import IniValue
from capataz.config.model import (
    AUTO,
    ChannelLog,
    EventListenerOptions,
    FcgiSocketOptions,
    GroupConfig,
    GroupKind,
    ProcessConfig,
)
from capataz.config.options import OPTIONS_BY_NAME

PREFIXES = {
    "program:": GroupKind.PROGRAM,
    "eventlistener:": GroupKind.EVENTLISTENER,
    "fcgi-program:": GroupKind.FCGI_PROGRAM,
}
_ROOT_ADVICE = (
    "user=root runs the processes as root: every child gets every privilege, so a bug "
    "or a compromised job (a malicious payload, a vulnerable dependency) owns the whole "
    "machine. Create an "
    "unprivileged user that can write only what the job needs (e.g. www-data for a PHP "
    "app) and set user=www-data"
)


def _kind_and_name(section: str) -> tuple[GroupKind, str] | None:
    for prefix, kind in PREFIXES.items():
        if section.startswith(prefix):
            return kind, section[len(prefix) :]
    return None


class _ProcessReader:
    """Reads one process section into its processes, option by option from the table."""

    def __init__(self, ctx: ReadContext, section: str, group_name: str) -> None:
        self.ctx = ctx
        self.section = section
        suffix = section.split(":", 1)[1]
        self.program_name = ctx.convert(section, "", self._header(), suffix, values.name)
        self.names: dict[str, str | int] = {
            "program_name": self.program_name,
            "group_name": group_name,
            "host_node_name": ctx.host.node_name,
        }
        self.group_name = group_name

    def _header(self) -> IniValue:
        where = self.ctx.source(self.section)
        return IniValue(f"[{self.section}]", where.file, where.line)

    def get(self, option: str, names: dict[str, str | int] | None = None) -> Any:
        spec = OPTIONS_BY_NAME[option]
        default = None if spec.default is None else spec.convert(spec.default)
        return self.ctx.read(
            self.section, option, default, names or self.names, spec.convert, times=spec.expansions
        )

    def processes(self) -> tuple[ProcessConfig, ...]:
        fixed = {
            option: self.get(option)
            for option in (
                "priority",
                "autostart",
                "autorestart",
                "startsecs",
                "startretries",
                "stopsignal",
                "stopwaitsecs",
                "stopasgroup",
                "exitcodes",
                "redirect_stderr",
                "numprocs",
                "numprocs_start",
                "stdout_capture_maxbytes",
                "stdout_events_enabled",
                "stderr_capture_maxbytes",
                "stderr_events_enabled",
                "umask",
            )
        }
        killasgroup = self.get("killasgroup")
        fixed["killasgroup"] = fixed["stopasgroup"] if killasgroup is None else killasgroup
        serverurl = self.get("serverurl")
        fixed["serverurl"] = AUTO if serverurl.strip().upper() in ("AUTO", "") else serverurl
        fixed["user"] = self._user()
        header = self._header()
        template_value = self.ctx.raw(self.section, "process_name") or IniValue(
            "%(program_name)s", header.file, header.line
        )
        template = self.ctx.convert(
            self.section, "process_name", template_value, template_value.text, values.name
        )
        if fixed["numprocs"] > 1 and "%(process_num)" not in template:
            self.ctx.fail(
                "numprocs is more than 1 but process_name does not hold %(process_num)",
                self.section,
                "process_name",
                value=template_value,
                expected="a name such as %(program_name)s_%(process_num)02d, "
                "so that each process gets its own name",
            )
        if fixed["stopasgroup"] and not fixed["killasgroup"]:
            self.ctx.fail(
                "stopasgroup=true needs killasgroup=true: the group was signalled to stop, "
                "so it must also be killed as a group",
                self.section,
                "killasgroup",
                value=self.ctx.raw(self.section, "killasgroup"),
                expected="killasgroup=true, or remove the killasgroup line",
            )
        start = fixed["numprocs_start"]
        made = [
            self._process(number, fixed, template_value, template)
            for number in range(start, start + fixed["numprocs"])
        ]
        return tuple(sorted(made, key=lambda p: (p.priority, p.name)))

    def _user(self) -> str | None:
        user: str | None = self.get("user")
        value = self.ctx.raw(self.section, "user")
        if user is None:
            return None
        if user in ("root", "0"):
            self.ctx.warn(f"{_ROOT_ADVICE}", self.section, value)
        elif not self.ctx.host.user_exists(user):
            self.ctx.warn(
                f"user {user!r} does not exist on this machine; Supervisor refuses this file "
                "here and capatazd cannot start the process until the user is created",
                self.section,
                value,
            )
        return user

    def _process(
        self,
        number: int,
        fixed: dict[str, Any],
        template_value: IniValue,
        template: str,
    ) -> ProcessConfig:
        names = {**self.names, "process_num": number, "numprocs": fixed["numprocs"]}
        environment: tuple[tuple[str, str], ...] = self.get("environment", names)
        names.update({f"ENV_{key}": text for key, text in environment})
        command = self.get("command", names)
        if command is None:
            self.ctx.fail(
                "the section does not say what to run",
                self.section,
                "command",
                expected="a command line, e.g. command=php artisan queue:work",
            )
        stdout = self._channel("stdout", names, fixed)
        stderr = self._channel("stderr", names, fixed)
        if fixed["redirect_stderr"]:
            if stderr.logfile is not AUTO and stderr.logfile is not None:
                self.ctx.warn(
                    "redirect_stderr=true sends stderr to stdout's log, so "
                    "stderr_logfile is ignored; remove one of the two",
                    self.section,
                    self.ctx.raw(self.section, "stderr_logfile"),
                )
            stderr = ChannelLog(
                None,
                stderr.maxbytes,
                stderr.backups,
                stderr.capture_maxbytes,
                stderr.events_enabled,
                stderr.syslog,
            )
        return ProcessConfig(
            name=self.ctx.expand(self.section, "process_name", template_value, names, template),
            program_name=self.program_name,
            group_name=self.group_name,
            command=command,
            process_num=number,
            numprocs=fixed["numprocs"],
            directory=self.get("directory", names),
            stdout=stdout,
            stderr=stderr,
            environment=environment,
            source=self.ctx.source(self.section),
            **{key: fixed[key] for key in _PLAIN_FIELDS},
        )

    def _channel(
        self, channel: str, names: dict[str, str | int], fixed: dict[str, Any]
    ) -> ChannelLog:
        logfile = self.get(f"{channel}_logfile", names)
        maxbytes = self.get(f"{channel}_logfile_maxbytes", names)
        backups = self.get(f"{channel}_logfile_backups", names)
        syslog = self.get(f"{channel}_syslog", names)
        value = self.ctx.raw(self.section, f"{channel}_logfile")
        if logfile == "syslog":
            self.ctx.warn(
                f"{channel}_logfile=syslog is deprecated; write {channel}_syslog=true instead",
                self.section,
                value,
            )
            logfile, syslog = None, True
        elif logfile is AUTO and not maxbytes:
            self.ctx.warn(
                f"{channel}_logfile is AUTO with {channel}_logfile_maxbytes=0: "
                "the log is never rotated and can fill the disk; set a size such as 50MB",
                self.section,
                value,
            )
        elif isinstance(logfile, str):
            logfile = self.ctx.host.expanduser(logfile)
            self._warn_missing_dir(logfile, f"{channel}_logfile", value)
        return ChannelLog(
            logfile=logfile,
            maxbytes=maxbytes,
            backups=backups,
            capture_maxbytes=fixed[f"{channel}_capture_maxbytes"],
            events_enabled=fixed[f"{channel}_events_enabled"],
            syslog=syslog,
        )

    def _warn_missing_dir(self, path: str, option: str, value: IniValue | None) -> None:
        parent = os.path.dirname(path)
        if parent and not self.ctx.host.is_dir(os.path.join(self.ctx.host.cwd, parent)):
            self.ctx.warn(
                f"{option}: the directory {parent} does not exist on this machine; create it "
                "before starting (Supervisor refuses the file while it is missing)",
                self.section,
                value,
            )


_PLAIN_FIELDS = (
    "priority",
    "autostart",
    "autorestart",
    "startsecs",
    "startretries",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "user",
    "umask",
    "redirect_stderr",
    "serverurl",
)


def _listener_options(ctx: ReadContext, section: str) -> EventListenerOptions:
    get = _group_getter(ctx, section)
    buffer_size: int = get("buffer_size")
    if buffer_size < 1:
        ctx.fail(
            "buffer_size must hold at least one event",
            section,
            "buffer_size",
            value=ctx.raw(section, "buffer_size"),
            expected="a number of 1 or more (the default is 10)",
        )
    result_handler: str = get("result_handler")
    events: tuple[str, ...] = tuple(sorted({event.upper() for event in get("events")}))
    if not events:
        ctx.fail(
            "an event listener must say which events it receives",
            section,
            "events",
            expected="events=PROCESS_STATE (or other event type names, comma-separated)",
        )
    for event in events:
        if event not in values.EVENT_TYPES:
            ctx.fail(
                f"unknown event type {event}",
                section,
                "events",
                value=ctx.raw(section, "events"),
                expected="event types such as PROCESS_STATE, PROCESS_LOG, TICK_60",
            )
    if ctx.read(section, "redirect_stderr", False, {}, values.boolean):
        ctx.fail(
            "an event listener talks to capatazd on stdout, so its stderr cannot go there",
            section,
            "redirect_stderr",
            value=ctx.raw(section, "redirect_stderr"),
            expected="redirect_stderr=false",
        )
    return EventListenerOptions(events, buffer_size, result_handler)


def _group_getter(ctx: ReadContext, section: str, **names: str | int) -> Any:
    def get(option: str) -> Any:
        spec = OPTIONS_BY_NAME[option]
        default = None if spec.default is None else spec.convert(spec.default)
        return ctx.read(section, option, default, names, spec.convert)

    return get


_TCP_SOCKET = re.compile(r"tcp://([^\s:]+):(\d+)$")


def _fcgi_options(ctx: ReadContext, section: str, program_name: str) -> FcgiSocketOptions:
    get = _group_getter(ctx, section)
    get("user")
    backlog: int | None = get("socket_backlog")
    if backlog is not None and not 1 <= backlog <= 65535:
        ctx.fail(
            "socket_backlog is out of range",
            section,
            "socket_backlog",
            value=ctx.raw(section, "socket_backlog"),
            expected="a number from 1 to 65535",
        )
    owner: str | None = get("socket_owner")
    mode: int | None = get("socket_mode")
    value = ctx.raw(section, "socket")
    socket: str | None = _group_getter(ctx, section, program_name=program_name)("socket")
    if not socket or value is None:
        ctx.fail(
            "a FastCGI program needs the socket it listens on",
            section,
            "socket",
            expected="socket=tcp://host:port or socket=unix:///absolute/path",
        )
    if socket.startswith("unix://"):
        path = socket[len("unix://") :]
        if not os.path.isabs(path):
            ctx.fail(
                "the UNIX socket path is not absolute",
                section,
                "socket",
                value=value,
                expected="unix:///absolute/path",
            )
        return FcgiSocketOptions(
            "unix://" + ctx.host.absolute(path), backlog, owner, 0o700 if mode is None else mode
        )
    if owner is not None or mode is not None:
        ctx.fail(
            "socket_owner and socket_mode apply only to a UNIX socket",
            section,
            "socket",
            value=value,
            expected="socket=unix:///absolute/path, or no socket_owner/socket_mode",
        )
    match = _TCP_SOCKET.match(socket)
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        ctx.fail(
            "the socket is not in a form capatazd can bind",
            section,
            "socket",
            value=value,
            expected="socket=tcp://host:port or socket=unix:///absolute/path",
        )
    return FcgiSocketOptions(f"tcp://{match.group(1).lower()}:{int(match.group(2))}", backlog)


def read_process_groups(ctx: ReadContext) -> tuple[GroupConfig, ...]:
    """Every process group of the document, in (priority, name) order."""
    sections = list(ctx.doc.sections)
    grouped: set[str] = set()
    groups = [
        _heterogeneous_group(ctx, section, sections, grouped)
        for section in sections
        if section.startswith("group:")
    ]
    for section in sections:
        found = _kind_and_name(section)
        if found is None or section in grouped:
            continue
        kind, _ = found
        groups.append(_homogeneous_group(ctx, section, kind))
    groups.sort(key=lambda group: (group.priority, group.name))
    return tuple(groups)


def _heterogeneous_group(
    ctx: ReadContext, section: str, sections: list[str], grouped: set[str]
) -> GroupConfig:
    where = ctx.source(section)
    group_name = ctx.convert(
        section,
        "",
        IniValue(f"[{section}]", where.file, where.line),
        section.split(":", 1)[1],
        values.name,
    )
    programs: tuple[str, ...] = ctx.read(section, "programs", (), {}, values.comma_list)
    priority: int = ctx.read(section, "priority", 999, {}, values.integer)
    if not programs:
        ctx.warn("programs= is missing or empty, so the group has no processes", section)
    processes: list[ProcessConfig] = []
    for program in programs:
        candidates = [f"program:{program}", f"fcgi-program:{program}"]
        present = [name for name in candidates if name in sections]
        if len(present) != 1:
            problem = (
                f"names {program}, which is both a program and an fcgi-program"
                if present
                else f"names {program}, but there is no [program:{program}] section"
            )
            ctx.fail(
                problem,
                section,
                "programs",
                value=ctx.raw(section, "programs"),
                expected="names of [program:x] or [fcgi-program:x] sections, comma-separated",
            )
        member = present[0]
        if member.startswith("fcgi-program:"):
            ctx.warn(
                f"the group holds the FastCGI program {program}: Supervisor runs grouped "
                "FastCGI programs without their socket; keep it out of [group:x] sections",
                section,
            )
        grouped.add(member)
        processes.extend(_ProcessReader(ctx, member, group_name).processes())
    return GroupConfig(
        group_name, priority, GroupKind.PROGRAM, tuple(processes), source=ctx.source(section)
    )


def _homogeneous_group(ctx: ReadContext, section: str, kind: GroupKind) -> GroupConfig:
    suffix = section.split(":", 1)[1]
    # Supervisor keeps an event listener pool's name unstripped; the others are checked names.
    reader = _ProcessReader(ctx, section, suffix)
    group_name = suffix if kind is GroupKind.EVENTLISTENER else reader.program_name
    reader.group_name = group_name
    reader.names["group_name"] = group_name
    default_priority = -1 if kind is GroupKind.EVENTLISTENER else 999
    priority: int = ctx.read(section, "priority", default_priority, {}, values.integer)
    listener = _listener_options(ctx, section) if kind is GroupKind.EVENTLISTENER else None
    fcgi = (
        _fcgi_options(ctx, section, reader.program_name) if kind is GroupKind.FCGI_PROGRAM else None
    )
    processes = reader.processes()
    return GroupConfig(group_name, priority, kind, processes, listener, fcgi, ctx.source(section))
