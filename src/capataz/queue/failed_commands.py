"""The failed-job commands: queue:failed, queue:retry, queue:forget, queue:flush/prune-failed."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import datetime

from capataz import exitcodes
from capataz.queue.backends.base import Backend, FailedJob
from capataz.queue.clock import SystemClock
from capataz.queue.commands import say, store_for, table
from capataz.queue.envargs import UsageError

#: Failed jobs moved per transaction by queue:retry; progress is printed after each batch.
RETRY_BATCH = 500


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _job_name(payload: str) -> str:
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):  # failed payloads may be hostile
        return "?"
    name = data.get("job") if isinstance(data, dict) else None
    return name if isinstance(name, str) else "?"


def _all_failed(backend: Backend) -> Iterator[FailedJob]:
    after = 0
    while page := backend.failed_jobs(after, RETRY_BATCH):
        yield from page
        after = page[-1].id


def failed(args: argparse.Namespace) -> int:
    backend = store_for(args)
    jobs = list(_all_failed(backend))
    if args.json:
        say(json.dumps([
            {
                "id": j.id, "uuid": j.uuid, "connection": j.connection, "queue": j.queue,
                "job": _job_name(j.payload), "failed_at": _when(j.failed_at),
                "exception": j.exception, "payload": j.payload,
            }
            for j in jobs
        ], indent=2))
        return exitcodes.OK
    if not jobs:
        say("No failed jobs found.")
        return exitcodes.OK
    table(
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
    backend = store_for(args)
    status = exitcodes.OK
    for key in keys:
        job = backend.get_failed(key)
        if job is None:
            print(f"No failed job matches the given ID [{key}].", file=sys.stderr)
            status = exitcodes.FAILURE
        elif backend.retry_failed([job.id]):
            say(f"The failed job [{job.uuid}] has been pushed back onto the queue.")
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
                say(f"Retried {retried} failed jobs so far...")
        if batch:
            retried += len(backend.retry_failed(batch))
        say(f"Pushed {retried} of {total} matching failed jobs back onto their queues.")
    return status


def forget(args: argparse.Namespace) -> int:
    backend = store_for(args)
    job = backend.get_failed(args.id)
    if job is None or not backend.forget_failed([job.id]):
        print(f"No failed job matches the given ID [{args.id}].", file=sys.stderr)
        return exitcodes.FAILURE
    say("Failed job deleted successfully.")
    return exitcodes.OK


def flush(args: argparse.Namespace) -> int:
    backend = store_for(args)
    before = None if args.hours is None else SystemClock().time() - args.hours * 3600
    count = backend.flush_failed(before)
    older = "" if args.hours is None else f" older than {args.hours:g} hours"
    say(f"Deleted {count} failed jobs{older}.")
    return exitcodes.OK
