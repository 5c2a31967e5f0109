"""Commands that act on processes: status, start, stop, restart, signal, pid, clear."""

from __future__ import annotations

import json
import sys
import xmlrpc.client
from collections.abc import Iterable
from typing import Any

from capataz.control.protocol import (
    STOPPED_STATES,
    Fault,
    make_namespec,
    split_namespec,
)
from capataz.ctl.restart import restart_streaming
from capataz.ctl.results import fault_result, result_message, status_lines
from capataz.ctl.shell import ControllerBase, Exit


class ProcessCommands(ControllerBase):
    # ---------------------------------------------------------------- status
    def do_status(self, arg: str) -> None:
        if not self.upcheck():
            self.exitstatus = Exit.STATUS_UNKNOWN
            return
        names = arg.split()
        as_json = "--json" in names
        names = [n for n in names if n != "--json"]
        all_infos = self.server().getAllProcessInfo()
        errors: list[str] = []
        if not names or "all" in names:
            matching = list(all_infos)
        else:
            matching = []
            for name in names:
                group, process = split_namespec(name)
                found = [i for i in all_infos if i["group"] == group
                         and (process is None or i["name"] == process)]
                if not found:
                    errors.append(f"{group}: ERROR (no such group)" if process is None
                                  else f"{name}: ERROR (no such process)")
                    self.exitstatus = Exit.STATUS_UNKNOWN
                matching.extend(found)
        if as_json:
            for error in errors:
                self.stderr_output(error)
            self.output(json.dumps(matching, indent=2, sort_keys=True))
        else:
            for line in [*errors, *status_lines(matching)]:
                self.output(line)
        if any(info["state"] in STOPPED_STATES for info in matching):
            self.exitstatus = Exit.STATUS_NOT_RUNNING

    def stderr_output(self, message: str) -> None:
        print(message, file=sys.stderr)

    def help_status(self) -> None:
        self.output("status <name>\t\tGet status for a single process")
        self.output("status <gname>:*\tGet status for all processes in a group")
        self.output("status <name> <name>\tGet status for multiple named processes")
        self.output("status\t\t\tGet all process status info")
        self.output("status --json [...]\tThe same, as a JSON array of process info")

    # ---------------------------------------------------------------- pid
    def do_pid(self, arg: str) -> None:
        if not self.upcheck():
            return
        server = self.server()
        names = arg.split()
        if not names:
            self.output(str(server.getPID()))
        elif "all" in names:
            for info in server.getAllProcessInfo():
                self.output(str(info["pid"]))
        else:
            for name in names:
                try:
                    info = server.getProcessInfo(name)
                except xmlrpc.client.Fault as exc:
                    self.exitstatus = Exit.GENERIC
                    if exc.faultCode != Fault.BAD_NAME:
                        raise
                    self.output(f"No such process {name}")
                else:
                    self.output(str(info["pid"]))
                    if info["pid"] == 0:
                        self.exitstatus = Exit.NOT_RUNNING

    def help_pid(self) -> None:
        self.output("pid\t\t\tGet the PID of supervisord.")
        self.output("pid <name>\t\tGet the PID of a single child process by name.")
        self.output("pid all\t\t\tGet the PID of every child process, one per line.")

    # ---------------------------------------------------------------- start / stop
    def _report(self, results: Iterable[dict[str, Any]], success: str,
                ignored: int | None) -> None:
        for result in results:
            self.output(result_message(result, success))
            self.set_exitstatus_from_fault(result["status"], ignored)

    def _act(self, arg: str, verb: str, success: str, ignored: int | None,
             bad_group_exit: int) -> None:
        """start/stop: ``all``, ``group:*`` and single names, as supervisorctl does them."""
        server = self.server()
        names = arg.split()
        if "all" in names:
            self._report(getattr(server, f"{verb}AllProcesses")(), success, ignored)
            return
        for name in names:
            group, process = split_namespec(name)
            try:
                if process is None:
                    results = getattr(server, f"{verb}ProcessGroup")(group)
                    self._report(results, success, ignored)
                else:
                    getattr(server, f"{verb}Process")(name)
                    self.output(f"{make_namespec(group, process)}: {success}")
            except xmlrpc.client.Fault as exc:
                if process is not None:
                    self._report([fault_result(name, exc)], success, ignored)
                elif exc.faultCode == Fault.BAD_NAME:
                    self.output(f"{group}: ERROR (no such group)")
                    self.exitstatus = bad_group_exit
                else:
                    self.exitstatus = Exit.GENERIC
                    raise

    def _needs_names(self, arg: str, command: str, exit_code: int = Exit.GENERIC) -> bool:
        if arg.split():
            return True
        self.output(f"Error: {command} requires a process name")
        self.exitstatus = exit_code
        getattr(self, f"help_{command}")()
        return False

    def do_start(self, arg: str) -> None:
        if self.upcheck() and self._needs_names(arg, "start", Exit.INVALID_ARGS):
            self._act(arg, "start", "started", Fault.ALREADY_STARTED, Exit.INVALID_ARGS)

    def help_start(self) -> None:
        self.output("start <name>\t\tStart a process")
        self.output("start <gname>:*\t\tStart all processes in a group")
        self.output("start <name> <name>\tStart multiple processes or groups")
        self.output("start all\t\tStart all processes")

    def do_stop(self, arg: str) -> None:
        if self.upcheck() and self._needs_names(arg, "stop"):
            self._act(arg, "stop", "stopped", Fault.NOT_RUNNING, Exit.GENERIC)

    def help_stop(self) -> None:
        self.output("stop <name>\t\tStop a process")
        self.output("stop <gname>:*\t\tStop all processes in a group")
        self.output("stop <name> <name>\tStop multiple processes or groups")
        self.output("stop all\t\tStop all processes")

    def do_restart(self, arg: str) -> None:
        if self.upcheck() and self._needs_names(arg, "restart"):
            restart_streaming(self, arg.split())

    def help_restart(self) -> None:
        self.output("restart <name>\t\tRestart a process")
        self.output("restart <gname>:*\tRestart all processes in a group")
        self.output("restart <name> <name>\tRestart multiple processes or groups")
        self.output("restart all\t\tRestart all processes")
        self.output("Note: restart does not reread config files. For that, see reread and update.")

    # ---------------------------------------------------------------- signal
    def do_signal(self, arg: str) -> None:
        if not self.upcheck():
            return
        args = arg.split()
        if len(args) < 2:
            self.output("Error: signal requires a signal name and a process name")
            self.help_signal()
            self.exitstatus = Exit.GENERIC
            return
        sig, names = args[0], args[1:]
        server = self.server()
        if "all" in names:
            self._report(server.signalAllProcesses(sig), "signalled", None)
            return
        for name in names:
            group, process = split_namespec(name)
            try:
                if process is None:
                    self._report(server.signalProcessGroup(group, sig), "signalled", None)
                else:
                    server.signalProcess(name, sig)
                    self.output(f"{make_namespec(group, process)}: signalled")
            except xmlrpc.client.Fault as exc:
                if process is not None:
                    self._report([fault_result(name, exc)], "signalled", None)
                elif exc.faultCode == Fault.BAD_NAME:
                    self.output(f"{group}: ERROR (no such group)")
                    self.exitstatus = Exit.GENERIC
                else:
                    raise

    def help_signal(self) -> None:
        self.output("signal <signal name> <name>\t\tSignal a process")
        self.output("signal <signal name> <gname>:*\t\tSignal all processes in a group")
        self.output("signal <signal name> <name> <name>\tSignal multiple processes or groups")
        self.output("signal <signal name> all\t\tSignal all processes")

    # ---------------------------------------------------------------- clear
    def do_clear(self, arg: str) -> None:
        if not self.upcheck():
            return
        names = arg.split()
        if not names:
            self.output("Error: clear requires a process name")
            self.exitstatus = Exit.GENERIC
            self.help_clear()
            return
        server = self.server()
        if "all" in names:
            self._report(server.clearAllProcessLogs(), "cleared", None)
            return
        for name in names:
            group, process = split_namespec(name)
            try:
                server.clearProcessLogs(name)
            except xmlrpc.client.Fault as exc:
                result = fault_result(name, exc)
                code = exc.faultCode
                # clear names only "no such process" and "failed" (and nothing else).
                text = "no such process" if code == Fault.BAD_NAME else "failed"
                self.output(f"{make_namespec(group, str(process))}: ERROR ({text})")
                self.set_exitstatus_from_fault(result["status"])
            else:
                self.output(f"{make_namespec(group, str(process))}: cleared")

    def help_clear(self) -> None:
        self.output("clear <name>\t\tClear a process' log files.")
        self.output("clear <name> <name>\tClear multiple process' log files")
        self.output("clear all\t\tClear all process' log files")

