"""An in-memory ``Spawner`` for tests: no processes, every spawn and signal recorded.

Shipped in the package (like an in-memory queue backend) so the state machine
and the ``Supervisor`` API can be tested on a ``FakeClock`` without forking.
"""

from __future__ import annotations

import itertools

from capataz.supervisor.errors import SpawnError
from capataz.supervisor.spawn import SpawnedChild, SpawnRequest


def exited(code: int) -> int:
    """The wait status of a child that exited with ``code``."""
    return (code & 0xFF) << 8


def killed(signum: int) -> int:
    """The wait status of a child killed by ``signum``."""
    return signum & 0x7F


class FakeSpawner:
    def __init__(self, first_pid: int = 1000) -> None:
        self._pids = itertools.count(first_pid)
        self.requests: list[SpawnRequest] = []
        self.signals: list[tuple[int, int]] = []
        #: Set to a message to make the next spawns fail with it.
        self.fail_with: str | None = None
        #: Set to an ``OSError`` to make the next signals fail with it.
        self.kill_error: OSError | None = None

    def spawn(self, request: SpawnRequest) -> SpawnedChild:
        self.requests.append(request)
        if self.fail_with is not None:
            raise SpawnError(self.fail_with)
        return SpawnedChild(next(self._pids))

    def kill(self, pid: int, signum: int) -> None:
        if self.kill_error is not None:
            raise self.kill_error
        self.signals.append((pid, signum))
