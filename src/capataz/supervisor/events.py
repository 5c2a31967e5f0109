"""What the daemon tells its listeners, and the snapshot of a process it hands out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from capataz.supervisor.states import ProcessState, SupervisorState


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """A process as a client sees it; times are wall-clock seconds (0 = never)."""

    name: str
    group: str
    state: ProcessState
    pid: int
    start: float
    stop: float
    now: float
    exitstatus: int | None
    spawnerr: str
    stdout_logfile: str | None
    stderr_logfile: str | None
    description: str

    @property
    def namespec(self) -> str:
        return self.name if self.name == self.group else f"{self.group}:{self.name}"

    @property
    def statename(self) -> str:
        return self.state.name


@dataclass(frozen=True, slots=True)
class ProcessStateChange:
    """PROCESS_STATE_<to_state>: ``tries`` for STARTING/BACKOFF, ``expected`` for EXITED."""

    process: str
    group: str
    from_state: ProcessState
    to_state: ProcessState
    pid: int
    tries: int
    expected: bool | None


@dataclass(frozen=True, slots=True)
class SupervisorStateChange:
    from_state: SupervisorState
    to_state: SupervisorState


@dataclass(frozen=True, slots=True)
class GroupChange:
    """PROCESS_GROUP_ADDED (``added``) or PROCESS_GROUP_REMOVED."""

    group: str
    added: bool


Event = ProcessStateChange | SupervisorStateChange | GroupChange
Listener = Callable[[Event], None]
