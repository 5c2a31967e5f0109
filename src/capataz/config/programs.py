"""The processes of one process section, read option by option from the table.

A ``[program:x]``, ``[eventlistener:x]`` or ``[fcgi-program:x]`` section gives
``numprocs`` processes. As in Supervisor's ``_processes_from_section``, the
options of scope ``SECTION`` are read once, then every per-process option is
read once per ``process_num`` with that number (and the program's own
``environment``) among the names; the processes are sorted by (priority, name).
"""

from __future__ import annotations

import os
from typing import Any

from capataz.config import values
from capataz.config.context import ReadContext
from capataz.config.ini import IniValue
from capataz.config.model import (
    AUTO,
    ChannelLog,
    ProcessConfig,
)
from capataz.config.options import OPTIONS_BY_NAME, SECTION_SCOPED

_ROOT_ADVICE = (
    "user=root runs the processes as root: every child gets every privilege, so a bug "
    "or a compromised job (a malicious payload, a vulnerable dependency) owns the whole "
    "machine. Create an unprivileged user that can write only what the job needs "
    "(e.g. www-data for a PHP app) and set user=www-data"
)


class ProcessReader:
    """Reads one process section into its processes, option by option from the table."""

    def __init__(self, ctx: ReadContext, section: str, group_name: str | None) -> None:
        """``group_name``: the ``[group:x]`` or listener pool name; None for the program's own."""
        self.ctx = ctx
        self.section = section
        suffix = section.split(":", 1)[1]
        self.program_name = ctx.convert(section, "", self._header(), suffix, values.name)
        self.group_name = self.program_name if group_name is None else group_name
        self.names: dict[str, str | int] = {
            "program_name": self.program_name,
            "group_name": self.group_name,
            "host_node_name": ctx.host.node_name,
        }

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
        # Everything read once per section comes straight from the table, in its order.
        fixed = {spec.name: self.get(spec.name) for spec in SECTION_SCOPED}
        if fixed["killasgroup"] is None:
            fixed["killasgroup"] = fixed["stopasgroup"]
        serverurl = fixed["serverurl"]
        fixed["serverurl"] = AUTO if serverurl.strip().upper() in ("AUTO", "") else serverurl
        self._check_user(fixed["user"])
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

    def _check_user(self, user: str | None) -> None:
        value = self.ctx.raw(self.section, "user")
        if user is None:
            return
        if user in ("root", "0"):
            self.ctx.warn(_ROOT_ADVICE, self.section, value)
        elif not self.ctx.host.user_exists(user):
            self.ctx.warn(
                f"user {user!r} does not exist on this machine; Supervisor refuses this file "
                "here and capatazd cannot start the process until the user is created",
                self.section,
                value,
            )

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
