"""What only the Redis store does: key prefixes, a warning when Redis may evict jobs,
pub/sub wake-up in real time, a connection replaced after the server dropped it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
import redis as redis_py

from capataz.queue.backends.base import NewJob
from capataz.queue.backends.redis import RedisBackend, parse_url
from capataz.queue.connections import BACKENDS, open_backend
from capataz.queue.errors import QueueURLError

from .conftest import drop_prefix, unique_name, with_query
from .servers import OwnRedis


@pytest.fixture
def rd(redis_url: str) -> Iterator[tuple[str, RedisBackend]]:
    prefix = unique_name("redis")
    url = with_query(redis_url, prefix=prefix)
    store = RedisBackend(url)
    try:
        yield url, store
    finally:
        store.close()
        drop_prefix(redis_url, prefix)


def new(uuid: str) -> NewJob:
    return NewJob(uuid, "default", "{}", time.time())


def test_every_key_lives_under_the_prefix(rd, redis_url):
    """Two stores with different prefixes share a database without seeing each other."""
    _, store = rd
    store.push([new("mine")])
    store.fail(store.claim(["default"], "w", 30).lease_token, "x")
    store.set_marker("restart", 1.0)
    client = redis_py.Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = list(client.scan_iter(match=f"{store.prefix}*"))
        assert keys
        assert all(k.startswith(store.prefix + ":") for k in keys)
    finally:
        client.close()
    other_prefix = unique_name("redis")
    other = RedisBackend(with_query(redis_url, prefix=other_prefix))
    try:
        assert other.stats() == []
        assert other.failed_jobs() == []
        assert other.markers() == {}
    finally:
        other.close()
        drop_prefix(redis_url, other_prefix)


def test_an_idle_wait_is_woken_by_a_dispatch_from_another_process(rd):
    """wait() blocks on the wake channel and returns True when another client pushes."""
    url, store = rd
    store.wait(0)
    other = RedisBackend(url)
    timer = threading.Timer(0.3, lambda: other.push([new("wake")]))
    timer.start()
    try:
        assert store.wait(30) is True
    finally:
        timer.join()
        other.close()


def test_a_connection_dropped_by_the_server_is_replaced_without_an_error(rd, redis_url):
    """After the server closed our connections (a restart, a CLIENT KILL), the next call
    reconnects at once and works."""
    _, store = rd
    store.push([new("before")])
    ours = store._client.client_id()
    client = redis_py.Redis.from_url(redis_url)
    try:
        assert client.client_kill_filter(_id=ours) == 1
    finally:
        client.close()
    assert [s.waiting for s in store.stats()] == [1]


def test_a_workers_calls_keep_one_connection_which_survives_a_kill(rd, redis_url):
    """A worker's claims, heartbeats and settles go over one kept connection, not a pool
    checkout per call; when the server drops it, the next claim reconnects at once and
    loses nothing; closing the store closes it."""
    _, store = rd
    store.push([new("a"), new("b")])
    first = store.claim_next(None, ["default"], "w", 30, {})
    link = store._link()
    ours = link.client_id()
    assert store.renew(first.job.lease_token, 30)
    assert link.client_id() == ours
    admin = redis_py.Redis.from_url(redis_url)
    try:
        assert admin.client_kill_filter(_id=ours) == 1
        second = store.claim_next(first.job.lease_token, ["default"], "w", 30, {})
        assert (second.completed, second.job.uuid) == (True, "b")
        assert store.complete(second.job.lease_token)
        assert store.stats() == []
        again = link.client_id()
        store.close()
        assert again not in {int(c["id"]) for c in admin.client_list()}
    finally:
        admin.close()


def test_a_redis_that_may_lose_jobs_is_reported(tmp_path, caplog):
    """Redis with an evicting maxmemory-policy, or without the append-only file, could lose
    jobs: opening the store says so and what to set; the documented settings say nothing."""
    server = OwnRedis(tmp_path)
    server.start()
    try:
        with caplog.at_level(logging.WARNING, logger="capataz.queue.redis"):
            RedisBackend(server.url).close()
        assert caplog.text == ""
        client = redis_py.Redis.from_url(server.url)
        client.config_set("maxmemory-policy", "allkeys-lru")
        client.config_set("appendonly", "no")
        client.close()
        with caplog.at_level(logging.WARNING, logger="capataz.queue.redis"):
            RedisBackend(server.url).close()
        assert "set maxmemory-policy noeviction" in caplog.text
        assert "set appendonly yes" in caplog.text
    finally:
        server.close()


def test_urls_choose_the_prefix_and_bad_ones_are_refused(redis_url):
    """redis:// and rediss:// are registered; ?prefix= must be a plain name and never
    reaches redis-py."""
    assert {"redis", "rediss"} <= set(BACKENDS)
    client_url, prefix, where = parse_url(
        "rediss://:pw@cache.example:6380/2?prefix=q1&ssl_cert_reqs=none"
    )
    assert (prefix, where) == ("q1", "Redis at cache.example:6380/2")
    assert client_url == "rediss://:pw@cache.example:6380/2?ssl_cert_reqs=none"
    with pytest.raises(QueueURLError, match="prefix"):
        open_backend(redis_url + "?prefix=has space")
    store = open_backend(with_query(redis_url, prefix=unique_name("redis")))
    assert "prefix=capataz_test_redis" in repr(store)
    store.close()


def test_a_worker_call_loads_a_script_the_server_forgot(rd, redis_url):
    """After SCRIPT FLUSH (as after a restart without persistence) the worker's next call
    loads the script again and works."""
    _, store = rd
    store.push([new("a"), new("b")])
    first = store.claim_next(None, ["default"], "w", 30, {})
    admin = redis_py.Redis.from_url(redis_url)
    try:
        admin.script_flush()
    finally:
        admin.close()
    second = store.claim_next(first.job.lease_token, ["default"], "w", 30, {})
    assert (second.completed, second.job.uuid) == (True, "b")
    assert store.renew(second.job.lease_token, 30)


def test_lease_tokens_name_their_job_and_differ_on_every_reservation(rd):
    """A token is the job's id and a nonce: a job released and reserved again gets a new
    token, and the old one settles nothing; a token naming no job settles nothing."""
    _, store = rd
    store.push([new("a")])
    first = store.claim(["default"], "w", 30)
    assert first.lease_token.startswith(f"{first.id:015d}.")
    assert store.release(first.lease_token, 0, after_exception=False)
    second = store.claim(["default"], "w", 30)
    assert (second.id, second.attempts) == (first.id, 2)
    assert second.lease_token != first.lease_token
    assert not store.complete(first.lease_token)
    assert not store.renew(first.lease_token, 30)
    assert not store.complete("not-a-token")
    assert not store.fail("12.nonce", "x")
    assert store.complete(second.lease_token)
    assert store.stats() == []


def test_a_paused_queue_is_skipped_by_claim_next_and_the_next_queue_served(rd):
    """claim_next takes the pause markers it was given (and checked) as the paused queues."""
    _, store = rd
    store.push([NewJob("h", "high", "{}", time.time()), new("low")])
    store.set_marker("pause:high", 1.0)
    markers = store.markers()
    step = store.claim_next(None, ["high", "default"], "w", 30, markers)
    assert (step.markers, step.job.uuid) == (None, "low")
    store.delete_marker("pause:high")
    changed = store.claim_next(step.job.lease_token, ["high", "default"], "w", 30, markers)
    assert (changed.completed, changed.markers) == (True, {})
    step = store.claim_next(None, ["high", "default"], "w", 30, {})
    assert step.job.uuid == "h"


def test_a_delayed_job_stays_where_it_was_while_a_due_one_is_taken(rd):
    """The claim takes the oldest job off its queue; one not due yet goes back untouched."""
    _, store = rd
    later = time.time() + 3600
    store.push([NewJob("later", "default", "{}", later)])
    assert store.claim_next(None, ["default"], "w", 30, {}).job is None
    store.push([new("now")])
    assert store.claim_next(None, ["default"], "w", 30, {}).job.uuid == "now"
    [stats] = store.stats()
    assert (stats.waiting, stats.delayed, stats.running) == (0, 1, 1)


def test_running_counts_stay_right_when_one_step_completes_and_claims(rd):
    """A step that completes a job and reserves the next keeps each queue's running count:
    same queue, another queue, nothing left to reserve, or markers that changed."""
    _, store = rd

    def running() -> dict[str, int]:
        return {s.queue: s.running for s in store.stats() if s.running}

    store.push([new("a1"), new("a2"), NewJob("h1", "high", "{}", time.time())])
    step = store.claim_next(None, ["default"], "w", 30, {})
    step = store.claim_next(step.job.lease_token, ["default"], "w", 30, {})
    assert (step.job.uuid, running()) == ("a2", {"default": 1})
    step = store.claim_next(step.job.lease_token, ["high"], "w", 30, {})
    assert (step.job.uuid, running()) == ("h1", {"high": 1})
    store.set_marker("restart", 5.0)
    changed = store.claim_next(step.job.lease_token, ["high"], "w", 30, {})
    assert (changed.completed, changed.markers, running()) == (True, {"restart": 5.0}, {})
    store.push([new("a3")])
    step = store.claim_next(None, ["default"], "w", 30, changed.markers)
    step = store.claim_next(step.job.lease_token, ["default"], "w", 30, changed.markers)
    assert (step.completed, step.job, running()) == (True, None, {})
    first = store.claim(["default"], "w", 30)
    assert first is None
    store.push([new("a4")])
    first = store.claim(["default"], "w", 30)
    done, nxt = store.complete_and_claim(first.lease_token, ["default"], "w", 30)
    assert (done, nxt, running(), store.stats()) == (True, None, {}, [])


def test_one_string_answers_are_read_off_the_socket_with_redis_pys_errors(redis_url):
    """The claim's answer is read straight off the connection: a bulk string (however
    long), nil, a reply error as redis-py's exception, a timeout or any other answer as a
    link error."""
    from capataz.queue.backends.redis import _bulk, _string_answer

    client = redis_py.Redis.from_url(redis_url, decode_responses=True, socket_timeout=0.3)
    link = redis_py.Redis(connection_pool=client.connection_pool, single_connection_client=True)
    conn = link.connection
    key = unique_name("redis") + ":raw"

    def send(*args: object) -> str | None:
        return _string_answer(conn, b"*%d\r\n%b" % (len(args), _bulk(args)))

    big = "é" * 300_000
    try:
        link.set(key, big)
        assert send("GET", key) == big
        assert send("GET", key + ":missing") is None
        with pytest.raises(redis_py.exceptions.NoScriptError):
            send("EVALSHA", "0" * 40, 0)
        link.hset(key + ":h", "f", "v")
        with pytest.raises(redis_py.ResponseError, match="WRONGTYPE"):
            send("GET", key + ":h")
        with pytest.raises(redis_py.ConnectionError, match="unexpected answer"):
            send("PING")
        conn.disconnect()
        link.ping()
        with pytest.raises(redis_py.TimeoutError):
            send("BLPOP", key + ":empty", 2)
        conn.disconnect()
        assert link.delete(key, key + ":h") == 2
    finally:
        link.close()
        client.close()
    resp2 = redis_py.Redis.from_url(redis_url, protocol=2, single_connection_client=True)
    try:
        resp2.ping()
        assert _string_answer(resp2.connection, b"*2\r\n" + _bulk(("GET", key))) is None
    finally:
        resp2.close()
