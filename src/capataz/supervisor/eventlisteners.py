"""Supervisor's event listener protocol: ``[eventlistener:x]`` pools and their events.

A listener is a supervised process that prints ``READY``, receives one event
on its stdin (a header line, then ``len`` bytes of payload) and answers
``RESULT 2\\nOK`` (or ``RESULT 4\\nFAIL`` to have it sent again). superlance's
crashmail, memmon and httpok speak it; this module speaks it the same way:
same event names and payloads, same envelope, same listener states
(ACKNOWLEDGED, READY, BUSY, UNKNOWN), the oldest event dropped when a pool's
``buffer_size`` is full.
"""

from __future__ import annotations

import enum
import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from capataz.config.model import GroupConfig
from capataz.supervisor.clock import Clock, Timer
from capataz.supervisor.events import (
    Event,
    ProcessStateChange,
    SupervisorStateChange,
)
from capataz.supervisor.process import Process
from capataz.supervisor.states import ProcessState, SupervisorState

log = logging.getLogger("capataz.supervisor")
S = ProcessState

#: Each event type's parent: a subscription to a parent gets all its children.
PARENTS: dict[str, str] = {
    **{f"PROCESS_STATE_{s.name}": "PROCESS_STATE" for s in ProcessState},
    "PROCESS_STATE": "EVENT",
    "PROCESS_LOG_STDOUT": "PROCESS_LOG",
    "PROCESS_LOG_STDERR": "PROCESS_LOG",
    "PROCESS_LOG": "EVENT",
    "PROCESS_COMMUNICATION_STDOUT": "PROCESS_COMMUNICATION",
    "PROCESS_COMMUNICATION_STDERR": "PROCESS_COMMUNICATION",
    "PROCESS_COMMUNICATION": "EVENT",
    "REMOTE_COMMUNICATION": "EVENT",
    "SUPERVISOR_STATE_CHANGE_RUNNING": "SUPERVISOR_STATE_CHANGE",
    "SUPERVISOR_STATE_CHANGE_STOPPING": "SUPERVISOR_STATE_CHANGE",
    "SUPERVISOR_STATE_CHANGE": "EVENT",
    "TICK_5": "TICK",
    "TICK_60": "TICK",
    "TICK_3600": "TICK",
    "TICK": "EVENT",
    "PROCESS_GROUP_ADDED": "PROCESS_GROUP",
    "PROCESS_GROUP_REMOVED": "PROCESS_GROUP",
    "PROCESS_GROUP": "EVENT",
}
TICK_PERIODS = (5, 60, 3600)

_READY = b"READY\n"
_RESULT = b"RESULT "


def subscribed(subscriptions: tuple[str, ...], name: str) -> bool:
    """True if ``name`` or one of its ancestors is among ``subscriptions``."""
    current: str | None = name
    while current is not None:
        if current in subscriptions:
            return True
        current = PARENTS.get(current)
    return False


@dataclass(frozen=True, slots=True)
class Notification:
    """One event as listeners receive it."""

    name: str
    payload: str
    serial: int


def describe(event: Event) -> tuple[str, str] | None:
    """Supervisor's event name and payload for a daemon event (None: no such event)."""
    if isinstance(event, ProcessStateChange):
        pairs = [("processname", event.process), ("groupname", event.group),
                 ("from_state", event.from_state.name)]
        if event.to_state in (S.STARTING, S.BACKOFF):
            pairs.append(("tries", str(event.tries)))
        elif event.to_state is S.EXITED:
            pairs += [("expected", str(int(bool(event.expected)))), ("pid", str(event.pid))]
        elif event.to_state in (S.RUNNING, S.STOPPING, S.STOPPED):
            pairs.append(("pid", str(event.pid)))
        payload = " ".join(f"{key}:{value}" for key, value in pairs)
        return f"PROCESS_STATE_{event.to_state.name}", payload
    if isinstance(event, SupervisorStateChange):
        if event.to_state is SupervisorState.RUNNING:
            return "SUPERVISOR_STATE_CHANGE_RUNNING", ""
        if event.from_state is SupervisorState.RUNNING:
            return "SUPERVISOR_STATE_CHANGE_STOPPING", ""
        return None
    kind = "ADDED" if event.added else "REMOVED"
    return f"PROCESS_GROUP_{kind}", f"groupname:{event.group}\n"


