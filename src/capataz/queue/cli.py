"""``capataz``: the queue worker (``work`` / ``queue:work``) and the ``queue:*`` commands.

Laravel people type ``capataz queue:work --sleep=3 --tries=3``; Python people
type ``capataz work``. Every flag has a ``CAPATAZ_<FLAG>`` environment twin.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from capataz import exitcodes
from capataz.cliutil import PrintVersion, survives_closed_stdout
from capataz.queue import commands, failed_commands
from capataz.queue.connections import URL_ENV, default_store_path
from capataz.queue.envargs import (
    UsageError,
    add,
    env_name,
    id_ranges,
    name_list,
    non_negative_float,
    non_negative_int,
    positive_float,
    seconds_list,
)
from capataz.queue.errors import QueueError

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

DESCRIPTION = f"""\
Run queue workers and operate the job queue.

The store is chosen by --url (or {URL_ENV}); by default it is the SQLite file
{default_store_path()}.
"""


def _store(parser: argparse.ArgumentParser) -> None:
    add(parser, "--url", env=URL_ENV, metavar="URL",
        help=f"queue store URL, sqlite:///path/to/queue.db; unset: sqlite://{default_store_path()}")


def _app(parser: argparse.ArgumentParser) -> None:
    add(parser, "-A", "--app", env="CAPATAZ_APP", metavar="MODULES",
        help="comma-separated modules whose @job functions this process may run")


def _json(parser: argparse.ArgumentParser, what: str, env: str | None = None) -> None:
    add(parser, "--json", switch=True, help=what, env=env)


def _twin(command: str, flag: str) -> str:
    """An operator command's variable: CAPATAZ_RETRY_QUEUE for queue:retry --queue.

    Worker flags own the short names (CAPATAZ_QUEUE); a container that sets them
    for its workers must not change what an operator's queue:retry or queue:clear do.
    """
    return env_name(f"--{command.removeprefix('queue:')}-{flag.lstrip('-')}")


def _work_parser(sub: Subparsers, name: str) -> None:
    p = sub.add_parser(name, help="run a queue worker (Laravel's queue:work)",
                       description="Process jobs from the queues until told to stop.")
    p.add_argument("connection", nargs="?", default="default",
                   help="connection name: 'default', or NAME read from CAPATAZ_QUEUE_URL_NAME "
                        "(recorded in failed jobs)")
    _store(p)
    _app(p)
    add(p, "--queue", type=name_list, default=("default",), metavar="Q1,Q2",
        help="queues to work, in strict priority order")
    add(p, "--sleep", type=non_negative_float, default=3.0, metavar="SECONDS",
        help="longest wait for a job when the queues are empty (a new job wakes the worker sooner)")
    add(p, "--tries", type=non_negative_int, default=1, metavar="N",
        help="attempts before a job fails (0 = unlimited); a job's own tries wins")
    add(p, "--backoff", type=seconds_list, default=(0.0,), metavar="S1,S2",
        help="seconds before retrying after an exception, by attempt; the last repeats")
    add(p, "--timeout", type=non_negative_float, default=60.0, metavar="SECONDS",
        help="seconds a job may run (0 = no limit); past it the job is stopped and this "
             "worker exits so its supervisor starts a fresh one")
    add(p, "--max-jobs", type=non_negative_int, default=0, metavar="N",
        help="exit after this many jobs (0 = no limit)")
    add(p, "--max-time", type=non_negative_float, default=0.0, metavar="SECONDS",
        help="exit after this many seconds, once the current job ends (0 = no limit)")
    add(p, "--memory", type=non_negative_float, default=128.0, metavar="MB",
        help="exit with code 12 when resident memory reaches this after a job (0 = no limit)")
    add(p, "--rest", type=non_negative_float, default=0.0, metavar="SECONDS",
        help="pause after each job")
    add(p, "--once", switch=True, help="process one job (if any) and exit")
    add(p, "--stop-when-empty", switch=True, help="exit when the queues are empty")
    add(p, "--name", default="", metavar="NAME",
        help="this worker's name in logs and leases (default: host:pid)")
    add(p, "--force", switch=True, help="keep working while every queue is paused (maintenance)")
    add(p, "--lease", type=positive_float, default=30.0, metavar="SECONDS",
        help="lease length: a job whose worker died is run again after at most this long")
    _json(p, "one JSON object per line instead of text")
    p.set_defaults(handler=commands.work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="capataz", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=PrintVersion, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _work_parser(sub, "work")
    _work_parser(sub, "queue:work")
    _failed_parsers(sub)
    _queue_parsers(sub)
    return parser


def _failed_parsers(sub: Subparsers) -> None:
    p = sub.add_parser("queue:failed", help="list the failed jobs")
    _store(p)
    _json(p, "print JSON instead of a table", _twin("queue:failed", "--json"))
    p.set_defaults(handler=failed_commands.failed)

    p = sub.add_parser("queue:retry", help="push failed jobs back onto their queues")
    _store(p)
    p.add_argument("ids", nargs="*", metavar="ID", help="failed job ids or uuids, or 'all'")
    add(p, "--queue", metavar="QUEUE", help="retry every failed job of this queue",
        env=_twin("queue:retry", "--queue"))
    add(p, "--range", type=id_ranges, repeat=True, metavar="FIRST-LAST",
        env=_twin("queue:retry", "--range"),
        help="retry failed job ids in these ranges (comma-separated or repeated)")
    p.set_defaults(handler=failed_commands.retry)

    p = sub.add_parser("queue:forget", help="delete one failed job")
    _store(p)
    p.add_argument("id", metavar="ID", help="the failed job's id or uuid")
    p.set_defaults(handler=failed_commands.forget)

    for name, default, text in (
        ("queue:flush", None, "delete failed jobs (all, or older than --hours)"),
        ("queue:prune-failed", 24.0, "delete failed jobs older than --hours"),
    ):
        p = sub.add_parser(name, help=text)
        _store(p)
        add(p, "--hours", type=non_negative_float, default=default, metavar="HOURS",
            env=_twin(name, "--hours"),
            help="only failed jobs older than this many hours")
        p.set_defaults(handler=failed_commands.flush)


def _queue_parsers(sub: Subparsers) -> None:
    p = sub.add_parser("queue:clear", help="delete the jobs waiting on a queue")
    _store(p)
    add(p, "--queue", default="default", metavar="QUEUE", help="the queue to clear",
        env=_twin("queue:clear", "--queue"))
    p.set_defaults(handler=commands.clear)

    p = sub.add_parser("queue:monitor", help="show queue sizes; exit 1 if one is over --max")
    _store(p)
    p.add_argument("queues", type=name_list, metavar="Q1,Q2", help="queues to watch")
    add(p, "--max", type=non_negative_int, default=1000, metavar="N",
        env=_twin("queue:monitor", "--max"),
        help="alert when more jobs than this wait on a queue")
    _json(p, "print JSON instead of a table", _twin("queue:monitor", "--json"))
    p.set_defaults(handler=commands.monitor)

    for name, handler, verb in (
        ("queue:pause", commands.pause, "stop workers taking jobs from"),
        ("queue:resume", commands.resume, "let workers take jobs again from"),
        ("queue:continue", commands.resume, "let workers take jobs again from"),
    ):
        p = sub.add_parser(name, help=f"{verb} queues (--all: every queue)")
        _store(p)
        p.add_argument("queues", nargs="?", type=name_list, metavar="Q1,Q2")
        add(p, "--all", switch=True, env=_twin(name, "--all"),
            help="every queue (maintenance mode; workers with --force keep working)")
        p.set_defaults(handler=handler)

    p = sub.add_parser("queue:restart", help="make every worker exit after its current job")
    _store(p)
    p.set_defaults(handler=commands.restart)

    p = sub.add_parser("queue:stats", help="jobs by queue and state, and the oldest wait")
    _store(p)
    _json(p, "print JSON instead of a table", _twin("queue:stats", "--json"))
    p.set_defaults(handler=commands.stats)

    p = sub.add_parser("queue:push", help="dispatch a job by name (for operators)")
    _store(p)
    _app(p)
    p.add_argument("job", metavar="JOB", help="the registered job name, e.g. billing.send_receipt")
    add(p, "--args", default="[]", metavar="JSON", env=_twin("queue:push", "--args"),
        help="the arguments: a JSON list (positional) or object (keywords)")
    add(p, "--queue", metavar="QUEUE", help="queue to push to (default: the job's own)",
        env=_twin("queue:push", "--queue"))
    add(p, "--delay", type=non_negative_float, default=0.0, metavar="SECONDS",
        env=_twin("queue:push", "--delay"),
        help="make the job available only after this many seconds")
    p.set_defaults(handler=commands.push)


@survives_closed_stdout
def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.handler(args))
    except SystemExit as exit_:  # argparse: --help, --version or a usage error it printed
        return exit_.code if isinstance(exit_.code, int) else exitcodes.USAGE
    except UsageError as exc:
        print(f"capataz: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    except BrokenPipeError:
        raise  # our reader left (``| head``): survives_closed_stdout ends quietly
    except (QueueError, OSError) as exc:
        print(f"capataz: {exc}", file=sys.stderr)
        return exitcodes.FAILURE
    except KeyboardInterrupt:
        return exitcodes.FAILURE
    finally:
        commands.close_stores()
