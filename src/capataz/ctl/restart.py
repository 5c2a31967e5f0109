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
from dataclasses import dataclass, field
from typing import Any

from capataz.control.protocol import RUNNING_STATES, Fault, make_namespec, split_namespec
from capataz.ctl.results import fault_result, result_message
from capataz.ctl.shell import ControllerBase, Exit

#: How many processes restart at the same time (each holds one connection). Enough
#: that a large group restarts about as fast as supervisorctl's start-everything pass
#: (each start waits startsecs), few enough not to swamp a single-threaded server.
MAX_PARALLEL = 64


@dataclass(frozen=True)
class _Target:
    namespec: str
    #: Named on its own: a stop of a stopped process is reported, as supervisorctl does.
    explicit: bool
    running: bool


@dataclass
class _Name:
    """One name of the command line: its processes, or why it names none."""

    targets: list[_Target] = field(default_factory=list)
    #: (stop pass, start pass) exit statuses supervisorctl gives a name that matches nothing.
    bad: tuple[int, int] | None = None


def _plan(ctl: ControllerBase, names: list[str], infos: list[dict[str, Any]]) -> list[_Name]:
    def target(info: dict[str, Any], explicit: bool) -> _Target:
        return _Target(make_namespec(info["group"], info["name"]), explicit,
                       info["state"] in RUNNING_STATES)

    if "all" in names:
        return [_Name([target(info, explicit=False) for info in infos])]
    plan = []
    for name in names:
        group, process = split_namespec(name)
        members = [i for i in infos
                   if i["group"] == group and (process is None or i["name"] == process)]
        if members:
            plan.append(_Name([target(info, process is not None) for info in members]))
        elif process is None:
            ctl.output(f"{group}: ERROR (no such group)")
            plan.append(_Name(bad=(Exit.GENERIC, Exit.INVALID_ARGS)))
        else:
            ctl.output(f"{name}: ERROR (no such process)")
            plan.append(_Name(bad=(Exit.GENERIC, Exit.GENERIC)))
    return plan


def restart_streaming(ctl: ControllerBase, names: list[str]) -> None:
    plan = _plan(ctl, names, list(ctl.server().getAllProcessInfo()))
    unique = {t.namespec: t for entry in plan for t in entry.targets}
    lock = threading.Lock()
    #: namespec -> fault code of its stop (None: not stopped) and of its start.
    outcomes: dict[str, tuple[int | None, int]] = {}

    def report(result: dict[str, Any], success: str) -> int:
        with lock:
            ctl.output(result_message(result, success))
        return int(result["status"])

    def one(target: _Target) -> None:
        proxy = ctl.new_proxy()
        try:
            outcomes[target.namespec] = pipeline(proxy.supervisor, target)
        finally:
            proxy("close")()

    def pipeline(server: Any, target: _Target) -> tuple[int | None, int]:
        ok = fault_result(target.namespec, _NO_FAULT)
        stopped: int | None = None
        if target.running or target.explicit:
            try:
                server.stopProcess(target.namespec, True)
            except xmlrpc.client.Fault as exc:
                stopped = exc.faultCode
                if exc.faultCode != Fault.NOT_RUNNING or target.explicit:
                    report(fault_result(target.namespec, exc), "stopped")
            else:
                stopped = report(ok, "stopped")
        try:
            server.startProcess(target.namespec, True)
        except xmlrpc.client.Fault as exc:
            return stopped, report(fault_result(target.namespec, exc), "started")
        return stopped, report(ok, "started")

    if unique:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(unique))) as pool:
            for future in [pool.submit(one, t) for t in unique.values()]:
                future.result()
    _replay_exit_status(ctl, plan, outcomes)


def _replay_exit_status(ctl: ControllerBase, plan: list[_Name],
                        outcomes: dict[str, tuple[int | None, int]]) -> None:
    """The exit status supervisorctl's stop pass then start pass would leave.

    Its last assignment wins, so the order matters: stop results name by name,
    then start results name by name.
    """
    for phase, ignored in ((0, Fault.NOT_RUNNING), (1, Fault.ALREADY_STARTED)):
        for entry in plan:
            if entry.bad is not None:
                ctl.exitstatus = entry.bad[phase]
                continue
            for target in entry.targets:
                code = outcomes[target.namespec][phase]
                if code is not None:
                    ctl.set_exitstatus_from_fault(code, ignored)


_NO_FAULT = xmlrpc.client.Fault(Fault.SUCCESS, "OK")
