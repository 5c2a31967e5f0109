"""The ``capataz`` subcommands: each takes the parsed arguments and returns an exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from capataz import exitcodes
from capataz.queue.backends.base import (
    ALL_QUEUES,
    PAUSE_PREFIX,
    RESTART_MARKER,
    Backend,
    FailedJob,
)
from capataz.queue.clock import SystemClock
from capataz.queue.connections import URL_ENV, default_url, open_backend
from capataz.queue.envargs import UsageError
from capataz.queue.errors import DispatchError
from capataz.queue.output import Output
from capataz.queue.registry import REGISTRY
from capataz.queue.worker import Worker, WorkerOptions

#: Failed jobs moved per transaction by queue:retry; progress is printed after each batch.
RETRY_BATCH = 500


def _backend(args: argparse.Namespace) -> Backend:
    """The store named by --url, else by the connection argument (Laravel's queue:work redis)."""
    name = getattr(args, "connection", None) or "default"
    url = args.url
    if not url and name != "default":
        variable = f"{URL_ENV}_{name.upper().replace('-', '_')}"
        url = os.environ.get(variable)
        if not url:
            raise UsageError(f"the queue connection {name!r} has no URL; set {variable}")
    return open_backend(url or default_url(), connection=name)


def _say(text: str) -> None:
    print(text, flush=True)


def _load_app(args: argparse.Namespace) -> list[str]:
    # Like `python -m` and Celery's -A: modules of the project the command is run
    # from are importable without installing it or setting PYTHONPATH.
    if args.app and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    return REGISTRY.load((args.app or "").split(","))


# -- the worker -------------------------------------------------------------
def work(args: argparse.Namespace) -> int:
    options = WorkerOptions(
        queues=args.queue, sleep=args.sleep, tries=args.tries, backoff=args.backoff,
        timeout=args.timeout, max_jobs=args.max_jobs, max_time=args.max_time,
        memory=args.memory, rest=args.rest, once=args.once,
        stop_when_empty=args.stop_when_empty, name=args.name, force=args.force,
        lease=args.lease,
    )
    loaded = _load_app(args)
    if not loaded:
        print(
            "capataz: warning: no application modules loaded (-A/--app or CAPATAZ_APP); "
            "every job will fail as unregistered", file=sys.stderr, flush=True,
        )
    backend = _backend(args)
    clock = SystemClock()
    worker = Worker(backend, options, clock=clock, output=Output(clock, json_lines=args.json))
    restore_signals = worker.install_signal_handlers()
    try:
        return worker.run()
    finally:
        restore_signals()
        backend.close()


# -- failed jobs --------------------------------------------------------------
def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _job_name(payload: str) -> str:
    try:
        data = json.loads(payload)
    except ValueError:
        return "?"
    name = data.get("job") if isinstance(data, dict) else None
    return name if isinstance(name, str) else "?"


def _all_failed(backend: Backend) -> Iterator[FailedJob]:
    after = 0
    while page := backend.failed_jobs(after, RETRY_BATCH):
        yield from page
        after = page[-1].id


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    _say("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        _say("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def failed(args: argparse.Namespace) -> int:
    backend = _backend(args)
    jobs = list(_all_failed(backend))
    if args.json:
        _say(json.dumps([
            {
                "id": j.id, "uuid": j.uuid, "connection": j.connection, "queue": j.queue,
                "job": _job_name(j.payload), "failed_at": _when(j.failed_at),
                "exception": j.exception, "payload": j.payload,
            }
            for j in jobs
        ], indent=2))
        return exitcodes.OK
    if not jobs:
        _say("No failed jobs found.")
        return exitcodes.OK
    _table(
        ["ID", "UUID", "Connection", "Queue", "Job", "Failed At", "Error"],
        [
            [str(j.id), j.uuid, j.connection, j.queue, _job_name(j.payload), _when(j.failed_at),
             _last_line(j.exception)[:80]]
            for j in jobs
        ],
    )
    return exitcodes.OK


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def retry(args: argparse.Namespace) -> int:
    ranges: list[tuple[int, int]] = args.range
    keys = [k for k in args.ids if k != "all"]
    everything = "all" in args.ids
    if not (everything or keys or ranges or args.queue):
        raise UsageError("name failed jobs to retry: ids, 'all', --queue=QUEUE or --range=1-5")
    backend = _backend(args)
    status = exitcodes.OK
    for key in keys:
        job = backend.get_failed(key)
        if job is None:
            print(f"No failed job matches the given ID [{key}].", file=sys.stderr)
            status = exitcodes.FAILURE
        elif backend.retry_failed([job.id]):
            _say(f"The failed job [{job.uuid}] has been pushed back onto the queue.")
    if everything or ranges or args.queue:
        def wanted(job: FailedJob) -> bool:
            in_range = everything or not ranges or any(a <= job.id <= b for a, b in ranges)
            return in_range and (args.queue is None or job.queue == args.queue)

        total = retried = 0
        batch: list[int] = []
        # Streamed: pages of ids are read and moved in batches, each batch in one
        # transaction, so 100,000 failed jobs never sit in memory and an interrupted
        # run can simply be started again.
        for job in _all_failed(backend):
            if not wanted(job):
                continue
            total += 1
            batch.append(job.id)
            if len(batch) >= RETRY_BATCH:
                retried += len(backend.retry_failed(batch))
                batch.clear()
                _say(f"Retried {retried} failed jobs so far...")
        if batch:
            retried += len(backend.retry_failed(batch))
        _say(f"Pushed {retried} of {total} matching failed jobs back onto their queues.")
    return status


def forget(args: argparse.Namespace) -> int:
    backend = _backend(args)
    job = backend.get_failed(args.id)
    if job is None or not backend.forget_failed([job.id]):
        print(f"No failed job matches the given ID [{args.id}].", file=sys.stderr)
        return exitcodes.FAILURE
    _say("Failed job deleted successfully.")
    return exitcodes.OK


def flush(args: argparse.Namespace) -> int:
    backend = _backend(args)
    before = None if args.hours is None else SystemClock().time() - args.hours * 3600
    count = backend.flush_failed(before)
    older = "" if args.hours is None else f" older than {args.hours:g} hours"
    _say(f"Deleted {count} failed jobs{older}.")
    return exitcodes.OK


# -- queues -------------------------------------------------------------------
def clear(args: argparse.Namespace) -> int:
    count = _backend(args).clear(args.queue)
    _say(f"Cleared {count} jobs from the [{args.queue}] queue.")
    return exitcodes.OK


def _stats_by_queue(backend: Backend) -> dict[str, Any]:
    return {s.queue: s for s in backend.stats()}


def monitor(args: argparse.Namespace) -> int:
    stats = _stats_by_queue(_backend(args))
    rows = []
    for queue in args.queues:
        size = stats[queue].waiting + stats[queue].delayed if queue in stats else 0
        rows.append({"queue": queue, "size": size, "status": "ALERT" if size > args.max else "OK"})
    if args.json:
        _say(json.dumps(rows, indent=2))
    else:
        _table(
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
    backend = _backend(args)
    for queue in _pause_targets(args):
        backend.set_marker(PAUSE_PREFIX + queue, SystemClock().time())
        _say("Every queue paused." if queue == ALL_QUEUES else f"Queue [{queue}] paused.")
    return exitcodes.OK


def resume(args: argparse.Namespace) -> int:
    backend = _backend(args)
    for queue in _pause_targets(args):
        backend.delete_marker(PAUSE_PREFIX + queue)
        _say("Every queue resumed." if queue == ALL_QUEUES else f"Queue [{queue}] resumed.")
    return exitcodes.OK


def restart(args: argparse.Namespace) -> int:
    _backend(args).set_marker(RESTART_MARKER, SystemClock().time())
    _say("Broadcasting queue restart signal.")
    return exitcodes.OK


def stats(args: argparse.Namespace) -> int:
    backend = _backend(args)
    rows = backend.stats()
    paused = {n[len(PAUSE_PREFIX):] for n in backend.markers() if n.startswith(PAUSE_PREFIX)}
    if args.json:
        _say(json.dumps([
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
        _say("No jobs.")
        return exitcodes.OK
    _table(
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
    if not isinstance(arguments, list | dict):
        raise UsageError("--args must be a JSON list (positional) or object (keywords)")
    positional = arguments if isinstance(arguments, list) else []
    keywords = arguments if isinstance(arguments, dict) else {}
    _load_app(args)
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
    uuid = _backend(args).push([NewJob(payload.uuid, queue, payload.encode(), now + args.delay)])
    _say(f"Pushed {args.job} [{uuid[0]}] onto the [{queue}] queue.")
    return exitcodes.OK
