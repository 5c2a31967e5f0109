"""The Redis store: the same contract as SQLite and PostgreSQL, each state change one Lua script.

Every change (push, claim, renew, complete, release, fail, retry, clear, markers)
runs as one script in ``redis_scripts/``, so Redis applies it atomically: no
worker ever sees half a claim. Scripts are loaded once and called by their SHA;
after a server restart redis-py loads them again by itself.

Waiting and delayed jobs of a queue share one sorted set scored by the time they
become available, so a delayed job needs no move: a claim simply takes the
lowest score that is due. Running jobs sit in a lease set scored by expiry; the
claim script first puts back every job whose lease ran out.

Idle workers SUBSCRIBE to the store's wake channel; a script that makes a job
available or changes a marker PUBLISHes to it, so :meth:`RedisBackend.wait`
returns within milliseconds. The worker waits in short slices, so it still sees
a signal at once; delayed jobs and expired leases are found by its polling.

Durability is Redis's: run it with ``appendonly yes`` (``appendfsync everysec``
loses at most a second of changes on a crash, ``always`` none) and
``maxmemory-policy noeviction``; see docs/deployment-multihost.md.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from importlib.resources import files
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.client import PubSub
from redis.commands.core import Script
from redis.exceptions import NoScriptError
from redis.retry import Retry

from capataz.queue.backends.base import FailedJob, NewJob, NextJob, QueueStats, ReservedJob
from capataz.queue.backends.outage import Outage, retry_link
from capataz.queue.clock import Clock, SystemClock
from capataz.queue.errors import QueueURLError, StoreError, StoreUnavailableError

T = TypeVar("T")
LOG = logging.getLogger("capataz.queue.redis")
DEFAULT_PREFIX = "capataz"
SETTLE_PATIENCE = 30.0
#: How long opening the store waits for a server that is restarting (or not up yet).
OPEN_PATIENCE = 10.0
_PREFIX = re.compile(r"^[A-Za-z0-9_.{}-]{1,64}$")
SCRIPTS = (
    "push", "claim", "complete_and_claim", "claim_next", "renew", "complete", "release", "fail",
    "retry_failed", "forget_failed", "flush_failed", "failed_page", "failed_get", "clear",
    "stats", "set_marker", "delete_marker",
)


def parse_url(url: str) -> tuple[str, str, str]:
    """``redis://host:6379/0?prefix=capataz`` -> (URL for redis-py, prefix, where)."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    prefix = params.pop("prefix", DEFAULT_PREFIX)
    if not _PREFIX.match(prefix):
        raise QueueURLError(
            f"?prefix={prefix!r} is not a usable key prefix; use letters, digits, . _ - "
            "(for example ?prefix=capataz)"
        )
    client_url = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(params), ""))
    where = f"Redis at {parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"
    return client_url, prefix, where


def _load_scripts(client: redis.Redis) -> dict[str, Script]:
    folder = files("capataz.queue.backends").joinpath("redis_scripts")
    lib = folder.joinpath("_lib.lua").read_text("utf-8")
    return {
        name: client.register_script(lib + "\n" + folder.joinpath(f"{name}.lua").read_text("utf-8"))
        for name in SCRIPTS
    }


def _is_link_error(error: BaseException) -> bool:
    return isinstance(error, redis.ConnectionError | redis.TimeoutError)


def _float(value: Any) -> float:
    return float(value)


def _reserved(flat: Sequence[Any]) -> list[ReservedJob]:
    """Claim scripts return 8 fields per job, one flat list."""
    return [
        ReservedJob(int(f[0]), f[1], f[2], f[3], int(f[4]), int(f[5]), _float(f[6]), f[7])
        for f in (flat[i:i + 8] for i in range(0, len(flat), 8))
    ]


