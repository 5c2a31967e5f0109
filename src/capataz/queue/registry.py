"""Jobs: the ``@job`` decorator, the options it takes, and the registry a worker runs from.

A worker runs only functions registered here by the modules it was told to
load (``-A/--app``); a payload naming anything else fails cleanly. Options set
on a job win over the worker's flags, as a Laravel job's ``$tries`` wins over
``--tries``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, overload

from capataz.queue.errors import JobNotRegisteredError, PayloadError, QueueError

if TYPE_CHECKING:
    from capataz.queue.dispatch import PendingDispatch

JobFunction = Callable[..., Any]
FailedHook = Callable[..., Any]
UniqueKey = bool | str | Callable[..., str]
#: Argument shapes remembered per job as known to fit (see check_arguments).
MAX_SHAPES = 64


def seconds(value: float | timedelta | None, what: str) -> float | None:
    if value is None:
        return None
    result = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if result < 0:
        raise QueueError(f"{what} must be zero or more seconds, not {value!r}")
    return result


def backoff_list(
    value: float | Sequence[float] | None, what: str = "backoff"
) -> tuple[float, ...] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, int | float) else list(value)
    if not values:
        raise QueueError(f"{what} needs at least one number of seconds")
    return tuple(seconds(v, what) or 0.0 for v in values)


def backoff_for(backoff: Sequence[float], attempts: int) -> float:
    """Laravel's rule: the delay for attempt n is item n-1; the last item repeats."""
    if not backoff:
        return 0.0
    return backoff[min(max(attempts, 1), len(backoff)) - 1]


@dataclass(frozen=True)
class JobOptions:
    name: str
    queue: str = "default"
    connection: str = "default"
    tries: int | None = None
    backoff: tuple[float, ...] | None = None
    timeout: float | None = None
    retry_until: float | None = None
    max_exceptions: int | None = None
    fail_on_timeout: bool = False
    unique: UniqueKey = False
    unique_for: float | None = None


class JobDefinition:
    """A registered job. Call it to run it here and now; ``dispatch`` to queue it."""

    def __init__(self, func: JobFunction, options: JobOptions) -> None:
        self.func = func
        self.options = options
        self.failed_hook: FailedHook | None = None
        self.signature = inspect.signature(func)
        # Whether arguments fit depends only on how many are positional and which
        # names are given, so each shape that fitted is bound once, not once per job.
        self._fitting_shapes: set[tuple[int, tuple[str, ...]]] = set()
        self.__doc__ = func.__doc__
        self.__wrapped__ = func

    def __repr__(self) -> str:
        return f"<job {self.options.name}>"

    @property
    def name(self) -> str:
        return self.options.name

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def failed(self, hook: FailedHook) -> FailedHook:
        """Register ``hook(error, *args, **kwargs)``, run once after the job's last attempt."""
        self.failed_hook = hook
        return hook

    def check_arguments(self, args: Sequence[Any], kwargs: dict[str, Any]) -> None:
        shape = (len(args), tuple(kwargs) if kwargs else ())
        if shape in self._fitting_shapes:
            return
        try:
            self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            empty = inspect.Parameter.empty
            params = [p.replace(annotation=empty) for p in self.signature.parameters.values()]
            bare = self.signature.replace(parameters=params, return_annotation=empty)
            raise PayloadError(f"the arguments do not fit {self.name}{bare}: {exc}") from exc
        if len(self._fitting_shapes) < MAX_SHAPES:  # payloads inventing names stay unbounded
            self._fitting_shapes.add(shape)

    # -- dispatching --------------------------------------------------------
    def using(
        self,
        *,
        delay: float | timedelta | None = None,
        at: datetime | None = None,
        queue: str | None = None,
        connection: str | None = None,
    ) -> PendingDispatch:
        """Dispatch options for one call: ``send.using(delay=60).dispatch(7)``."""
        from capataz.queue.dispatch import PendingDispatch

        return PendingDispatch(self, delay=delay, at=at, queue=queue, connection=connection)

    def dispatch(self, *args: Any, **kwargs: Any) -> str:
        """Queue one run of this job; return its id (the first job's id for a unique duplicate)."""
        return self.using().dispatch(*args, **kwargs)

    def dispatch_many(self, calls: Iterable[Sequence[Any] | dict[str, Any]]) -> list[str]:
        """Queue many runs in one transaction: each item is a list of args or a dict of kwargs."""
        return self.using().dispatch_many(calls)


