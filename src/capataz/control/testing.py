"""``FakeBackend``: an in-memory ``ControlBackend`` for tests of the control servers.

No process is ever spawned: states change when a method says so, and each
process has knobs that choose what its next start does (``outcome``), so
every fault path of the API can be reached on purpose::

    backend = FakeBackend.from_config(config)          # or FakeBackend.simple(...)
    backend.proc("grp:a").outcome = "spawn_error"
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from capataz.config.model import Config, GroupConfig, GroupKind, ProcessConfig
from capataz.control.errors import RpcFault
from capataz.control.interface import ProcessView
from capataz.control.protocol import (
    RUNNING_STATES,
    SIGNALLABLE_STATES,
    STOPPED_STATES,
    DaemonState,
    Fault,
    ProcessState,
    split_namespec,
)

Outcome = Literal["running", "spawn_error", "abnormal"]


@dataclass
class FakeProcess:
    name: str
    group: str
    priority: int = 999
    state: ProcessState = ProcessState.STOPPED
    pid: int = 0
    start: float = 0.0
    stop: float = 0.0
    exitstatus: int = 0
    spawnerr: str = ""
    stdout_logfile: str | None = None
    stderr_logfile: str | None = None
    #: What the next start does.
    outcome: Outcome = "running"
    #: A NO_FILE or NOT_EXECUTABLE fault the command would give.
    command_fault: RpcFault | None = None
    stop_fails: str | None = None
    clear_fails: bool = False
    stdin_closed: bool = False
    stdin: bytearray = field(default_factory=bytearray)
    signals: list[int] = field(default_factory=list)


def _group_of(config: GroupConfig) -> dict[str, FakeProcess]:
    return {p.name: FakeProcess(p.name, config.name, p.priority) for p in config.processes}


class FakeBackend:
    """Every ``ControlBackend`` method, on plain data."""

    def __init__(self, groups: Sequence[GroupConfig] = (), *,
                 clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.state = DaemonState.RUNNING
        self.pid = 4242
        self.identifier = "supervisor"
        self.version_text = "4.3.0"
        self.main_log: str | None = None
        self.configured: list[GroupConfig] = list(groups)
        self.priorities = {g.name: g.priority for g in groups}
        self.groups: dict[str, dict[str, FakeProcess]] = {g.name: _group_of(g) for g in groups}
        #: The configuration each active group was built from (what reread compares).
        self.active: dict[str, GroupConfig] = {g.name: g for g in groups}
        #: What the next ``reload_config`` reads: new groups, or an error message.
        self.next_config: list[GroupConfig] | str | None = None
        self.remote_events: list[tuple[str, str]] = []
        self._next_pid = 1000

    @classmethod
    def from_config(cls, config: Config, **kwargs: Callable[[], float]) -> FakeBackend:
        return cls(config.groups, **kwargs)

    @classmethod
    def simple(cls, layout: dict[str, Sequence[str]]) -> FakeBackend:
        """``{"grp": ["a", "b"], "solo": ["solo"]}``: groups of default programs."""
        return cls([group_config(name, members) for name, members in layout.items()])

    def proc(self, namespec: str) -> FakeProcess:
        group, name = split_namespec(namespec)
        process = self.groups.get(group, {}).get(name or "")
        if process is None:
            raise RpcFault(Fault.BAD_NAME, namespec)
        return process

    # ------------------------------------------------------------ the daemon
    def daemon_state(self) -> int:
        return self.state

    def identification(self) -> str:
        return self.identifier

    def daemon_pid(self) -> int:
        return self.pid

    def version(self) -> str:
        return self.version_text

    def shutdown(self) -> None:
        self.state = DaemonState.SHUTDOWN

    def restart(self) -> None:
        self.state = DaemonState.RESTARTING

    # ------------------------------------------------------------ processes
    def processes(self) -> list[ProcessView]:
        ordered = sorted(self.groups, key=lambda g: (self.priorities.get(g, 999), g))
        now = self.clock()
        return [
            ProcessView(p.name, p.group, p.state, p.pid, p.start, p.stop, now, p.exitstatus,
                        p.spawnerr, p.stdout_logfile, p.stderr_logfile)
            for g in ordered
            for p in sorted(self.groups[g].values(), key=lambda p: (p.priority, p.name))
        ]

    def has_group(self, name: str) -> bool:
        return name in self.groups

    async def start_process(self, namespec: str, wait: bool) -> None:
        process = self.proc(namespec)
        if process.command_fault is not None:
            raise process.command_fault
        if process.state in RUNNING_STATES:
            raise RpcFault(Fault.ALREADY_STARTED, namespec)
        if process.state == ProcessState.UNKNOWN:
            raise RpcFault(Fault.FAILED, f"{namespec} is in an unknown process state")
        await asyncio.sleep(0)
        process.start, process.spawnerr = self.clock(), ""
        if process.outcome == "spawn_error":
            process.state, process.spawnerr = ProcessState.BACKOFF, "Exited too quickly"
            raise RpcFault(Fault.SPAWN_ERROR, namespec)
        self._next_pid += 1
        process.pid = self._next_pid
        if process.outcome == "abnormal":
            process.state, process.pid = ProcessState.BACKOFF, 0
            if wait:
                raise RpcFault(Fault.ABNORMAL_TERMINATION, namespec)
            return
        process.state = ProcessState.RUNNING if wait else ProcessState.STARTING

    async def stop_process(self, namespec: str, wait: bool) -> None:
        process = self.proc(namespec)
        if process.state not in RUNNING_STATES:
            raise RpcFault(Fault.NOT_RUNNING, namespec)
        if process.stop_fails is not None:
            raise RpcFault(Fault.FAILED, process.stop_fails)
        await asyncio.sleep(0)
        process.state = ProcessState.STOPPED if wait else ProcessState.STOPPING
        process.stop, process.pid = self.clock(), 0 if wait else process.pid

    def signal_process(self, namespec: str, signum: int) -> None:
        process = self.proc(namespec)
        if process.state not in SIGNALLABLE_STATES:
            raise RpcFault(Fault.NOT_RUNNING, namespec)
        process.signals.append(signum)

    def send_stdin(self, namespec: str, data: bytes) -> None:
        process = self.proc(namespec)
        if not process.pid or process.state not in RUNNING_STATES:
            raise RpcFault(Fault.NOT_RUNNING, namespec)
        if process.stdin_closed:
            raise RpcFault(Fault.NO_FILE, namespec)
        process.stdin += data

    def send_remote_comm_event(self, event_type: str, data: str) -> None:
        self.remote_events.append((event_type, data))

    # ------------------------------------------------------------ logs
    def logfile(self, namespec: str, channel: str) -> str | None:
        process = self.proc(namespec)
        return process.stdout_logfile if channel == "stdout" else process.stderr_logfile

    def clear_process_logs(self, namespec: str) -> None:
        process = self.proc(namespec)
        if process.clear_fails:
            raise RpcFault(Fault.FAILED, namespec)
        for path in (process.stdout_logfile, process.stderr_logfile):
            if path is not None and os.path.exists(path):
                os.truncate(path, 0)

    def main_logfile(self) -> str | None:
        return self.main_log

    def clear_main_log(self) -> None:
        if self.main_log is None or not os.path.exists(self.main_log):
            raise RpcFault(Fault.NO_FILE)
        os.truncate(self.main_log, 0)

    # ------------------------------------------------------------ configuration
    def reload_config(self) -> tuple[list[str], list[str], list[str]]:
        if isinstance(self.next_config, str):
            raise RpcFault(Fault.CANT_REREAD, self.next_config)
        if self.next_config is not None:
            self.configured = list(self.next_config)
        new = {g.name: g for g in self.configured}
        added = sorted(set(new) - set(self.active))
        removed = sorted(set(self.active) - set(new))
        changed = sorted(n for n in set(new) & set(self.active) if new[n] != self.active[n])
        return added, changed, removed

    def config_groups(self) -> list[GroupConfig]:
        return list(self.configured)

    def add_group(self, name: str) -> None:
        config = next((g for g in self.configured if g.name == name), None)
        if config is None:
            raise RpcFault(Fault.BAD_NAME, name)
        if name in self.groups:
            raise RpcFault(Fault.ALREADY_ADDED, name)
        self.groups[name] = _group_of(config)
        self.priorities[name] = config.priority
        self.active[name] = config

    def remove_group(self, name: str) -> None:
        if name not in self.groups:
            raise RpcFault(Fault.BAD_NAME, name)
        if any(p.state not in STOPPED_STATES for p in self.groups[name].values()):
            raise RpcFault(Fault.STILL_RUNNING, name)
        del self.groups[name]
        del self.active[name]


def group_config(name: str, members: Sequence[str], priority: int = 999,
                 command: str = "sleep 1000") -> GroupConfig:
    """A group of default programs, for tests that need a configuration."""
    processes = tuple(ProcessConfig(member, member, name, command) for member in members)
    return GroupConfig(name, priority, GroupKind.PROGRAM, processes)
