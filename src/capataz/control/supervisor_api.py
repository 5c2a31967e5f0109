# ruff: noqa: N802, N815 - the method names are Supervisor's wire names, in camelCase
"""The ``supervisor.*`` XML-RPC namespace, API version 3.0, on a ``ControlBackend``.

Each public coroutine here is one XML-RPC method; ``capataz.control.rpc``
publishes them with their signatures. What is Supervisor's rule rather than
the daemon's lives here: which processes a group or "all" call touches, the
shape and order of results, fault details, and the ``description`` text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from operator import attrgetter
from typing import Any

from capataz.control import logs
from capataz.control.errors import RpcFault
from capataz.control.interface import ControlBackend, ProcessView
from capataz.control.protocol import (
    API_VERSION,
    RUNNING_STATES,
    SIGNALLABLE_STATES,
    DaemonState,
    Fault,
    make_namespec,
    split_namespec,
)
from capataz.control.structs import (
    ProcessXml,
    Struct,
    config_struct,
    process_struct,
    signal_number,
)

_GROUP_AND_NAME = attrgetter("group", "name")

#: Faults whose detail is the name the client asked about, whatever the daemon said.
_NAME_DETAIL = frozenset({
    Fault.BAD_NAME, Fault.ALREADY_STARTED, Fault.SPAWN_ERROR, Fault.ABNORMAL_TERMINATION,
    Fault.NOT_RUNNING, Fault.ALREADY_ADDED, Fault.STILL_RUNNING,
})


def _result(info: ProcessView, fault: RpcFault | None) -> Struct:
    return {
        "name": info.name, "group": info.group,
        "status": int(Fault.SUCCESS if fault is None else fault.code),
        "description": "OK" if fault is None else fault.text,
    }


async def _named(name: str, work: Awaitable[Any]) -> Any:
    """Await ``work``; a fault about the process carries ``name``, as Supervisor's do."""
    try:
        return await work
    except RpcFault as fault:
        if fault.code in _NAME_DETAIL:
            raise RpcFault(fault.code, name) from None
        raise


