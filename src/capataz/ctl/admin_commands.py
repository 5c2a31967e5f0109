"""Commands about the daemon and its configuration.

``reread``, ``update``, ``add``, ``remove``, ``avail``, ``reload``, ``shutdown``,
``version`` and ``open``. As in supervisorctl, only ``version`` and ``open``
check the server first; the others report a dead server as an error line.
"""

from __future__ import annotations

import errno
import xmlrpc.client
from typing import Any
from urllib.parse import urlsplit

from capataz.control.protocol import Fault, make_namespec
from capataz.ctl.shell import ControllerBase, Exit


def avail_line(info: dict[str, Any]) -> str:
    name = make_namespec(info["group"], info["name"])
    inuse = "in use" if info["inuse"] else "avail"
    autostart = "auto" if info["autostart"] else "manual"
    priority = f"{info['group_prio']}:{info['process_prio']}"
    return f"{name:<32} {inuse:<9} {autostart:<9} {priority}"


def change_lines(added: list[str], changed: list[str], removed: list[str]) -> list[str]:
    status = dict.fromkeys(added, "available")
    status.update(dict.fromkeys(changed, "changed"))
    status.update(dict.fromkeys(removed, "disappeared"))
    if not status:
        return ["No config updates to processes"]
    return [f"{name}: {status[name]}" for name in sorted(status)]


