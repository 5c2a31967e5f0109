"""Process groups: ``[group:x]`` and the homogeneous groups of each process section.

Follows Supervisor's ``process_groups_from_parser``: ``[group:x]`` sections
first (their programs leave their own groups and take the group's name), then
the remaining programs, event listeners and FastCGI programs, each its own
group; groups sorted by (priority, name). The options an event listener or a
FastCGI program reads before its processes are here; the processes themselves
are read by :class:`~capataz.config.programs.ProcessReader`.
"""

from __future__ import annotations

import os
import re
from typing import Any

from capataz.config import values
from capataz.config.context import ReadContext
from capataz.config.ini import IniValue
from capataz.config.model import (
    EventListenerOptions,
    FcgiSocketOptions,
    GroupConfig,
    GroupKind,
    ProcessConfig,
)
from capataz.config.options import OPTIONS_BY_NAME
from capataz.config.programs import ProcessReader

PREFIXES = {
    "program:": GroupKind.PROGRAM,
    "eventlistener:": GroupKind.EVENTLISTENER,
    "fcgi-program:": GroupKind.FCGI_PROGRAM,
}


def _kind(section: str) -> GroupKind | None:
    return next((kind for prefix, kind in PREFIXES.items() if section.startswith(prefix)), None)


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
    if owner is not None and not ctx.host.user_exists(values.user_group(owner)[0]):
        ctx.warn(
            f"socket_owner: user {values.user_group(owner)[0]!r} does not exist on this machine",
            section,
            ctx.raw(section, "socket_owner"),
        )
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
        kind = _kind(section)
        if kind is None or section in grouped:
            continue
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
        processes.extend(ProcessReader(ctx, member, group_name).processes())
    return GroupConfig(
        group_name, priority, GroupKind.PROGRAM, tuple(processes), source=ctx.source(section)
    )


def _homogeneous_group(ctx: ReadContext, section: str, kind: GroupKind) -> GroupConfig:
    # Supervisor keeps an event listener pool's name as written; the others are checked names.
    listener_pool = section.split(":", 1)[1] if kind is GroupKind.EVENTLISTENER else None
    reader = ProcessReader(ctx, section, listener_pool)
    group_name = reader.group_name
    default_priority = -1 if kind is GroupKind.EVENTLISTENER else 999
    priority: int = ctx.read(section, "priority", default_priority, {}, values.integer)
    listener = _listener_options(ctx, section) if kind is GroupKind.EVENTLISTENER else None
    fcgi = (
        _fcgi_options(ctx, section, reader.program_name) if kind is GroupKind.FCGI_PROGRAM else None
    )
    processes = reader.processes()
    return GroupConfig(group_name, priority, kind, processes, listener, fcgi, ctx.source(section))