class ListenerState(enum.Enum):
    ACKNOWLEDGED = "ACKNOWLEDGED"
    READY = "READY"
    BUSY = "BUSY"
    UNKNOWN = "UNKNOWN"


class Listener:
    """One listener process's side of the protocol; fed with its stdout."""

    def __init__(self, pool: ListenerPool, process: Process) -> None:
        self.pool = pool
        self.process = process
        self.state = ListenerState.ACKNOWLEDGED
        self.event: Notification | None = None
        self._buffer = bytearray()
        self._result_len: int | None = None

    def restarted(self) -> None:
        """A new child: it must say READY before it gets anything."""
        self._give_back()
        self.state = ListenerState.ACKNOWLEDGED
        self._buffer.clear()
        self._result_len = None

    def gone(self) -> None:
        """The child died: an event it held goes back to the pool."""
        self._give_back()
        self.state = ListenerState.ACKNOWLEDGED

    def _give_back(self) -> None:
        if self.event is not None:
            self.pool.rebuffer(self.event)
            self.event = None

    # The same two methods as OutputChannel, so a PipeReader can feed either.
    def feed(self, data: bytes, partial: bytearray | None = None) -> None:
        del partial  # the protocol keeps its own buffer
        self._buffer += data
        self._advance()

    def flush(self, partial: bytearray | None = None) -> None:
        del partial

    def _advance(self) -> None:
        while self._buffer:
            if self.state is ListenerState.UNKNOWN:
                self._buffer.clear()
            elif self.state is ListenerState.ACKNOWLEDGED:
                if len(self._buffer) < len(_READY):
                    return
                if not self._buffer.startswith(_READY):
                    self._confused("expected READY")
                    continue
                del self._buffer[: len(_READY)]
                self.state = ListenerState.READY
                self.pool.dispatch()
            elif self.state is ListenerState.READY:
                self._confused("output while waiting for an event")
            elif not self._read_result():
                return

    def _read_result(self) -> bool:
        if self._result_len is None:
            end = self._buffer.find(b"\n")
            if end < 0:
                return False
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            length = _result_length(line)
            if length is None:
                log.warning("%s: bad result line: %r", self.process.name, line)
                self._give_back()
                self._confused("bad result line")
                return True
            self._result_len = length
        if len(self._buffer) < self._result_len:
            return False
        result = bytes(self._buffer[: self._result_len])
        del self._buffer[: self._result_len]
        self._result_len = None
        event, self.event = self.event, None
        if result != b"OK" and event is not None:
            log.debug("%s rejected event %d", self.process.name, event.serial)
            self.pool.rebuffer(event)
        self.state = ListenerState.ACKNOWLEDGED
        return True

    def _confused(self, why: str) -> None:
        log.warning("%s: event listener protocol error (%s); it gets no events until it is "
                    "restarted", self.process.name, why)
        self.state = ListenerState.UNKNOWN
        self._buffer.clear()

    def send(self, event: Notification, pool_serial: int, identifier: str) -> bool:
        payload = event.payload.encode()
        header = (
            f"ver:3.0 server:{identifier} serial:{event.serial} pool:{self.pool.name} "
            f"poolserial:{pool_serial} eventname:{event.name} len:{len(payload)}\n"
        )
        try:
            self.process.write_stdin(header.encode() + payload)
        except OSError:
            return False
        self.state = ListenerState.BUSY
        self.event = event
        return True


def _result_length(line: bytes) -> int | None:
    if not line.startswith(_RESULT):
        return None
    try:
        return int(line[len(_RESULT):])
    except ValueError:
        return None


