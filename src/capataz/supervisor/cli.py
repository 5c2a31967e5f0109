"""``capatazd``: the command line of the supervisor daemon (supervisord's flags)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from capataz import exitcodes
from capataz.cliutil import PrintVersion, survives_closed_stdout
from capataz.config import load
from capataz.config.errors import ConfigError
from capataz.config.model import Config
from capataz.supervisor.errors import DaemonSetupError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="capatazd",
        description="Run processes as Supervisor's supervisord does, from the same config file.",
    )
    parser.add_argument("-c", "--configuration", metavar="FILE", help="configuration file")
    parser.add_argument("-n", "--nodaemon", action="store_true", help="run in the foreground")
    parser.add_argument("-s", "--silent", action="store_true", help="no logs to stdout")
    parser.add_argument("-u", "--user", help="run the daemon as this user")
    parser.add_argument("-m", "--umask", help="umask for the daemon (octal, e.g. 022)")
    parser.add_argument("-d", "--directory", help="directory to chdir to when daemonized")
    parser.add_argument("-l", "--logfile", help="the daemon's own log file")
    parser.add_argument("-y", "--logfile_maxbytes", help="rotate the log after this size")
    parser.add_argument("-z", "--logfile_backups", help="number of rotated logs to keep")
    parser.add_argument("-e", "--loglevel", help="critical, error, warn, info, debug, trace")
    parser.add_argument("-j", "--pidfile", help="pid file path")
    parser.add_argument("-i", "--identifier", help="identifier reported by the RPC API")
    parser.add_argument("-q", "--childlogdir", help="directory for AUTO child log files")
    parser.add_argument("-k", "--nocleanup", action="store_true", help="keep AUTO logs at start")
    parser.add_argument("-a", "--minfds", help="minimum free file descriptors")
    parser.add_argument("--minprocs", help="minimum free process slots")
    parser.add_argument("-t", "--strip_ansi", action="store_true", help="strip ANSI from logs")
    parser.add_argument("-v", "--version", action=PrintVersion,
                        help="show the version and exit")
    parser.add_argument(
        "--check",
        action="store_true",
        help="validate the configuration, print the processes and warnings, start nothing",
    )
    return parser


_SIZE = re.compile(r"^(\d+)\s*(KB|MB|GB)?$", re.IGNORECASE)
_UNITS = {None: 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def _size(option: str, text: str) -> int:
    match = _SIZE.match(text.strip())
    if not match:
        raise DaemonSetupError(f"{option} takes a size like 50MB, 500KB or 1024; got {text!r}")
    unit = match.group(2).upper() if match.group(2) else None
    return int(match.group(1)) * _UNITS[unit]


def _int(option: str, text: str, base: int = 10) -> int:
    try:
        return int(text, base)
    except ValueError:
        kind = "an octal number like 022" if base == 8 else "a whole number"
        raise DaemonSetupError(f"{option} takes {kind}; got {text!r}") from None


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The ``[supervisord]`` values given on the command line, which win over the file."""
    found: dict[str, Any] = {}
    for flag in ("nodaemon", "silent", "nocleanup", "strip_ansi"):
        if getattr(args, flag):
            found[flag] = True
    for name in ("user", "loglevel", "identifier"):
        if getattr(args, name) is not None:
            found[name] = getattr(args, name)
    for name in ("directory", "logfile", "pidfile", "childlogdir"):
        if getattr(args, name) is not None:
            found[name] = os.path.abspath(getattr(args, name))
    if args.logfile is not None and args.logfile.upper() in {"NONE", "OFF"}:
        found["logfile"] = None
    if args.umask is not None:
        found["umask"] = _int("-m/--umask", args.umask, 8)
    if args.logfile_maxbytes is not None:
        found["logfile_maxbytes"] = _size("-y/--logfile_maxbytes", args.logfile_maxbytes)
    for name, flag in (("logfile_backups", "-z"), ("minfds", "-a"), ("minprocs", "--minprocs")):
        if getattr(args, name) is not None:
            found[name] = _int(f"{flag}/--{name}", getattr(args, name))
    return found


def config_loader(changes: dict[str, Any]) -> Callable[[str | None], Config]:
    """``capataz.config.load`` with the command line's overrides applied after each read."""

    def read(path: str | None) -> Config:
        config = load(path)
        return dataclasses.replace(
            config, supervisord=dataclasses.replace(config.supervisord, **changes)
        )

    return read


@survives_closed_stdout
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.check:
        from capataz.config.check import run_check

        return run_check(args.configuration)
    # The daemon imports its HTTP server (aiohttp's, without the client) once
    # its programs are spawning: capataz.supervisor.daemon._Importer.
    from capataz.supervisor import daemon

    try:
        loader = config_loader(overrides(args))
        # Absolute, so a reload still finds the file after -d changed directory
        # (Supervisor's reload exits there: its issues #231 and #602).
        given = os.path.abspath(args.configuration) if args.configuration else None
        config = loader(given)  # None: searched where supervisord looks
        daemon.run(config, loader)
    except ConfigError as exc:
        print(f"capatazd: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    except DaemonSetupError as exc:
        print(f"capatazd: {exc}", file=sys.stderr)
        return exitcodes.FAILURE
    except OSError as exc:
        print(f"capatazd: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return exitcodes.FAILURE
    return exitcodes.OK
