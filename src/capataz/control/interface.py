"""The one interface the control servers need from a daemon.

Every front end (XML-RPC, the JSON API) is written against ``ControlBackend``
and nothing else. The daemon satisfies it through ``capataz.control.adapter``;
tests use the in-memory ``capataz.control.testing.FakeBackend``.

The interface is deliberately per process: group and "all" operations, the
order of results, fault details and the descriptions ``supervisorctl`` prints
are Supervisor's rules, so they are written once, in the server, on top of
these few calls. Failures are ``RpcFault`` with Supervisor's fault code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol, runtime_checkable

from capataz.config.model import GroupConfig


class ProcessView(NamedTuple):
    """One process as a client sees it; times are wall-clock epoch seconds (0 = never).

    A named tuple, not a dataclass: getAllProcessInfo builds one per process on
    every call, and a tuple is several times cheaper to make than a frozen dataclass.
    """

    name: str
    group: str
    state: int  # a ``capataz.control.protocol.ProcessState`` value
    pid: int
    start: float
    stop: float
    now: float
    exitstatus: int
    spawnerr: str
    stdout_logfile: str | None
    stderr_logfile: str | None

    @property
    def namespec(self) -> str:
        return self.name if self.name == self.group else f"{self.group}:{self.name}"


@runtime_checkable
class ControlBackend(Protocol):
    """What a daemon offers its control servers. Names are ``group:name`` or ``name``."""

    # ------------------------------------------------------------ the daemon
    def daemon_state(self) -> int:
        """A ``DaemonState`` value: RUNNING, RESTARTING, SHUTDOWN or FATAL."""

    def identification(self) -> str:
        """``[supervisord] identifier``."""

    def daemon_pid(self) -> int: ...

    def version(self) -> str:
        """The daemon's version, as ``getSupervisorVersion`` reports it."""

    def shutdown(self) -> None: ...

    def restart(self) -> None:
        """Stop everything, read the configuration again, start over (same pid)."""

    # ------------------------------------------------------------ processes
    def processes(self) -> Sequence[ProcessView]:
        """Every process, in start order (groups and processes by priority)."""

    def has_group(self, name: str) -> bool: ...

    async def start_process(self, namespec: str, wait: bool) -> None:
        """Spawn; with ``wait``, return once RUNNING.

        Faults: BAD_NAME, NO_FILE, NOT_EXECUTABLE, ALREADY_STARTED, FAILED,
        SPAWN_ERROR, ABNORMAL_TERMINATION.
        """

    async def stop_process(self, namespec: str, wait: bool) -> None:
        """Send the stop signal; with ``wait``, return once stopped.

        Faults: BAD_NAME, NOT_RUNNING, FAILED.
        """

    def signal_process(self, namespec: str, signum: int) -> None:
        """BAD_NAME, NOT_RUNNING, FAILED."""

    def send_stdin(self, namespec: str, data: bytes) -> None:
        """BAD_NAME, NOT_RUNNING, NO_FILE (stdin closed)."""

    def send_remote_comm_event(self, event_type: str, data: str) -> None:
        """Deliver a REMOTE_COMMUNICATION event to the listeners that want it."""

    # ------------------------------------------------------------ logs
    def logfile(self, namespec: str, channel: str) -> str | None:
        """The path of a process's ``stdout`` or ``stderr`` log (None: not logged). BAD_NAME."""

    def clear_process_logs(self, namespec: str) -> None:
        """Empty both log files and reopen them. BAD_NAME, FAILED."""

    def main_logfile(self) -> str | None: ...

    def clear_main_log(self) -> None:
        """Empty the daemon's own log. NO_FILE, FAILED."""

    # ------------------------------------------------------------ configuration
    def reload_config(self) -> tuple[Sequence[str], Sequence[str], Sequence[str]]:
        """Read the file again: (added, changed, removed) group names. CANT_REREAD."""

    def config_groups(self) -> Sequence[GroupConfig]:
        """The groups of the configuration read last (what ``add_group`` draws from)."""

    def add_group(self, name: str) -> None:
        """BAD_NAME (not in the configuration), ALREADY_ADDED."""

    def remove_group(self, name: str) -> None:
        """BAD_NAME, STILL_RUNNING."""
