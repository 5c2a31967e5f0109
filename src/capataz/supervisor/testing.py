"""An in-memory ``Spawner`` for tests: no processes, every spawn and signal recorded.

Shipped in the package (like an in-memory queue backend) so the state machine
and the ``Supervisor`` API can be tested on a ``FakeClock`` without forking.
"""

from __future__ import annotations

import itertools
import os

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
        #: Set to make the next children exec only when ``report_exec`` says so
        #: (through a real exec-status pipe, so a running event loop is needed).
        self.exec_later = False
        self._exec_pipes: dict[int, int] = {}

    def spawn(self, request: SpawnRequest) -> SpawnedChild:
        self.requests.append(request)
        if self.fail_with is not None:
            raise SpawnError(self.fail_with)
        pid = next(self._pids)
        if not self.exec_later:
            return SpawnedChild(pid)
        read_end, self._exec_pipes[pid] = os.pipe()
        os.set_blocking(read_end, False)
        return SpawnedChild(pid, exec_status=read_end)

    def report_exec(self, pid: int, error: str | None = None) -> None:
        """Child ``pid`` has exec'd or, with ``error``, says why it could not."""
        write_end = self._exec_pipes.pop(pid)
        if error is not None:
            os.write(write_end, error.encode())
        os.close(write_end)

    def kill(self, pid: int, signum: int) -> None:
        if self.kill_error is not None:
            raise self.kill_error
        self.signals.append((pid, signum))