class _Nonces:
    """The nonce of each lease token (see _lib.lua): unique, and cheap to make.

    A random prefix per process and a counter: reading the system's random source
    for every claim costs more than the rest of the token. A forked child draws a
    prefix of its own, so no two processes ever hand out the same nonce.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._count = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._count):x}"


_nonce = _Nonces()
os.register_at_fork(after_in_child=_nonce.reset)


def _bulk(args: Sequence[Any]) -> bytes:
    """Arguments of a command in the wire protocol (RESP), as redis-py encodes them: str
    as UTF-8, numbers by repr()."""
    parts = []
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else repr(arg).encode()
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(parts)


def _string_answer(conn: Any, packed: bytes) -> str | None:
    """Send a packed command on a connected redis-py connection and read its answer, one
    bulk string (or an error), straight off the socket.

    Errors are redis-py's: a reply error becomes the exception redis-py would raise,
    a broken or timed-out socket a ConnectionError or TimeoutError. Anything but a bulk
    string or an error leaves the connection's state unknown: it is dropped.
    """
    sock = conn._sock
    try:
        sock.sendall(packed)
        data: bytes = sock.recv(_READ_SIZE)
        end = data.find(b"\r\n")
        while end < 0:
            data += _more(sock)
            end = data.find(b"\r\n")
        kind = data[:1]
        if kind == b"$":
            size = int(data[1:end])
            if size < 0:
                return None
            whole = end + size + 4
            if len(data) < whole:  # a large payload: gather it without copying it each time
                buffer = bytearray(data)
                while len(buffer) < whole:
                    buffer += _more(sock)
                data = bytes(buffer)
            return data[end + 2:end + 2 + size].decode()
    except TimeoutError as exc:  # socket.timeout
        raise redis.TimeoutError(f"Timeout reading from {conn.host}:{conn.port}") from exc
    except OSError as exc:
        raise redis.ConnectionError(f"Error while talking to {conn.host}:{conn.port}: {exc}"
                                    ) from exc
    if kind == b"-":
        raise conn._parser.parse_error(data[1:end].decode(errors="replace"))
    if kind == b"_":  # RESP3's nil
        return None
    raise redis.ConnectionError(f"unexpected answer from Redis: {data[:40]!r}")


_READ_SIZE = 65536


def _more(sock: Any) -> bytes:
    chunk: bytes = sock.recv(_READ_SIZE)
    if not chunk:
        raise ConnectionResetError("Connection closed by server.")
    return chunk


class RedisBackend:
    """A job store under one key prefix of a Redis database."""

    def __init__(self, url: str, clock: Clock | None = None, *, connection: str = "default"
                 ) -> None:
        self.connection = connection
        client_url, self.prefix, self.where = parse_url(url)
        self._clock = clock or SystemClock()
        self._outage = Outage(self.where, LOG, self._clock, self._drop_pubsub)
        self._lock = threading.RLock()
        self._pubsub: PubSub | None = None
        self._worker_link: redis.Redis | None = None
        self._markers: dict[str, float] | None = None
        self._channel = f"{self.prefix}:wake"
        #: Each script's EVALSHA, its SHA and the prefix, packed once (see _evalsha).
        self._heads: dict[str, bytes] = {}
        self._claim_next_args: tuple[str, Sequence[str], dict[str, float],
                                     tuple[Sequence[Any], bytes]] | None = None
        try:
            # One immediate retry replaces a connection that died with a server restart;
            # longer outages are ridden out by this class, not inside redis-py.
            pooled = redis.Redis.from_url(
                client_url, decode_responses=True, socket_timeout=10,
                socket_connect_timeout=3, retry=Retry(NoBackoff(), 1),
            )
            self._client = pooled
            self._scripts = _load_scripts(self._client)
            self._claim_next_script = self._scripts["claim_next"]
            retry_link(self._check_server, _is_link_error, self._outage, self._clock,
                       OPEN_PATIENCE)
        except StoreUnavailableError as exc:
            raise StoreError(f"cannot open the queue store: {exc}") from exc
        except (redis.RedisError, ValueError) as exc:
            raise StoreError(
                f"cannot open the queue store in {self.where}: {exc}; check the URL and that "
                "the server runs"
            ) from exc

    def __repr__(self) -> str:
        return f"<RedisBackend {self.where} prefix={self.prefix}>"

    def _check_server(self) -> None:
        """Ping, and say so when the server's settings can lose jobs (see the module doc)."""
        self._client.ping()
        try:
            config = self._client.config_get("maxmemory-policy")
            config.update(self._client.config_get("appendonly"))
        except redis.ResponseError:  # CONFIG is disabled on some managed servers
            return
        policy = config.get("maxmemory-policy")
        if policy and policy != "noeviction":
            LOG.warning(
                "%s evicts keys under memory pressure (maxmemory-policy %s): jobs can be lost; "
                "set maxmemory-policy noeviction", self.where, policy,
            )
        if config.get("appendonly") == "no":
            LOG.warning(
                "%s keeps the queue only in memory (appendonly no): a restart of Redis loses "
                "every job; set appendonly yes", self.where,
            )

    # -- the link -----------------------------------------------------------
    def _use(self, action: Callable[[], T], *, patience: float = 0.0) -> T:
        try:
            return retry_link(action, _is_link_error, self._outage, self._clock, patience)
        except StoreUnavailableError:
            raise
        except redis.RedisError as exc:
            raise StoreError(f"the queue store in {self.where} failed: {exc}") from exc

    def _script(self, name: str, *args: Any, patience: float = 0.0) -> Any:
        script = self._scripts[name]
        return self._use(lambda: script(keys=[], args=[self.prefix, *args]), patience=patience)

    def _worker_script(self, name: str, *args: Any, patience: float = 0.0) -> Any:
        """A script of a worker's hot path (claim, renew, settle), on the worker's link."""
        return self._use(lambda: self._evalsha(self._scripts[name], args), patience=patience)

    def _evalsha(self, script: Script, args: Sequence[Any], *, text: bool = False,
                 fixed: tuple[Sequence[Any], bytes] = ((), b"")) -> Any:
        """EVALSHA on the worker's link, straight on its connection.

        redis-py's command path (options, retry wrapper, per-command bookkeeping)
        costs a no-op job's worth of CPU on every call; this sends the packed command
        and reads the answer under the link's lock, which the heartbeat thread's
        calls take too. With ``text`` (a script answering one string: claim_next) the
        answer is read off the socket here, without redis-py's reply parser. As in
        redis-py, a dropped connection is replaced and the command sent again once; a
        script the server does not know (it restarted) goes through redis-py, which
        loads it. ``fixed`` is more arguments after ``args``, with their packed form.
        """
        link = self._link()
        conn = link.connection
        head = self._heads.get(script.sha)
        if head is None:
            head = self._heads[script.sha] = _bulk(("EVALSHA", script.sha, 0, self.prefix))
        more, packed_more = fixed
        packed = b"*%d\r\n%b%b%b" % (len(args) + len(more) + 4, head, _bulk(args), packed_more)
        with link.single_connection_lock:
            if conn is not None:
                for retry in (False, True):
                    try:
                        if text and getattr(conn, "_sock", None) is not None:
                            return _string_answer(conn, packed)
                        conn.send_packed_command([packed], check_health=False)  # type: ignore[no-untyped-call, unused-ignore]
                        return conn.read_response()
                    except NoScriptError:
                        break
                    except (redis.ConnectionError, redis.TimeoutError):
                        conn.disconnect()  # type: ignore[no-untyped-call, unused-ignore]
                        if retry:
                            raise
        return script(keys=[], args=[self.prefix, *args, *more], client=link)

    def _link(self) -> redis.Redis:
        """One connection, kept, for a worker's own calls.

        The pool checks a connection out for every command and first polls its socket
        for stray data: three system calls, about a no-op job's worth of claiming. A
        worker's calls come from its loop and its heartbeat thread only, which one
        connection serves (redis-py serialises them); dispatching threads of an
        application keep the pool, and PUBSUB takes its own connection from it.
        """
        with self._lock:
            if self._worker_link is None:
                self._worker_link = redis.Redis(connection_pool=self._client.connection_pool,
                                                single_connection_client=True)
            return self._worker_link

    # -- jobs ---------------------------------------------------------------
    def push(self, jobs: Sequence[NewJob]) -> list[str]:
        if not jobs:
            return []
        args: list[Any] = [self._clock.time()]
        for job in jobs:
            args += [
                job.uuid, job.queue, job.payload, job.available_at, job.unique_key or "",
                "" if job.unique_until is None else job.unique_until,
            ]
        return list(self._script("push", *args))

    def claim(self, queues: Sequence[str], worker: str, lease_seconds: float) -> ReservedJob | None:
        jobs = self.claim_batch(queues, worker, lease_seconds, 1)
        return jobs[0] if jobs else None

    def claim_batch(self, queues: Sequence[str], worker: str, lease_seconds: float,
                    limit: int) -> list[ReservedJob]:
        """Reserve up to ``limit`` jobs from the queues in strict priority order."""
        if not self._outage.may_try() or limit < 1:
            return []
        self._subscribe()
        now = self._clock.time()
        nonces = [_nonce() for _ in range(limit)]
        try:
            flat = self._worker_script("claim", now, worker, now + lease_seconds, limit, *nonces,
                                       *queues)
        except StoreUnavailableError:
            return []
        return _reserved(flat)

    def complete_and_claim(self, lease_token: str, queues: Sequence[str], worker: str,
                           lease_seconds: float) -> tuple[bool, ReservedJob | None]:
        """Complete a job and reserve the next in one script (one round trip, not two)."""
        self._subscribe()
        now = self._clock.time()
        try:
            flat = self._worker_script("complete_and_claim", lease_token, now, worker,
                                       now + lease_seconds, _nonce(), *queues)
        except StoreUnavailableError:
            return self.complete(lease_token), None
        jobs = _reserved(flat[1:])
        return bool(flat[0]), (jobs[0] if jobs else None)

    def claim_next(self, finished: str | None, queues: Sequence[str], worker: str,
                   lease_seconds: float, markers: Mapping[str, float]) -> NextJob:
        """Complete, compare the markers and claim in one script (see ClaimsNext)."""
        if finished is None and not self._outage.may_try():
            return NextJob(None)
        if self._pubsub is None:
            self._subscribe()
        now = self._clock.time()
        args = (finished or "", now, now + lease_seconds, _nonce())
        fixed = self._claim_next_fixed(worker, queues, markers)
        try:
            answer = self._use(lambda: self._evalsha(self._claim_next_script, args, text=True,
                                                     fixed=fixed))
        except StoreUnavailableError:
            return NextJob(None, self.complete(finished) if finished is not None else True)
        flat = json.loads(answer)
        completed = bool(flat[0])
        if flat[1]:
            self._markers = {
                str(flat[i]): float(flat[i + 1]) for i in range(2, len(flat), 2)
            }
            return NextJob(None, completed, dict(self._markers))
        if len(flat) < 10:
            return NextJob(None, completed)
        m, uuid, queue, payload, attempts, exceptions, created_at, token = flat[2:10]
        return NextJob(ReservedJob(int(m), uuid, queue, payload, int(attempts), int(exceptions),
                                   float(created_at), token), completed)

    def _claim_next_fixed(self, worker: str, queues: Sequence[str],
                          markers: Mapping[str, float]) -> tuple[Sequence[Any], bytes]:
        """claim_next's arguments that stay the same from one job to the next (worker,
        markers, queues), packed once for as long as they do."""
        cached = self._claim_next_args
        if (cached is not None and cached[0] is worker and cached[1] is queues
                and cached[2] == markers):
            return cached[3]
        more: list[Any] = [worker, len(markers)]
        for name, value in markers.items():
            more += (name, value)
        more += queues
        fixed = (more, _bulk(more))
        self._claim_next_args = (worker, queues, dict(markers), fixed)
        return fixed

    def renew(self, lease_token: str, lease_seconds: float) -> bool:
        return bool(self._worker_script("renew", lease_token, self._clock.time() + lease_seconds))

    def _settle(self, name: str, *args: Any) -> bool:
        try:
            return bool(self._worker_script(name, *args, patience=SETTLE_PATIENCE))
        except StoreUnavailableError:
            LOG.warning("could not record a job's outcome in %s; it will run again", self.where)
            return False

    def complete(self, lease_token: str) -> bool:
        return self._settle("complete", lease_token)

    def release(self, lease_token: str, delay: float, *, after_exception: bool) -> bool:
        available_at = self._clock.time() + max(0.0, delay)
        return self._settle("release", lease_token, available_at, int(after_exception))

    def fail(self, lease_token: str, exception: str) -> bool:
        return self._settle("fail", lease_token, exception, self._clock.time(), self.connection)

    # -- waking up ----------------------------------------------------------
    def _subscribe(self) -> PubSub | None:
        """SUBSCRIBE before the first claim, so no wake-up falls between claim and wait."""
        with self._lock:  # threads claiming at once must not open one each
            if self._pubsub is not None:
                return self._pubsub
            pubsub: PubSub = self._client.pubsub(  # type: ignore[no-untyped-call, unused-ignore]  # typed from redis 8.2
                ignore_subscribe_messages=True
            )
            try:
                pubsub.subscribe(self._channel)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                pubsub.close()
                self._outage.failed(exc)
                return None
            self._pubsub = pubsub
            return pubsub

    def wait(self, timeout: float) -> bool:
        """Block until a wake-up (a job became available, a marker changed) or ``timeout``."""
        if self._outage.down:
            self._clock.sleep(min(max(0.0, timeout), self._outage.seconds_to_next_try()))
            if not self._outage.may_try():
                return False
            try:
                self._use(self._client.ping)
            except StoreUnavailableError:
                return False
            return self._subscribe() is not None
        pubsub = self._subscribe()
        if pubsub is None:
            return False
        # Real time, not the injected clock: this deadline bounds a blocking socket read.
        deadline = time.monotonic() + max(0.0, timeout)
        woken = False
        try:
            while True:
                remaining = deadline - time.monotonic()
                message = pubsub.get_message(timeout=max(0.0, remaining) if not woken else 0.0)
                if message is not None:
                    woken = True  # keep reading: one wake-up covers the queued ones
                elif woken or remaining <= 0:
                    return woken
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._drop_pubsub()
            self._outage.failed(exc)
            return False

    def _drop_pubsub(self) -> None:
        with self._lock:
            if self._pubsub is not None:
                self._pubsub.close()
                self._pubsub = None

    # -- failed jobs --------------------------------------------------------
    @staticmethod
    def _failed(row: Sequence[Any]) -> FailedJob:
        return FailedJob(int(row[0]), row[1], row[2], row[3], row[4], row[5], _float(row[6]))

    def failed_jobs(self, after_id: int = 0, limit: int | None = None) -> list[FailedJob]:
        flat = self._script("failed_page", after_id, -1 if limit is None else limit)
        return [self._failed(flat[i:i + 7]) for i in range(0, len(flat), 7)]

    def get_failed(self, key: str) -> FailedJob | None:
        row = self._script("failed_get", key)
        return self._failed(row) if row else None

    def retry_failed(self, ids: Sequence[int]) -> list[str]:
        if not ids:
            return []
        flat = self._script("retry_failed", self._clock.time(), *ids)
        return [flat[i + 1] for i in range(0, len(flat), 2)]

    def forget_failed(self, ids: Sequence[int]) -> int:
        return int(self._script("forget_failed", *ids)) if ids else 0

    def flush_failed(self, failed_before: float | None = None) -> int:
        return int(self._script("flush_failed", "+inf" if failed_before is None else failed_before))

    # -- operations ---------------------------------------------------------
    def clear(self, queue: str) -> int:
        return int(self._script("clear", queue))

    def stats(self) -> list[QueueStats]:
        now = self._clock.time()
        flat = self._script("stats", now)
        result = [
            QueueStats(
                f[0], int(f[1]), int(f[2]), int(f[3]), int(f[4]),
                None if f[5] == "" else now - _float(f[5]),
            )
            for f in (flat[i:i + 6] for i in range(0, len(flat), 6))
        ]
        return sorted(result, key=lambda s: s.queue)

    def markers(self) -> dict[str, float]:
        """The markers; during an outage, the last ones read (a worker's best knowledge)."""
        try:
            raw = self._use(lambda: self._client.hgetall(f"{self.prefix}:markers"))
            self._markers = {str(name): float(value) for name, value in raw.items()}
        except StoreUnavailableError:
            if self._markers is None:
                raise
        return dict(self._markers)

    def set_marker(self, name: str, value: float) -> None:
        self._script("set_marker", name, value)

    def delete_marker(self, name: str) -> bool:
        return bool(self._script("delete_marker", name))

    def close(self) -> None:
        self._drop_pubsub()
        if self._worker_link is not None:
            self._worker_link.close()
        self._client.close()


__all__ = ["RedisBackend"]
