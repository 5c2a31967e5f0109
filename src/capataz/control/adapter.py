"""``SupervisorBackend``: the daemon's ``Supervisor`` seen through ``ControlBackend``.

A thin translation: names pass through, the daemon's ``ProcessInfo`` becomes
a ``ProcessView``, and each daemon error becomes the fault it names
(``SupervisorError.fault``), in one place.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import capataz
from capataz.config.model import GroupConfig
from capataz.control.errors import RpcFault
from capataz.control.interface import ProcessView
from capataz.control.protocol import Fault
from capataz.supervisor import Supervisor, SupervisorError


@contextmanager
def _faults() -> Iterator[None]:
    """Daemon errors as faults: the error class names its fault, the message is the detail."""
    try:
        yield
    except SupervisorError as exc:
        code = Fault.__members__.get(exc.fault, Fault.FAILED)
        raise RpcFault(code, str(exc) or None) from exc


class SupervisorBackend:
    """``ControlBackend`` over a running ``capataz.supervisor.Supervisor``."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor

    # ------------------------------------------------------------ the daemon
    def daemon_state(self) -> int:
        return int(self.supervisor.state)

    def identification(self) -> str:
        return self.supervisor.config.supervisord.identifier

    def daemon_pid(self) -> int:
        return os.getpid()

    def version(self) -> str:
        return capataz.__version__

    def shutdown(self) -> None:
        self.supervisor.shutdown()

    def restart(self) -> None:
        self.supervisor.restart()

    # ------------------------------------------------------------ processes
    def processes(self) -> list[ProcessView]:
        # The same fields as ``Process.info()``, read directly: getAllProcessInfo asks
        # for every process on each call, and info() also writes a description the
        # control layer writes itself (structs.describe).
        now = self.supervisor.clock.wall()
        return [
            ProcessView(p.name, p.group, p.state, p.pid, p.start_wall, p.stop_wall, now,
                        p.exitstatus or 0, p.spawnerr or "", p.stdout_logfile, p.stderr_logfile)
            for p in self.supervisor.processes()
        ]

    def has_group(self, name: str) -> bool:
        return name in self.supervisor.groups

    async def start_process(self, namespec: str, wait: bool) -> None:
        with _faults():
            await self.supervisor.start_process(namespec, wait)

    async def stop_process(self, namespec: str, wait: bool) -> None:
        with _faults():
            await self.supervisor.stop_process(namespec, wait)

    def signal_process(self, namespec: str, signum: int) -> None:
        with _faults():
            self.supervisor.signal_process(namespec, signum)

    def send_stdin(self, namespec: str, data: bytes) -> None:
        # A closed stdin is the daemon's NoFileError, hence NO_FILE as in Supervisor.
        with _faults():
            self.supervisor.send_stdin(namespec, data)

    def send_remote_comm_event(self, event_type: str, data: str) -> None:
        self.supervisor.send_remote_comm_event(event_type, data)

    # ------------------------------------------------------------ logs
    def logfile(self, namespec: str, channel: str) -> str | None:
        with _faults():
            process = self.supervisor.process(namespec)
        return process.stdout_logfile if channel == "stdout" else process.stderr_logfile

    def clear_process_logs(self, namespec: str) -> None:
        try:
            with _faults():
                self.supervisor.clear_process_logs(namespec)
        except RpcFault as fault:
            if fault.code == Fault.BAD_NAME:
                raise
            raise RpcFault(Fault.FAILED, namespec) from fault

    def main_logfile(self) -> str | None:
        return self.supervisor.main_logfile

    def clear_main_log(self) -> None:
        if self.supervisor.main_logfile is None:
            raise RpcFault(Fault.NO_FILE)
        with _faults():
            self.supervisor.clear_main_log()

    # ------------------------------------------------------------ configuration
    def reload_config(self) -> tuple[list[str], list[str], list[str]]:
        with _faults():
            diff = self.supervisor.reload_config()
        return list(diff.added), list(diff.changed), list(diff.removed)

    def config_groups(self) -> Sequence[GroupConfig]:
        return self.supervisor.config.groups

    def add_group(self, name: str) -> None:
        with _faults():
            self.supervisor.add_group(name)

    def remove_group(self, name: str) -> None:
        with _faults():
            self.supervisor.remove_group(name)
