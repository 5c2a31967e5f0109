"""``capatazd``: the command line of the supervisor daemon (supervisord's flags)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from capataz import __version__, exitcodes


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
    parser.add_argument("-v", "--version", action="version", version=__version__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="validate the configuration, print the processes and warnings, start nothing",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.check:
        from capataz.config.check import run_check

        return run_check(args.configuration)
    print(
        "capatazd: running the daemon is not built yet; use --check to validate a config",
        file=sys.stderr,
    )
    return exitcodes.NOT_BUILT
