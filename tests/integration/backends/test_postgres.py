"""What only the PostgreSQL store does: dispatch in the caller's transaction, migrations,
NOTIFY wake-up in real time, a connection replaced after the server dropped it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from capataz.queue.backends.base import NewJob, NextJob
from capataz.queue.backends.pg_schema import SCHEMA_VERSION, parse_url
from capataz.queue.backends.postgres import PostgresBackend, in_transaction
from capataz.queue.clock import FakeClock
from capataz.queue.connections import open_backend
from capataz.queue.dispatch import PendingDispatch
from capataz.queue.errors import DispatchError, QueueURLError, StoreError
from capataz.queue.registry import Registry, job

from .conftest import drop_schema, unique_name, with_query


@pytest.fixture
def pg(postgres_url: str) -> Iterator[tuple[str, PostgresBackend]]:
    schema = unique_name("pg")
    url = with_query(postgres_url, schema=schema)
    store = PostgresBackend(url)
    try:
        yield url, store
    finally:
        store.close()
        drop_schema(postgres_url, schema)


def new(uuid: str) -> NewJob:
    return NewJob(uuid, "default", "{}", time.time())


def test_a_job_dispatched_in_a_committed_transaction_exists(pg, postgres_url):
    """in_transaction(conn): the job is written by the caller's connection and exists once
    the caller commits, together with the caller's own rows."""
    url, store = pg

    @job(registry=Registry(), name="billing.send")
    def send(invoice: int) -> None:
        del invoice

    class Only:
        def get(self, name: str = "default") -> PostgresBackend:
            del name
            return store

    with psycopg.connect(postgres_url) as conn:
        with conn.transaction(), in_transaction(conn):
            conn.execute("CREATE TEMP TABLE invoices (id int)")
            uuid = PendingDispatch(send, connections=Only()).dispatch(7)  # type: ignore[arg-type]
            other = PostgresBackend(url)
            assert other.stats() == []  # not visible before the commit
            other.close()
        reserved = store.claim(["default"], "w", 30)
    assert reserved is not None
    assert reserved.uuid == uuid


def test_a_job_dispatched_in_a_rolled_back_transaction_never_exists(pg, postgres_url):
    """If the caller's transaction rolls back, so does the job: no worker ever sees it."""
    _, store = pg

    def save_invoice_and_dispatch(conn: psycopg.Connection) -> None:
        with conn.transaction(), in_transaction(conn):
            store.push([new("ghost")])
            raise RuntimeError("the invoice could not be saved")

    with psycopg.connect(postgres_url) as conn:
        with pytest.raises(RuntimeError):
            save_invoice_and_dispatch(conn)
        store.push([new("explicit")], conn=conn)
        conn.rollback()
    assert store.claim(["default"], "w", 30) is None
    assert store.stats() == []


def test_in_transaction_refuses_what_it_cannot_honour(pg, postgres_url):
    """A connection to another database, or something that is not a psycopg connection,
    is a DispatchError that says what to pass instead."""
    _, store = pg
    with pytest.raises(DispatchError, match="psycopg"), in_transaction(object()):  # type: ignore[arg-type]
        pass
    other_database = postgres_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(other_database) as conn, in_transaction(conn), pytest.raises(
        DispatchError, match="same database"
    ):
        store.push([new("x")])
    with psycopg.connect(postgres_url) as conn, in_transaction(conn):
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT 1 FROM nonexistent_table_for_the_test")
        with pytest.raises(DispatchError, match="your transaction"):
            store.push([new("in-an-aborted-transaction")])
    assert store.stats() == []


def test_migrations_record_the_version_and_refuse_a_newer_store(pg, postgres_url):
    """A fresh schema is created at the current version; several processes opening it at
    once all succeed; a store written by a newer capataz is refused with advice."""
    url, _ = pg
    table = sql.Identifier(parse_url(url).schema, "schema_version")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        version = conn.execute(sql.SQL("SELECT version FROM {}").format(table)).fetchone()
        assert version == (SCHEMA_VERSION,)
        conn.execute(sql.SQL("UPDATE {} SET version = version + 1").format(table))
    with pytest.raises(StoreError, match="upgrade capataz"):
        PostgresBackend(url)