class Registry:
    """Job names to definitions; the worker looks every payload up here."""

    def __init__(self) -> None:
        self._jobs: dict[str, JobDefinition] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._jobs

    def __len__(self) -> int:
        return len(self._jobs)

    def names(self) -> list[str]:
        return sorted(self._jobs)

    def add(self, definition: JobDefinition) -> JobDefinition:
        self._jobs[definition.name] = definition
        return definition

    def get(self, name: str) -> JobDefinition:
        try:
            return self._jobs[name]
        except KeyError:
            raise JobNotRegisteredError(
                f"no job named {name!r} is registered in this worker; load the module that "
                "defines it with -A/--app (or CAPATAZ_APP)"
            ) from None

    def load(self, modules: Iterable[str]) -> list[str]:
        """Import the application modules whose ``@job`` functions this worker may run."""
        loaded = []
        for entry in modules:
            module = entry.strip()
            if not module:
                continue
            try:
                importlib.import_module(module)
            except Exception as exc:
                raise QueueError(
                    f"cannot load the application module {module!r} given with -A/--app: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            loaded.append(module)
        return loaded


#: The registry ``@job`` writes to unless given another.
REGISTRY = Registry()


@overload
def job(func: JobFunction, /) -> JobDefinition: ...


@overload
def job(
    *,
    name: str | None = None,
    queue: str = "default",
    connection: str = "default",
    tries: int | None = None,
    backoff: float | Sequence[float] | None = None,
    timeout: float | timedelta | None = None,
    retry_until: float | timedelta | None = None,
    max_exceptions: int | None = None,
    fail_on_timeout: bool = False,
    unique: UniqueKey = False,
    unique_for: float | timedelta | None = None,
    registry: Registry | None = None,
) -> Callable[[JobFunction], JobDefinition]: ...


def job(
    func: JobFunction | None = None,
    /,
    *,
    name: str | None = None,
    queue: str = "default",
    connection: str = "default",
    tries: int | None = None,
    backoff: float | Sequence[float] | None = None,
    timeout: float | timedelta | None = None,
    retry_until: float | timedelta | None = None,
    max_exceptions: int | None = None,
    fail_on_timeout: bool = False,
    unique: UniqueKey = False,
    unique_for: float | timedelta | None = None,
    registry: Registry | None = None,
) -> JobDefinition | Callable[[JobFunction], JobDefinition]:
    """Register a function (plain or ``async def``) as a job.

    ``tries`` (0 = unlimited), ``backoff`` (seconds, or a list by attempt),
    ``timeout`` (seconds, 0 = none), ``retry_until`` (seconds after queueing
    during which retries are allowed), ``max_exceptions``, ``fail_on_timeout``,
    ``queue``, ``connection`` and ``unique`` (True, a fixed key, or a function of
    the arguments returning the key; ``unique_for`` bounds how long it holds)
    override the worker's flags for this job.
    """
    for label, count in (("tries", tries), ("max_exceptions", max_exceptions)):
        if count is not None and (isinstance(count, bool) or count < 0):
            raise QueueError(f"{label} must be a whole number, 0 or more, not {count!r}")
    template = JobOptions(
        name="",
        queue=queue,
        connection=connection,
        tries=tries,
        backoff=backoff_list(backoff),
        timeout=seconds(timeout, "timeout"),
        retry_until=seconds(retry_until, "retry_until"),
        max_exceptions=max_exceptions,
        fail_on_timeout=fail_on_timeout,
        unique=unique,
        unique_for=seconds(unique_for, "unique_for"),
    )
    target = registry if registry is not None else REGISTRY

    def register(function: JobFunction) -> JobDefinition:
        job_name = name or f"{function.__module__}.{function.__qualname__}"
        return target.add(JobDefinition(function, replace(template, name=job_name)))

    return register if func is None else register(func)