class SupervisorApi:
    """``supervisor.*``: one coroutine per method, in Supervisor's names."""

    def __init__(self, backend: ControlBackend) -> None:
        self.backend = backend
        self._process_xml = ProcessXml()

    # ------------------------------------------------------------ helpers
    def check_state(self) -> None:
        if self.backend.daemon_state() < DaemonState.RUNNING:
            raise RpcFault(Fault.SHUTDOWN_STATE)

    def _lookup(self, name: str) -> tuple[str, ProcessView | None]:
        """(group, process) for ``name``; process None for ``group:*``. BAD_NAME."""
        group, process = split_namespec(name)
        if not self.backend.has_group(group):
            raise RpcFault(Fault.BAD_NAME, name)
        if process is None:
            return group, None
        for info in self.backend.processes():
            if info.group == group and info.name == process:
                return group, info
        raise RpcFault(Fault.BAD_NAME, name)

    def _process(self, name: str) -> ProcessView:
        _, info = self._lookup(name)
        if info is None:
            raise RpcFault(Fault.BAD_NAME, name)
        return info

    def _members(self, group: str | None) -> list[ProcessView]:
        if group is not None and not self.backend.has_group(group):
            raise RpcFault(Fault.BAD_NAME, group)
        return [p for p in self.backend.processes() if group is None or p.group == group]

    async def _each(
        self, infos: Sequence[ProcessView], work: Callable[[str], Awaitable[Any]]
    ) -> list[Struct]:
        """Run ``work`` on every process at once; one result struct per process, in order."""

        async def one(info: ProcessView) -> Struct:
            namespec = make_namespec(info.group, info.name)
            try:
                await _named(namespec, work(namespec))
            except RpcFault as fault:
                return _result(info, fault)
            return _result(info, None)

        return list(await asyncio.gather(*(one(info) for info in infos)))

    # ------------------------------------------------------------ the daemon
    async def getAPIVersion(self) -> str:
        return API_VERSION

    getVersion = getAPIVersion

    async def getSupervisorVersion(self) -> str:
        return self.backend.version()

    async def getIdentification(self) -> str:
        return self.backend.identification()

    async def getState(self) -> Struct:
        code = self.backend.daemon_state()
        return {"statecode": int(code), "statename": DaemonState(code).name}

    async def getPID(self) -> int:
        return self.backend.daemon_pid()

    async def readLog(self, offset: int, length: int) -> str:
        return logs.read_log(self.backend.main_logfile(), offset, length)

    readMainLog = readLog

    async def clearLog(self) -> bool:
        self.backend.clear_main_log()
        return True

    async def shutdown(self) -> bool:
        self.backend.shutdown()
        return True

    async def restart(self) -> bool:
        self.backend.restart()
        return True

    # ------------------------------------------------------------ configuration
    async def reloadConfig(self) -> list[list[list[str]]]:
        added, changed, removed = self.backend.reload_config()
        return [[list(added), list(changed), list(removed)]]

    async def addProcessGroup(self, name: str) -> bool:
        await _named(name, _now(self.backend.add_group, name))
        return True

    async def removeProcessGroup(self, name: str) -> bool:
        await _named(name, _now(self.backend.remove_group, name))
        return True

    async def getAllConfigInfo(self) -> list[Struct]:
        structs = []
        for group in self.backend.config_groups():
            inuse = self.backend.has_group(group.name)
            for process in group.processes:
                struct = config_struct(group, process, inuse)
                if inuse:
                    self._show_auto_logs(struct, make_namespec(group.name, process.name))
                structs.append(struct)
        return sorted(structs, key=lambda s: s["name"])

    def _show_auto_logs(self, struct: Struct, namespec: str) -> None:
        """An AUTO log of a running group reads as its real path, as supervisord shows it."""
        for channel in ("stdout", "stderr"):
            if struct[f"{channel}_logfile"] == "auto":
                try:
                    path = self.backend.logfile(namespec, channel)
                except RpcFault:
                    continue  # the group's members changed since: keep "auto"
                struct[f"{channel}_logfile"] = path or "auto"

    # ------------------------------------------------------------ start / stop / signal
    async def startProcess(self, name: str, wait: bool = True) -> bool | list[Struct]:
        group, info = self._lookup(name)
        if info is None:
            return await self.startProcessGroup(group, wait)
        await _named(name, self.backend.start_process(info.namespec, bool(wait)))
        return True

    async def startProcessGroup(self, name: str, wait: bool = True) -> list[Struct]:
        todo = [p for p in self._members(name) if p.state not in RUNNING_STATES]
        return await self._each(todo, lambda n: self.backend.start_process(n, bool(wait)))

    async def startAllProcesses(self, wait: bool = True) -> list[Struct]:
        todo = [p for p in self._members(None) if p.state not in RUNNING_STATES]
        return await self._each(todo, lambda n: self.backend.start_process(n, bool(wait)))

    async def stopProcess(self, name: str, wait: bool = True) -> bool | list[Struct]:
        group, info = self._lookup(name)
        if info is None:
            return await self.stopProcessGroup(group, wait)
        await _named(name, self.backend.stop_process(info.namespec, bool(wait)))
        return True

    async def stopProcessGroup(self, name: str, wait: bool = True) -> list[Struct]:
        todo = [p for p in self._members(name) if p.state in RUNNING_STATES]
        return await self._each(todo, lambda n: self.backend.stop_process(n, bool(wait)))

    async def stopAllProcesses(self, wait: bool = True) -> list[Struct]:
        todo = [p for p in self._members(None) if p.state in RUNNING_STATES]
        return await self._each(todo, lambda n: self.backend.stop_process(n, bool(wait)))

    async def signalProcess(self, name: str, signal: str) -> bool | list[Struct]:
        group, info = self._lookup(name)
        if info is None:
            return await self.signalProcessGroup(group, signal)
        number = signal_number(signal)
        await _named(name, _now(self.backend.signal_process, info.namespec, number))
        return True

    async def _signal_each(self, infos: list[ProcessView], signal: str) -> list[Struct]:
        todo = [p for p in infos if p.state in SIGNALLABLE_STATES]

        async def send(namespec: str) -> None:
            self.backend.signal_process(namespec, signal_number(signal))

        return await self._each(todo, send)

    async def signalProcessGroup(self, name: str, signal: str) -> list[Struct]:
        return await self._signal_each(self._members(name), signal)

    async def signalAllProcesses(self, signal: str) -> list[Struct]:
        return await self._signal_each(self._members(None), signal)

    # ------------------------------------------------------------ information
    async def getProcessInfo(self, name: str) -> Struct:
        return process_struct(self._process(name))

    async def getAllProcessInfo(self) -> list[Struct]:
        return [process_struct(info) for info in self._by_group_and_name()]

    def _by_group_and_name(self) -> list[ProcessView]:
        return sorted(self.backend.processes(), key=_GROUP_AND_NAME)

    # The same two answers as XML-RPC ``<value>`` text, from the rendered-struct
    # cache: what the XML-RPC server sends for these methods.
    async def process_info_xml(self, name: str) -> str:
        return self._process_xml.struct(self._process(name))

    async def all_process_info_xml(self) -> str:
        return self._process_xml.array(self._by_group_and_name())

    # ------------------------------------------------------------ process logs
    def _logfile(self, name: str, channel: str) -> str | None:
        info = self._process(name)
        return self.backend.logfile(info.namespec, channel)

    async def readProcessStdoutLog(self, name: str, offset: int, length: int) -> str:
        return logs.read_log(self._logfile(name, "stdout"), offset, length)

    readProcessLog = readProcessStdoutLog

    async def readProcessStderrLog(self, name: str, offset: int, length: int) -> str:
        return logs.read_log(self._logfile(name, "stderr"), offset, length)

    async def tailProcessStdoutLog(self, name: str, offset: int, length: int) -> list[object]:
        return logs.tail_log(self._logfile(name, "stdout"), offset, length)

    tailProcessLog = tailProcessStdoutLog

    async def tailProcessStderrLog(self, name: str, offset: int, length: int) -> list[object]:
        return logs.tail_log(self._logfile(name, "stderr"), offset, length)

    async def clearProcessLogs(self, name: str) -> bool:
        info = self._process(name)
        try:
            self.backend.clear_process_logs(info.namespec)
        except RpcFault as fault:
            raise RpcFault(fault.code, name) from None
        return True

    clearProcessLog = clearProcessLogs

    async def clearAllProcessLogs(self) -> list[Struct]:
        return await self._each(self._members(None), self.clearProcessLogs)

    # ------------------------------------------------------------ talking to processes
    async def sendProcessStdin(self, name: str, chars: str) -> bool:
        if not isinstance(chars, str | bytes):
            raise RpcFault(Fault.INCORRECT_PARAMETERS, chars)
        data = chars.encode() if isinstance(chars, str) else chars
        info = self._process(name)
        try:
            self.backend.send_stdin(info.namespec, data)
        except RpcFault as fault:
            raise RpcFault(fault.code, name) from None
        return True

    async def sendRemoteCommEvent(self, type: str, data: str) -> bool:
        self.backend.send_remote_comm_event(str(type), str(data))
        return True


async def _now(function: Callable[..., None], *args: object) -> None:
    """A synchronous backend call as an awaitable, so ``_named`` can wrap it."""
    function(*args)
