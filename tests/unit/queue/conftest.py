"""A worker on the in-memory store, a fake clock and a watchdog the test fires by hand."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from capataz.queue import FakeClock, MemoryBackend, Registry, Worker, WorkerOptions
from capataz.queue.backends.base import NewJob
from capataz.queue.dispatch import PendingDispatch
from capataz.queue.output import Output
from capataz.queue.registry import JobDefinition


class FakeWatchdog:
    def __init__(self) -> None:
        self.armed: tuple[str, float, Callable[[], None]] | None = None
        self.timeouts: list[float] = []
        self.closed = False

    def arm(self, lease_token: str, timeout: float, on_timeout: Callable[[], None]) -> None:
        self.armed = (lease_token, timeout, on_timeout)
        self.timeouts.append(timeout)

    def disarm(self) -> None:
        self.armed = None

    def fire(self) -> None:
        assert self.armed is not None, "no job is running"
        self.armed[2]()

    def close(self) -> None:
        self.closed = True


@dataclass
class Rig:
    clock: FakeClock
    backend: MemoryBackend
    registry: Registry
    watchdog: FakeWatchdog
    stream: io.StringIO
    exits: list[int] = field(default_factory=list)
    memory_mb: float = 10.0

    def worker(self, **options: Any) -> Worker:
        options.setdefault("stop_when_empty", True)
        return Worker(
            self.backend,
            WorkerOptions(**options),
            registry=self.registry,
            clock=self.clock,
            output=Output(self.clock, stream=self.stream),
            watchdog=self.watchdog,
            memory_probe=lambda: self.memory_mb,
            hard_exit=self.exits.append,
        )

    def dispatch(self, definition: JobDefinition, *args: Any, delay: float = 0.0,
                 **kwargs: Any) -> str:
        pending = PendingDispatch(
            definition, delay=delay, clock=self.clock, connections=_Fixed(self.backend)
        )
        return pending.dispatch(*args, **kwargs)

    def push_raw(self, payload: str, uuid: str = "raw-1", queue: str = "default") -> None:
        self.backend.push([NewJob(uuid, queue, payload, self.clock.time())])

    @property
    def fixed(self) -> Any:
        return _Fixed(self.backend)

    @property
    def log(self) -> str:
        return self.stream.getvalue()


class _Fixed:
    def __init__(self, backend: MemoryBackend) -> None:
        self.backend = backend

    def get(self, name: str = "default") -> MemoryBackend:
        del name
        return self.backend


@pytest.fixture
def rig() -> Rig:
    clock = FakeClock()
    return Rig(clock, MemoryBackend(clock), Registry(), FakeWatchdog(), io.StringIO())
