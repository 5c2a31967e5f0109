"""Queue connections: a URL names a store, a connection name picks a URL.

``sqlite:///var/lib/capataz/queue.db`` (everything after ``sqlite://`` is the
path), ``postgresql://…`` and ``redis://…``/``rediss://…`` (the server stores),
``memory://`` (this process only; tests). The ``default`` connection's
URL comes from ``CAPATAZ_QUEUE_URL``, or is the SQLite file in the user's data
directory (``$XDG_DATA_HOME/capataz/queue.sqlite3``, normally
``~/.local/share/capataz/queue.sqlite3``). A job declared with
``connection="reports"`` goes to ``CAPATAZ_QUEUE_URL_REPORTS``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from capataz.queue.backends.base import Backend
from capataz.queue.clock import Clock
from capataz.queue.errors import DispatchError, QueueURLError

URL_ENV = "CAPATAZ_QUEUE_URL"
Factory = Callable[[str, str, "Clock | None"], Backend]


def default_store_path() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "capataz" / "queue.sqlite3"


def default_url() -> str:
    return os.environ.get(URL_ENV) or f"sqlite://{default_store_path()}"


def _sqlite(rest: str, connection: str, clock: Clock | None) -> Backend:
    from capataz.queue.backends.sqlite import SqliteBackend

    if not rest:
        raise QueueURLError("a sqlite URL needs a path: sqlite:///var/lib/capataz/queue.db")
    return SqliteBackend(rest, clock, connection=connection)


def _memory(rest: str, connection: str, clock: Clock | None) -> Backend:
    from capataz.queue.backends.memory import MemoryBackend

    del rest
    return MemoryBackend(clock, connection=connection)


def _postgres(rest: str, connection: str, clock: Clock | None) -> Backend:
    try:
        from capataz.queue.backends.postgres import PostgresBackend
    except ImportError as exc:
        raise QueueURLError(
            f"postgresql:// needs psycopg 3 ({exc}); install it with: "
            "pip install 'capataz[postgres]'"
        ) from exc
    return PostgresBackend(f"postgresql://{rest}", clock, connection=connection)


def _redis(scheme: str) -> Factory:
    def open_redis(rest: str, connection: str, clock: Clock | None) -> Backend:
        try:
            from capataz.queue.backends.redis import RedisBackend
        except ImportError as exc:
            raise QueueURLError(
                f"{scheme}:// needs redis-py ({exc}); install it with: pip install 'capataz[redis]'"
            ) from exc
        return RedisBackend(f"{scheme}://{rest}", clock, connection=connection)

    return open_redis


#: URL scheme -> factory(rest of the URL after "scheme://", connection name, clock).
BACKENDS: dict[str, Factory] = {
    "sqlite": _sqlite,
    "memory": _memory,
    "postgresql": _postgres,
    "postgres": _postgres,
    "redis": _redis("redis"),
    "rediss": _redis("rediss"),
}


def open_backend(url: str, *, connection: str = "default", clock: Clock | None = None) -> Backend:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise QueueURLError(
            f"{url!r} is not a queue URL; use sqlite:///path/to/queue.db (or memory://)"
        )
    factory = BACKENDS.get(scheme.lower())
    if factory is None:
        known = ", ".join(f"{s}://" for s in sorted(BACKENDS))
        raise QueueURLError(f"no queue backend for {scheme}:// in this version; use one of {known}")
    return factory(rest, connection, clock)


class Connections:
    """The stores this process dispatches to, opened on first use and kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, Backend] = {}

    def use(self, backend: Backend | str, name: str = "default") -> Backend:
        """Set the store behind a connection name (a backend or a URL)."""
        if isinstance(backend, str):
            backend = open_backend(backend, connection=name)
        with self._lock:
            self._open[name] = backend
        return backend

    def get(self, name: str = "default") -> Backend:
        with self._lock:
            if name in self._open:
                return self._open[name]
        if name == "default":
            url = default_url()
        else:
            env = f"{URL_ENV}_{name.upper().replace('-', '_')}"
            url = os.environ.get(env, "")
            if not url:
                raise DispatchError(
                    f"the queue connection {name!r} has no URL; set {env} "
                    "(for example sqlite:///var/lib/capataz/reports.db)"
                )
        return self.use(url, name)

    def reset(self) -> None:
        with self._lock:
            backends, self._open = list(self._open.values()), {}
        for backend in backends:
            backend.close()


#: The process-wide connections ``dispatch`` uses.
CONNECTIONS = Connections()
use = CONNECTIONS.use
