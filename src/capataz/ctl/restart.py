"""``restart`` that starts each process as soon as it has stopped.

supervisorctl restarts in two passes: stop everything named, then start
everything named, so with ``stopwaitsecs=10`` a whole group is down for as
long as its slowest member takes to die. Here each process gets its own
stop-then-start pipeline (on its own connection, a few at a time), so a
process is back up as soon as it can be, and the others never wait for it.

The lines printed are supervisorctl's (``x: stopped``, ``x: started``,
``x: ERROR (...)``), in the order things happen; the exit status follows the
same rules (a stop of a stopped process and a start of a started one are not
failures).
"""

from __future__ import annotations

import threading
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from capataz.control.protocol import RUNNING_STATES, Fault, make_namespec, split_namespec
from capataz.ctl.results import fault_result, result_message
from capataz.ctl.shell import ControllerBase, Exit

#: How many processes restart at the same time (each holds one connection).
MAX_PARALLEL = 16


@dataclass(frozen=True)
class _Target:
    namespec: str
    #: Named on its own: a stop of a stopped process is reported, as supervisorctl does.
    explicit: bool
    running: bool


def _targets(ctl: ControllerBase, names: list[str], infos: list[dict[str, Any]]) -> list[_Target]:
    def target(info: dict[str, Any], explicit: bool) -> _Target:
        return _Target(make_namespec(info["group"], info["name"]), explicit,
                       info["state"] in RUNNING_STATES)

    if "all" in names:
        return [target(info, explicit=False) for info in infos]
    chosen: dict[str, _Target] = {}
    for name in names:
        group, process = split_namespec(name)
        members = [i for i in infos
                   if i["group"] == group and (process is None or i["name"] == process)]
        if not members:
            if process is None:
                ctl.output(f"{group}: ERROR (no such group)")
                ctl.exitstatus = Exit.INVALID_ARGS  # as supervisorctl's start of a bad group
            else:
                ctl.output(f"{name}: ERROR (no such process)")
                ctl.exitstatus = Exit.GENERIC
            continue
        for info in members:
            chosen.setdefault(target(info, process is not None).namespec,
                              target(info, process is not None))
    return list(chosen.values())


def restart_streaming(ctl: ControllerBase, names: list[str]) -> None:
    targets = _targets(ctl, names, list(ctl.server().getAllProcessInfo()))
    if not targets:
        return
    lock = threading.Lock()

    def report(result: dict[str, Any], success: str, ignored: int) -> None:
        with lock:
            ctl.output(result_message(result, success))
            ctl.set_exitstatus_from_fault(result["status"], ignored)

    def one(target: _Target) -> None:
        proxy = ctl.new_proxy()
        try:
            pipeline(proxy.supervisor, target)
        finally:
            proxy("close")()

    def pipeline(server: Any, target: _Target) -> None:
        ok = fault_result(target.namespec, _NO_FAULT)
        if target.running or target.explicit:
            try:
                server.stopProcess(target.namespec, True)
            except xmlrpc.client.Fault as exc:
                if exc.faultCode != Fault.NOT_RUNNING or target.explicit:
                    report(fault_result(target.namespec, exc), "stopped", Fault.NOT_RUNNING)
            else:
                report(ok, "stopped", Fault.NOT_RUNNING)
        try:
            server.startProcess(target.namespec, True)
        except xmlrpc.client.Fault as exc:
            report(fault_result(target.namespec, exc), "started", Fault.ALREADY_STARTED)
        else:
            report(ok, "started", Fault.ALREADY_STARTED)

    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(targets))) as pool:
        for future in [pool.submit(one, t) for t in targets]:
            future.result()


_NO_FAULT = xmlrpc.client.Fault(Fault.SUCCESS, "OK")