def test_many_processes_migrating_a_fresh_schema_at_once_all_succeed(postgres_url):
    """Eight workers starting together on an empty database: one creates the schema, the
    others wait for it; none fails."""
    schema = unique_name("pg")
    url = with_query(postgres_url, schema=schema)
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            PostgresBackend(url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
    finally:
        drop_schema(postgres_url, schema)


def test_an_idle_wait_is_woken_by_a_dispatch_from_another_process(pg):
    """wait() blocks on LISTEN and returns True when another connection commits a job."""
    url, store = pg
    store.wait(0)
    other = PostgresBackend(url)
    timer = threading.Timer(0.3, lambda: other.push([new("wake")]))
    timer.start()
    try:
        assert store.wait(30) is True
    finally:
        timer.join()
        other.close()


def test_a_connection_dropped_by_the_server_is_replaced_without_an_error(pg, postgres_url):
    """After the server closed our connection (a restart, an idle timeout), the next call
    reconnects at once and works."""
    _, store = pg
    store.push([new("before")])
    pid = store._link.connection().info.backend_pid
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert [s.waiting for s in store.stats()] == [1]


def test_urls_name_the_schema_and_bad_ones_are_refused(postgres_url):
    """postgres:// works like postgresql://; ?schema= must be a plain name."""
    assert parse_url("postgresql://u:secret@db.example:6543/app?schema=q1").where == (
        "PostgreSQL at db.example:6543/app"
    )
    assert "secret" not in repr(parse_url("postgresql://u:secret@h/app"))
    with pytest.raises(QueueURLError, match="schema"):
        open_backend(postgres_url + "?schema=bad;name")
    schema = unique_name("pg")
    try:
        store = open_backend(with_query(postgres_url.replace("postgresql://", "postgres://"),
                                        schema=schema))
        assert isinstance(store, PostgresBackend)
        assert schema in repr(store)
        store.close()
    finally:
        drop_schema(postgres_url, schema)


def test_a_payload_postgresql_cannot_store_is_refused_clearly(pg):
    """A raw NUL character (which JSON never produces) is a DispatchError naming the job."""
    _, store = pg
    with pytest.raises(DispatchError, match="NUL"):
        store.push([NewJob("nul", "default", "a\x00b", time.time())])
    assert store.stats() == []


def test_the_link_shows_its_state(pg):
    """repr() of the store's link says where it points and whether it is up."""
    _, store = pg
    assert repr(store._link).endswith("/test up>")


def test_a_database_that_does_not_exist_is_reported_at_once(postgres_url, caplog):
    """A refusal that waiting will not cure (unknown database) is not retried as an outage."""
    missing = postgres_url.rsplit("/", 1)[0] + "/capataz_no_such_database"
    with caplog.at_level(logging.WARNING, logger="capataz.queue"), pytest.raises(
        StoreError, match="does not exist"
    ):
        PostgresBackend(missing)
    assert "lost the connection" not in caplog.text


def test_claim_next_compares_marker_names_in_code_point_order(pg):
    """The worker's markers and the store's are compared in one order whatever the
    database's collation: names that a locale would sort differently are no change."""
    _, store = pg
    names = ["pause:B", "pause:a", "pause:_x", "pause:\u00e9", "restart"]
    for value, name in enumerate(names):
        store.set_marker(name, value + 0.5)
    known = store.markers()
    store.push([new("j")])
    step = store.claim_next(None, ["default"], "w", 30, known)
    assert step.markers is None
    assert step.job is not None
    assert step.job.uuid == "j"


def test_claim_next_checks_the_markers_before_every_queue(pg):
    """Nothing is reserved from any queue once the markers changed, and the finished job
    is completed all the same."""
    url, store = pg
    store.push([new("first"), NewJob("low", "low", "{}", time.time())])
    held = store.claim(["default"], "w", 30)
    operator = PostgresBackend(url)
    try:
        operator.set_marker("pause:*", 1.0)
    finally:
        operator.close()
    step = store.claim_next(held.lease_token, ["default", "low"], "w", 30, {})
    assert step == NextJob(None, True, {"pause:*": 1.0})
    assert [(s.queue, s.waiting, s.running) for s in store.stats()] == [("low", 1, 0)]


def test_completing_a_job_whose_lease_ran_out_unnoticed_removes_it(pg):
    """complete_and_claim frees expired leases in the same statement, but never the job it
    completes: that one is finished (no one took it yet), the next job is reserved."""
    url = pg[0]
    clock = FakeClock()
    store = PostgresBackend(url, clock)
    try:
        store.push([NewJob("late", "default", "{}", clock.time()),
                    NewJob("next", "default", "{}", clock.time() + 1)])
        late = store.claim(["default"], "w", 10)
        clock.advance(11)
        done, following = store.complete_and_claim(late.lease_token, ["default"], "w", 10)
        assert done
        assert following is not None
        assert following.uuid == "next"
        assert store.complete(following.lease_token)
        assert store.stats() == []
    finally:
        store.close()


def test_a_job_freed_from_an_expired_lease_is_claimed_before_a_lower_queue(pg):
    """An expired job of the first queue is freed and reserved in the same claim, ahead of
    a waiting job of the next queue."""
    url = pg[0]
    clock = FakeClock()
    store = PostgresBackend(url, clock)
    try:
        store.push([NewJob("high", "high", "{}", clock.time()),
                    NewJob("low", "default", "{}", clock.time())])
        first = store.claim(["high"], "dead", 10)
        clock.advance(11)
        again = store.claim(["high", "default"], "w", 10)
        assert (again.uuid, again.attempts) == ("high", 2)
        assert not store.complete(first.lease_token)
    finally:
        store.close()


def test_a_claim_with_no_queue_still_completes_the_finished_job(pg):
    _, store = pg
    store.push([new("only")])
    reserved = store.claim(["default"], "w", 30)
    assert store.complete_and_claim(reserved.lease_token, [], "w", 30) == (True, None)
    assert store.stats() == []


def test_only_the_stores_own_dispatch_commits_without_waiting_for_the_disk(pg, postgres_url):
    """A dispatch on the store's connection relaxes its own commit only (then flushes);
    a dispatch inside the caller's transaction leaves that transaction's commit alone."""
    _, store = pg
    store.push([new("own")])
    own = store._link.connection()
    assert own.execute("SHOW synchronous_commit").fetchone() == ("on",)
    with psycopg.connect(postgres_url) as conn, conn.transaction():
        store.push([new("theirs")], conn=conn)
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
    assert sorted(s.waiting for s in store.stats()) == [2]


def _vacuums(postgres_url: str, schema: str) -> int:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE schemaname = %s"
            " AND relname = 'jobs'", (schema,)).fetchone()
    return int(row[0]) if row else 0


def test_a_busy_worker_vacuums_the_jobs_table_every_so_many_jobs(pg, postgres_url, monkeypatch):
    """Finished jobs leave dead rows that slow every claim; a worker removes them after
    VACUUM_AFTER jobs of its own, whether or not autovacuum runs."""
    from capataz.queue.backends import postgres

    monkeypatch.setattr(postgres, "VACUUM_AFTER", 5)
    _url, store = pg
    store.push([new(f"j{i}") for i in range(11)])
    step = store.claim_next(None, ["default"], "w", 30, None)
    while step.job is not None:
        step = store.claim_next(step.job.lease_token, ["default"], "w", 30, None)
    assert store.stats() == []
    assert _vacuums(postgres_url, store.schema) == 2


def test_a_vacuum_another_worker_runs_is_not_waited_for(pg, postgres_url):
    """While one worker holds the vacuum lock, another skips its turn at once."""
    url, store = pg
    other = PostgresBackend(url)
    try:
        with psycopg.connect(postgres_url, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(hashtext('capataz vacuum ' || %s))",
                           (store.schema,))
            assert store.vacuum() is False
        assert other.vacuum() is True
    finally:
        other.close()