class ListenerPool:
    """An ``[eventlistener:x]`` group: its subscriptions, buffer and listeners."""

    def __init__(self, config: GroupConfig, identifier: str) -> None:
        assert config.eventlistener is not None  # noqa: S101 - only eventlistener groups
        self.name = config.name
        self.subscriptions = config.eventlistener.events
        self.buffer_size = config.eventlistener.buffer_size
        self.identifier = identifier
        self.listeners: dict[str, Listener] = {}
        self.buffer: deque[Notification] = deque()
        self._serials = itertools.count(1)

    def add(self, process: Process) -> Listener:
        listener = Listener(self, process)
        self.listeners[process.name] = listener
        return listener

    def accept(self, event: Notification) -> None:
        if subscribed(self.subscriptions, event.name):
            self._push(event, front=False)
            self.dispatch()

    def rebuffer(self, event: Notification) -> None:
        self._push(event, front=True)

    def _push(self, event: Notification, *, front: bool) -> None:
        if len(self.buffer) >= self.buffer_size and self.buffer:
            dropped = self.buffer.popleft()
            log.error("pool %s event buffer overflowed, discarding event %d",
                      self.name, dropped.serial)
        if front:
            self.buffer.appendleft(event)
        else:
            self.buffer.append(event)

    def dispatch(self) -> None:
        while self.buffer:
            ready = [
                listener for listener in self.listeners.values()
                if listener.state is ListenerState.READY and listener.process.state is S.RUNNING
            ]
            if not ready:
                return
            event = self.buffer.popleft()
            if not ready[0].send(event, next(self._serials), self.identifier):
                self.buffer.appendleft(event)
                return


class EventBus:
    """Turns the daemon's events into Supervisor's and hands them to the pools."""

    def __init__(self, clock: Clock, identifier: Callable[[], str]) -> None:
        self._clock = clock
        self._identifier = identifier
        self.pools: dict[str, ListenerPool] = {}
        self._listeners: dict[Process, Listener] = {}
        self._serials = itertools.count(1)
        self._ticks: list[Timer] = []

    def add_group(self, config: GroupConfig, processes: list[Process]) -> None:
        pool = ListenerPool(config, self._identifier())
        for process in processes:
            self._listeners[process] = pool.add(process)
        self.pools[config.name] = pool

    def remove_group(self, name: str) -> None:
        pool = self.pools.pop(name, None)
        if pool is not None:
            for listener in pool.listeners.values():
                self._listeners.pop(listener.process, None)

    def listener_for(self, process: Process) -> Listener | None:
        return self._listeners.get(process)

    def publish(self, event: Event) -> None:
        if isinstance(event, ProcessStateChange):
            self._follow_listener(event)
        described = describe(event)
        if described is not None:
            self.notify(*described)

    def notify(self, name: str, payload: str) -> None:
        if not self.pools:
            return
        notification = Notification(name, payload, next(self._serials))
        for pool in list(self.pools.values()):
            pool.accept(notification)

    def _follow_listener(self, change: ProcessStateChange) -> None:
        listener = next((lsn for p, lsn in self._listeners.items()
                         if p.name == change.process and p.group == change.group), None)
        if listener is None:
            return
        if change.to_state is S.STARTING:
            listener.restarted()
        elif change.to_state is S.RUNNING:
            listener.pool.dispatch()
        elif change.to_state in (S.EXITED, S.STOPPED, S.BACKOFF, S.FATAL, S.UNKNOWN):
            listener.gone()

    # ------------------------------------------------------------ TICK_5/60/3600
    def start_ticks(self) -> None:
        for period in TICK_PERIODS:
            self._schedule_tick(period)

    def _schedule_tick(self, period: int) -> None:
        delay = period - (self._clock.wall() % period)
        self._ticks.append(self._clock.call_later(delay, lambda: self._tick(period)))

    def _tick(self, period: int) -> None:
        when = int(self._clock.wall() // period) * period
        self.notify(f"TICK_{period}", f"when:{when}")
        self._schedule_tick(period)

    def stop_ticks(self) -> None:
        for timer in self._ticks:
            timer.cancel()
        self._ticks.clear()
