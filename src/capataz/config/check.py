"""``capatazd --check``: read the configuration, show what it means, start nothing."""

from __future__ import annotations

import sys
from typing import TextIO

from capataz import exitcodes
from capataz.config.errors import ConfigError
from capataz.config.model import AUTO, ChannelLog, Config, ConfigWarning, ProcessConfig
from capataz.config.reader import load


def _namespec(process: ProcessConfig) -> str:
    # supervisorctl's name for a process: "group:name", or "name" when they are equal.
    if process.group_name == process.name:
        return process.name
    return f"{process.group_name}:{process.name}"


def _log(channel: ChannelLog, childlogdir: str) -> str:
    if channel.logfile is AUTO:
        where = f"AUTO (a file in {childlogdir})"
    elif channel.logfile is None:
        where = "none (output discarded)"
    else:
        where = channel.logfile
    return where + (" + syslog" if channel.syslog else "")


def describe(config: Config, out: TextIO) -> None:
    """Print every process with its command, user and log files."""
    processes = config.processes()
    print(
        f"{config.path}: {len(processes)} process(es) in {len(config.groups)} group(s)",
        file=out,
    )
    childlogdir = config.supervisord.childlogdir
    for process in processes:
        user = process.user or "(the user capatazd runs as)"
        print(f"{_namespec(process)}", file=out)
        print(f"    command: {process.command}", file=out)
        print(f"    user:    {user}", file=out)
        stdout = _log(process.stdout, childlogdir)
        if process.redirect_stderr:
            print(f"    log:     {stdout} (stdout and stderr)", file=out)
        else:
            print(f"    stdout:  {stdout}", file=out)
            print(f"    stderr:  {_log(process.stderr, childlogdir)}", file=out)
    if not config.supervisord_section:
        print(
            f"no [supervisord] section: daemon log {config.supervisord.logfile}, "
            f"pid file {config.supervisord.pidfile}",
            file=out,
        )
    print(f"control socket: {config.control_socket()}", file=out)


def _position(warning: ConfigWarning) -> tuple[str, int]:
    return (warning.source.file, warning.source.line) if warning.source else ("", 0)


def run_check(path: str | None) -> int:
    """Validate the configuration at ``path``; 0 when it is usable, 2 when it is not."""
    try:
        config = load(path)
    except ConfigError as error:
        print(f"capatazd: invalid configuration: {error.message}", file=sys.stderr)
        return exitcodes.USAGE
    describe(config, sys.stdout)
    # In file order, so the warnings read top to bottom alongside the file.
    for warning in sorted(config.warnings, key=_position):
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"configuration OK ({len(config.warnings)} warning(s))",
        file=sys.stdout,
    )
    return exitcodes.OK