class AdminCommands(ControllerBase):
    def _no_arguments(self, arg: str, command: str) -> bool:
        if not arg:
            return True
        self.output(f"Error: {command} accepts no arguments")
        self.exitstatus = Exit.GENERIC
        getattr(self, f"help_{command}")()
        return False

    # ---------------------------------------------------------------- avail / reread
    def do_avail(self, arg: str) -> None:
        if not self._no_arguments(arg, "avail"):
            return
        try:
            infos = self.server().getAllConfigInfo()
        except xmlrpc.client.Fault as exc:
            self._shutting_down(exc, "ERROR: supervisor shutting down")
            return
        for info in infos:
            self.output(avail_line(info))

    def help_avail(self) -> None:
        self.output("avail\t\t\tDisplay all configured processes")

    def _shutting_down(self, exc: xmlrpc.client.Fault, message: str) -> None:
        self.exitstatus = Exit.GENERIC
        if exc.faultCode != Fault.SHUTDOWN_STATE:
            raise exc
        self.output(message)

    def do_reread(self, arg: str) -> None:
        if not self._no_arguments(arg, "reread"):
            return
        try:
            added, changed, removed = self.server().reloadConfig()[0]
        except xmlrpc.client.Fault as exc:
            if exc.faultCode == Fault.CANT_REREAD:
                self.exitstatus = Exit.GENERIC
                self.output(f"ERROR: {exc.faultString}")
                return
            self._shutting_down(exc, "ERROR: supervisor shutting down")
            return
        for line in change_lines(added, changed, removed):
            self.output(line)

    def help_reread(self) -> None:
        self.output("reread \t\t\tReload the daemon's configuration files without add/remove")

    # ---------------------------------------------------------------- add / remove
    def do_add(self, arg: str) -> None:
        server = self.server()
        for name in arg.split():
            try:
                server.addProcessGroup(name)
            except xmlrpc.client.Fault as exc:
                if exc.faultCode == Fault.SHUTDOWN_STATE:
                    self.output("ERROR: shutting down")
                    self.exitstatus = Exit.GENERIC
                elif exc.faultCode == Fault.ALREADY_ADDED:
                    self.output("ERROR: process group already active")
                elif exc.faultCode == Fault.BAD_NAME:
                    self.output(f"ERROR: no such process/group: {name}")
                    self.exitstatus = Exit.GENERIC
                else:
                    self.exitstatus = Exit.GENERIC
                    raise
            else:
                self.output(f"{name}: added process group")

    def help_add(self) -> None:
        self.output("add <name> [...]\tActivates any updates in config for process/group")

    def do_remove(self, arg: str) -> None:
        server = self.server()
        for name in arg.split():
            try:
                server.removeProcessGroup(name)
            except xmlrpc.client.Fault as exc:
                self.exitstatus = Exit.GENERIC
                if exc.faultCode == Fault.STILL_RUNNING:
                    self.output(f"ERROR: process/group still running: {name}")
                elif exc.faultCode == Fault.BAD_NAME:
                    self.output(f"ERROR: no such process/group: {name}")
                else:
                    raise
            else:
                self.output(f"{name}: removed process group")

    def help_remove(self) -> None:
        self.output("remove <name> [...]\tRemoves process/group from active config")

    # ---------------------------------------------------------------- update
    def do_update(self, arg: str) -> None:
        server = self.server()
        try:
            added, changed, removed = server.reloadConfig()[0]
        except xmlrpc.client.Fault as exc:
            self._shutting_down(exc, "ERROR: already shutting down")
            return
        wanted = set(arg.split())
        if "all" in wanted:
            wanted = set()
        if wanted:
            known = {info["group"] for info in server.getAllProcessInfo()} | set(added)
            for name in wanted - known:
                self.output(f"ERROR: no such group: {name}")
                self.exitstatus = Exit.GENERIC

        def chosen(names: list[str]) -> list[str]:
            return [n for n in names if not wanted or n in wanted]

        for name in chosen(removed):
            results = server.stopProcessGroup(name)
            self.output(f"{name}: stopped")
            if any(r["status"] == Fault.FAILED for r in results):
                self.output(f"{name}: has problems; not removing")
                self.exitstatus = Exit.GENERIC
                continue
            server.removeProcessGroup(name)
            self.output(f"{name}: removed process group")
        for name in chosen(changed):
            server.stopProcessGroup(name)
            self.output(f"{name}: stopped")
            server.removeProcessGroup(name)
            server.addProcessGroup(name)
            self.output(f"{name}: updated process group")
        for name in chosen(added):
            server.addProcessGroup(name)
            self.output(f"{name}: added process group")

    def help_update(self) -> None:
        what = "Reload config and add/remove as necessary, and will restart affected programs"
        self.output(f"update\t\t\t{what}")
        self.output(f"update all\t\t{what}")
        self.output("update <gname> [...]\tUpdate specific groups")

    # ---------------------------------------------------------------- reload / shutdown
    def _confirmed(self, question: str) -> bool:
        if not self.options.interactive:
            return True
        try:
            return self.read_line(question).lower().startswith("y")
        except EOFError:
            return False

    def do_reload(self, arg: str) -> None:
        if not self._no_arguments(arg, "reload"):
            return
        if not self._confirmed("Really restart the remote supervisord process y/N? "):
            return
        try:
            self.server().restart()
        except xmlrpc.client.Fault as exc:
            self._shutting_down(exc, "ERROR: already shutting down")
        else:
            self.output("Restarted supervisord")

    def help_reload(self) -> None:
        self.output("reload \t\tRestart the remote supervisord.")

    def do_shutdown(self, arg: str) -> None:
        if not self._no_arguments(arg, "shutdown"):
            return
        if not self._confirmed("Really shut the remote supervisord process down y/N? "):
            return
        url = self.options.serverurl
        try:
            self.server().shutdown()
        except xmlrpc.client.Fault as exc:
            if exc.faultCode != Fault.SHUTDOWN_STATE:
                self.exitstatus = Exit.GENERIC
                raise
            self.output("ERROR: already shutting down")
        except OSError as exc:
            self.exitstatus = Exit.GENERIC
            if exc.errno == errno.ECONNREFUSED:
                self.output(f"ERROR: {url} refused connection (already shut down?)")
            elif exc.errno == errno.ENOENT:
                self.output(f"ERROR: {url} no such file (already shut down?)")
            else:
                raise
        else:
            self.output("Shut down")

    def help_shutdown(self) -> None:
        self.output("shutdown \tShut the remote supervisord down.")

    # ---------------------------------------------------------------- version / open
    def do_version(self, arg: str) -> None:
        if not self._no_arguments(arg, "version"):
            return
        if self.upcheck():
            self.output(self.server().getSupervisorVersion())

    def help_version(self) -> None:
        self.output("version\t\t\tShow the version of the remote supervisord process")

    def do_open(self, arg: str) -> None:
        url = arg.strip()
        if urlsplit(url).scheme not in {"unix", "http"}:
            self.output("ERROR: url must be http:// or unix://")
            self.exitstatus = Exit.GENERIC
            return
        self.options.serverurl = url
        self.forget_connection()
        before = self.exitstatus
        self.onecmd("status")
        self.exitstatus = before

    def help_open(self) -> None:
        self.output("open <url>\tConnect to a remote supervisord process.")
        self.output("\t\t(for UNIX domain socket, use unix:///socket/path)")
