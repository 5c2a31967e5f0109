"""The worker and queue commands of ``capataz``: parsed arguments in, exit code out."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from capataz import exitcodes
from capataz.queue.backends.base import (
    ALL_QUEUES,
    PAUSE_PREFIX,
    RESTART_MARKER,
    Backend,
)
from capataz.queue.clock import SystemClock
from capataz.queue.connections import URL_ENV, default_url, open_backend
from capataz.queue.envargs import UsageError
from capataz.queue.errors import DispatchError
from capataz.queue.output import Output
from capataz.queue.registry import REGISTRY
from capataz.queue.worker import Worker, WorkerOptions

#: Stores opened by the current command; ``close_stores`` closes them when it ends.
_OPENED: list[Backend] = []


def close_stores() -> None:
    while _OPENED:
        _OPENED.pop().close()


def store_for(args: argparse.Namespace) -> Backend:
    """The store named by --url, else by the connection argument (Laravel's queue:work redis)."""
    name = getattr(args, "connection", None) or "default"
    url = args.url
    if not url and name != "default":
        variable = f"{URL_ENV}_{name.upper().replace('-', '_')}"
        url = os.environ.get(variable)
        if not url:
            raise UsageError(f"the queue connection {name!r} has no URL; set {variable}")
    backend = open_backend(url or default_url(), connection=name)
    _OPENED.append(backend)
    return backend


def say(text: str) -> None:
    print(text, flush=True)


def load_app(args: argparse.Namespace) -> list[str]:
    # Like `python -m` and Celery's -A: modules of the project the command is run
    # from are importable without installing it or setting PYTHONPATH.
    if args.app and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    return REGISTRY.load((args.app or "").split(","))


def table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    say("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        say("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


# -- the worker -------------------------------------------------------------
def work(args: argparse.Namespace) -> int:
    options = WorkerOptions(
        queues=args.queue, sleep=args.sleep, tries=args.tries, backoff=args.backoff,
        timeout=args.timeout, max_jobs=args.max_jobs, max_time=args.max_time,
        memory=args.memory, rest=args.rest, once=args.once,
        stop_when_empty=args.stop_when_empty, name=args.name, force=args.force,
        lease=args.lease,
    )
    backend = store_for(args)
    clock = SystemClock()
    worker = Worker(backend, options, clock=clock, output=Output(clock, json_lines=args.json))
    # Before the application is imported (which can take seconds): a SIGTERM from the
    # supervisor during start-up then means "stop", not death by the default action.
    restore_signals = worker.install_signal_handlers()
    try:
        if not load_app(args):
            print(
                "capataz: warning: no application modules loaded (-A/--app or CAPATAZ_APP); "
                "every job will fail as unregistered", file=sys.stderr, flush=True,
            )
        return worker.run()
    finally:
        restore_signals()


# -- queues -------------------------------------------------------------------
def clear(args: argparse.Namespace) -> int:
    count = store_for(args).clear(args.queue)
    say(f"Cleared {count} jobs from the [{args.queue}] queue.")
    return exitcodes.OK


def _stats_by_queue(backend: Backend) -> dict[str, Any]:
    return {s.queue: s for s in backend.stats()}


def monitor(args: argparse.Namespace) -> int:
    stats = _stats_by_queue(store_for(args))
    rows = []
    for queue in args.queues:
        size = stats[queue].waiting + stats[queue].delayed if queue in stats else 0
        rows.append({"queue": queue, "size": size, "status": "ALERT" if size > args.max else "OK"})
    if args.json:
        say(json.dumps(rows, indent=2))
    else:
        table(
            ["Queue", "Size", "Status"], [[r["queue"], str(r["size"]), r["status"]] for r in rows]
        )
    return exitcodes.FAILURE if any(r["status"] == "ALERT" for r in rows) else exitcodes.OK


def _pause_targets(args: argparse.Namespace) -> tuple[str, ...]:
    if args.all:
        return (ALL_QUEUES,)
    if not args.queues:
        raise UsageError("name the queues (e.g. default,high) or give --all")
    return tuple(args.queues)


def pause(args: argparse.Namespace) -> int:
    backend = store_for(args)
    for queue in _pause_targets(args):
        backend.set_marker(PAUSE_PREFIX + queue, SystemClock().time())
        say("Every queue paused." if queue == ALL_QUEUES else f"Queue [{queue}] paused.")
    return exitcodes.OK


def resume(args: argparse.Namespace) -> int:
    backend = store_for(args)
    for queue in _pause_targets(args):
        backend.delete_marker(PAUSE_PREFIX + queue)
        say("Every queue resumed." if queue == ALL_QUEUES else f"Queue [{queue}] resumed.")
    return exitcodes.OK


def restart(args: argparse.Namespace) -> int:
    store_for(args).set_marker(RESTART_MARKER, SystemClock().time())
    say("Broadcasting queue restart signal.")
    return exitcodes.OK


def stats(args: argparse.Namespace) -> int:
    backend = store_for(args)
    rows = backend.stats()
    paused = {n[len(PAUSE_PREFIX):] for n in backend.markers() if n.startswith(PAUSE_PREFIX)}
    if args.json:
        say(json.dumps([
            {
                "queue": s.queue, "waiting": s.waiting, "delayed": s.delayed,
                "running": s.running, "failed": s.failed,
                "oldest_waiting_seconds": s.oldest_waiting,
                "paused": s.queue in paused or ALL_QUEUES in paused,
            }
            for s in rows
        ], indent=2))
        return exitcodes.OK
    if not rows:
        say("No jobs.")
        return exitcodes.OK
    table(
        ["Queue", "Waiting", "Delayed", "Running", "Failed", "Oldest wait", "Paused"],
        [
            [s.queue, str(s.waiting), str(s.delayed), str(s.running), str(s.failed),
             "-" if s.oldest_waiting is None else f"{s.oldest_waiting:.1f}s",
             "yes" if s.queue in paused or ALL_QUEUES in paused else ""]
            for s in rows
        ],
    )
    return exitcodes.OK


def push(args: argparse.Namespace) -> int:
    import uuid as uuidlib

    from capataz.queue.backends.base import NewJob
    from capataz.queue.payload import Payload

    try:
        arguments = json.loads(args.args)
    except ValueError as exc:
        raise UsageError(f"--args is not valid JSON: {exc}") from None
    except RecursionError:
        raise UsageError("--args nests JSON too deeply") from None
    if not isinstance(arguments, list | dict):
        raise UsageError("--args must be a JSON list (positional) or object (keywords)")
    positional = arguments if isinstance(arguments, list) else []
    keywords = arguments if isinstance(arguments, dict) else {}
    load_app(args)
    queue = args.queue
    if args.job in REGISTRY:
        definition = REGISTRY.get(args.job)
        try:
            definition.check_arguments(positional, keywords)
        except Exception as exc:
            raise DispatchError(str(exc)) from None
        queue = queue or definition.options.queue
    queue = queue or "default"
    now = SystemClock().time()
    payload = Payload(uuid=str(uuidlib.uuid4()), job=args.job, queue=queue, args=positional,
                      kwargs=keywords, dispatched_at=now)
    uuid = store_for(args).push([NewJob(payload.uuid, queue, payload.encode(), now + args.delay)])
    say(f"Pushed {args.job} [{uuid[0]}] onto the [{queue}] queue.")
    return exitcodes.OK
