"""Dispatching: turn a call of a job into a stored payload, now, later or many at once."""

from __future__ import annotations

import json
import uuid as uuidlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from capataz.queue.backends.base import NewJob
from capataz.queue.clock import Clock, SystemClock
from capataz.queue.connections import CONNECTIONS, Connections
from capataz.queue.errors import DispatchError, PayloadError
from capataz.queue.payload import Payload
from capataz.queue.registry import JobDefinition, seconds


class PendingDispatch:
    """A job plus per-call dispatch options; ``dispatch`` or ``dispatch_many`` sends it."""

    def __init__(
        self,
        definition: JobDefinition,
        *,
        delay: float | timedelta | None = None,
        at: datetime | None = None,
        queue: str | None = None,
        connection: str | None = None,
        connections: Connections | None = None,
        clock: Clock | None = None,
    ) -> None:
        if delay is not None and at is not None:
            raise DispatchError("give a delay or a time (at=), not both")
        if at is not None and at.tzinfo is None:
            raise DispatchError(f"at={at!r} has no time zone; use an aware datetime")
        self.definition = definition
        self.delay = seconds(delay, "delay") or 0.0
        self.at = at
        self.queue = queue or definition.options.queue
        self.connection = connection or definition.options.connection
        self._connections = connections or CONNECTIONS
        self._clock = clock or SystemClock()

    def dispatch(self, *args: Any, **kwargs: Any) -> str:
        return self.dispatch_many([(list(args), kwargs)])[0]

    def dispatch_many(
        self, calls: Iterable[Sequence[Any] | dict[str, Any] | tuple[list[Any], dict[str, Any]]]
    ) -> list[str]:
        now = self._clock.time()
        jobs = [self._new_job(*_split(call), now) for call in calls]
        if not jobs:
            return []
        return self._connections.get(self.connection).push(jobs)

    def _new_job(self, args: list[Any], kwargs: dict[str, Any], now: float) -> NewJob:
        definition, options = self.definition, self.definition.options
        try:
            definition.check_arguments(args, kwargs)
        except PayloadError as exc:
            raise DispatchError(str(exc)) from None
        available_at = self.at.timestamp() if self.at is not None else now + self.delay
        payload = Payload(
            uuid=str(uuidlib.uuid4()),
            job=definition.name,
            queue=self.queue,
            args=args,
            kwargs=kwargs,
            tries=options.tries,
            backoff=list(options.backoff) if options.backoff is not None else None,
            timeout=options.timeout,
            retry_until=options.retry_until,
            max_exceptions=options.max_exceptions,
            fail_on_timeout=options.fail_on_timeout,
            dispatched_at=now,
        )
        try:
            text = payload.encode()
        except PayloadError as exc:
            raise DispatchError(str(exc)) from None
        key = unique_key(definition, args, kwargs)
        unique_until = None
        if key is not None and options.unique_for:
            unique_until = now + options.unique_for
        return NewJob(payload.uuid, self.queue, text, available_at, key, unique_until)


def _split(call: object) -> tuple[list[Any], dict[str, Any]]:
    if isinstance(call, dict):
        return [], dict(call)
    if (
        isinstance(call, tuple)
        and len(call) == 2
        and isinstance(call[0], list)
        and isinstance(call[1], dict)
    ):
        return list(call[0]), dict(call[1])
    if isinstance(call, list | tuple):
        return list(call), {}
    raise DispatchError(
        f"each call in dispatch_many must be a list of arguments or a dict of keyword "
        f"arguments, not {call!r}"
    )


def unique_key(definition: JobDefinition, args: list[Any], kwargs: dict[str, Any]) -> str | None:
    unique = definition.options.unique
    if unique is False:
        return None
    if unique is True:
        key = json.dumps([args, kwargs], sort_keys=True, separators=(",", ":"), default=str)
    elif isinstance(unique, str):
        key = unique
    else:
        key = str(unique(*args, **kwargs))
    return f"{definition.name}:{key}"
