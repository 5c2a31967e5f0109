"""The job payload: what a dispatch writes and a worker reads. JSON only, never pickle.

A payload names a job and carries its arguments and the limits chosen when it
was dispatched. A worker trusts none of it: ``decode`` checks every field's
type and raises ``PayloadError`` with a message saying what is wrong, so a
hostile or broken payload ends in the failed jobs instead of in the worker.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from typing import Any

from capataz.queue.errors import PayloadError

#: Limits a payload may carry, with the JSON types each accepts.
_LIMITS: dict[str, tuple[type, ...]] = {
    "tries": (int,),
    "timeout": (int, float),
    "retry_until": (int, float),
    "max_exceptions": (int,),
}
_LIMIT_NAMES = frozenset(_LIMITS)


@dataclass(frozen=True)
class Payload:
    uuid: str
    job: str
    queue: str = "default"
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    tries: int | None = None
    #: Seconds before each retry, by attempt; the last value repeats.
    backoff: list[float] | None = None
    timeout: float | None = None
    #: Seconds after the job was queued during which it may still be retried.
    retry_until: float | None = None
    max_exceptions: int | None = None
    fail_on_timeout: bool = False
    dispatched_at: float = 0.0

    def encode(self) -> str:
        # Shallow on purpose: asdict() would deep-copy the arguments first.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data = {k: v for k, v in data.items() if v is not None}
        try:
            return json.dumps(data, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise PayloadError(
                f"the arguments of {self.job} are not JSON ({exc}); pass ids, strings, "
                "numbers, lists and dicts, and load objects inside the job"
            ) from exc


def _number(name: str, value: object, kinds: tuple[type, ...]) -> Any:
    if isinstance(value, bool) or not isinstance(value, kinds):
        expected = "an integer" if kinds == (int,) else "a number"
        raise PayloadError(f"payload field {name!r} must be {expected}, not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise PayloadError(f"payload field {name!r} must be finite, not {value!r}")
    return value


def _limits(data: dict[str, Any]) -> dict[str, Any]:
    """The limits a payload carries (most carry none: decode() does not call this then)."""
    limits: dict[str, Any] = {}
    for name, kinds in _LIMITS.items():
        if data.get(name) is not None:
            limits[name] = _number(name, data[name], kinds)
    return limits


def decode(text: str | bytes) -> Payload:
    """Parse and check a payload; every problem is a ``PayloadError``."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"the payload is not valid JSON: {exc}") from exc
    except RecursionError:
        raise PayloadError("the payload nests JSON too deeply to be read") from None
    if not isinstance(data, dict):
        raise PayloadError(f"the payload must be a JSON object, not {type(data).__name__}")
    job, uuid, queue = data.get("job"), data.get("uuid"), data.get("queue", "default")
    if not isinstance(job, str) or not job:
        raise PayloadError("the payload has no job name (field 'job')")
    if not isinstance(uuid, str) or not uuid:
        raise PayloadError("the payload has no id (field 'uuid')")
    if not isinstance(queue, str):
        raise PayloadError("payload field 'queue' must be a string")
    args, kwargs = data.get("args", []), data.get("kwargs", {})
    if not isinstance(args, list):
        raise PayloadError("payload field 'args' must be a JSON list")
    if not isinstance(kwargs, dict):
        raise PayloadError("payload field 'kwargs' must be a JSON object")
    limits = _limits(data) if not _LIMIT_NAMES.isdisjoint(data) else {}
    backoff = data.get("backoff")
    if backoff is not None:
        if not isinstance(backoff, list) or not backoff:
            raise PayloadError("payload field 'backoff' must be a non-empty list of seconds")
        backoff = [float(_number("backoff", b, (int, float))) for b in backoff]
    dispatched_at = _number("dispatched_at", data.get("dispatched_at", 0.0), (int, float))
    return Payload(
        uuid=uuid, job=job, queue=queue, args=args, kwargs=kwargs, backoff=backoff,
        fail_on_timeout=bool(data.get("fail_on_timeout", False)),
        dispatched_at=float(dispatched_at), **limits,
    )
