"""``python -m bench.queues.drive QUEUE ACTION --jobs N``: one measurement, as a JSON line.

Run by the harness with the interpreter of the queue's own environment; the last
line of stdout is ``{"sample": {...}}``, ``{"unavailable": why}`` or ``{"not_built": why}``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable
from contextlib import nullcontext

from bench import profiling
from bench.queues.driver import (
    Driver,
    NotBuiltYet,
    Unsupported,
    measure_enqueue,
    measure_latency,
    measure_process,
)

# queue name -> (module that defines make_driver, environment it needs before import)
QUEUES: dict[str, tuple[str, dict[str, str]]] = {
    "rq": ("bench.queues.peers.rq_peer", {}),
    "celery": ("bench.queues.peers.celery_peer", {}),
    "dramatiq": ("bench.queues.peers.dramatiq_peer", {}),
    "huey-redis": ("bench.queues.peers.huey_peer", {"BENCH_HUEY_BACKEND": "redis"}),
    "huey-sqlite": ("bench.queues.peers.huey_peer", {"BENCH_HUEY_BACKEND": "sqlite"}),
    "arq": ("bench.queues.peers.arq_peer", {}),
    "procrastinate": ("bench.queues.peers.procrastinate_peer", {}),
    "capataz-sqlite": ("bench.queues.peers.capataz_side", {"BENCH_CAPATAZ_BACKEND": "sqlite"}),
    "capataz-postgres": ("bench.queues.peers.capataz_side",
                         {"BENCH_CAPATAZ_BACKEND": "postgres"}),
    "capataz-redis": ("bench.queues.peers.capataz_side", {"BENCH_CAPATAZ_BACKEND": "redis"}),
}

ACTIONS: dict[str, Callable[[Driver, int], dict[str, float]]] = {
    "enqueue": measure_enqueue,
    "process": measure_process,
    "latency": measure_latency,
}


def load(queue: str) -> Driver:
    module_name, environment = QUEUES[queue]
    os.environ.update(environment)  # read at import by the module workers import too
    module = importlib.import_module(module_name)
    make: Callable[[], Driver] = module.make_driver
    return make()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.queues.drive")
    parser.add_argument("queue", choices=sorted(QUEUES))
    parser.add_argument("action", choices=sorted(ACTIONS))
    parser.add_argument("--jobs", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        driver = load(args.queue)
        sampled = (profiling.sampling(os.getpid(), "dispatcher")
                   if args.queue.startswith("capataz-") and args.action == "enqueue"
                   else nullcontext())
        with sampled:
            sample = ACTIONS[args.action](driver, args.jobs)
    except NotBuiltYet as exc:
        print(json.dumps({"not_built": str(exc)}))
    except Unsupported as exc:
        print(json.dumps({"unavailable": str(exc)}))
    else:
        print(json.dumps({"sample": sample}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
