"""The @job decorator, its options, and dispatching now, later, in bulk and uniquely."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from capataz.queue import (
    CONNECTIONS,
    DispatchError,
    JobNotRegisteredError,
    MemoryBackend,
    QueueError,
    Registry,
    current_job,
    job,
    use,
)
from capataz.queue.dispatch import PendingDispatch
from capataz.queue.registry import backoff_for


def test_decorator_registers_with_a_name_and_options():
    """@job registers module.qualname (or name=); options are normalised to seconds."""
    registry = Registry()

    @job(registry=registry, tries=3, backoff=[10, 60], timeout=timedelta(minutes=2),
         retry_until=3600, max_exceptions=2, queue="sunat", unique=True, unique_for=300)
    def send_receipt(invoice: int) -> int:
        """Send one receipt."""
        return invoice * 2

    @job(registry=registry, name="billing.mail")
    async def mail() -> None:
        pass

    options = send_receipt.options
    assert send_receipt.name.endswith("test_decorator_registers_with_a_name_and_options."
                                      "<locals>.send_receipt")
    assert (options.tries, options.backoff, options.timeout) == (3, (10.0, 60.0), 120.0)
    assert (options.retry_until, options.max_exceptions, options.queue) == (3600.0, 2, "sunat")
    assert options.unique_for == 300.0
    assert send_receipt(4) == 8
    assert send_receipt.__doc__ == "Send one receipt."
    assert registry.get("billing.mail") is mail
    assert mail.is_async
    assert not send_receipt.is_async
    assert "billing.mail" in registry
    assert len(registry) == 2
    assert registry.names()[0] == "billing.mail"
    assert repr(mail) == "<job billing.mail>"


def test_plain_decorator_uses_the_global_registry():
    """@job without arguments registers in the process-wide registry."""
    from capataz.queue import REGISTRY

    @job
    def plain() -> None:
        pass

    assert REGISTRY.get(plain.name) is plain


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tries": -1}, "tries must be a whole number"),
        ({"max_exceptions": True}, "max_exceptions must be a whole number"),
        ({"timeout": -5}, "timeout must be zero or more seconds"),
        ({"backoff": []}, "backoff needs at least one number"),
    ],
)
def test_bad_options_are_refused(options, message):
    """Options that make no sense fail at decoration with a message."""
    with pytest.raises(QueueError, match=message):
        job(registry=Registry(), **options)


def test_unregistered_names_and_unloadable_modules():
    """Looking up an unknown job names -A; loading a broken module says which."""
    registry = Registry()
    with pytest.raises(JobNotRegisteredError, match="-A/--app"):
        registry.get("nope")
    with pytest.raises(QueueError, match="cannot load the application module 'no_such_mod_xyz'"):
        registry.load(["no_such_mod_xyz"])
    assert registry.load(["", " json "]) == ["json"]


def test_backoff_for_by_attempt():
    """Attempt n uses item n-1; the last item repeats; no backoff means 0."""
    assert [backoff_for((1, 5, 10), n) for n in range(1, 6)] == [1, 5, 10, 10, 10]
    assert backoff_for((), 3) == 0.0
    assert backoff_for((7,), 0) == 7


@pytest.fixture
def store():
    backend = MemoryBackend()
    use(backend)
    yield backend
    CONNECTIONS.reset()


def _payloads(store: MemoryBackend) -> list[dict]:
    return [json.loads(j.payload) for j in store.snapshot()]


def test_dispatch_writes_a_json_payload_with_the_jobs_limits(store):
    """dispatch stores a JSON payload: id, job name, arguments, limits and dispatch time."""
    registry = Registry()

    @job(registry=registry, name="billing.send", tries=3, backoff=5, queue="sunat")
    def send(invoice: int, *, resend: bool = False) -> None:
        pass

    uuid = send.dispatch(7, resend=True)
    [payload] = _payloads(store)
    assert payload["uuid"] == uuid
    assert payload["job"] == "billing.send"
    assert (payload["args"], payload["kwargs"]) == ([7], {"resend": True})
    assert (payload["tries"], payload["backoff"], payload["queue"]) == (3, [5.0], "sunat")
    assert payload["dispatched_at"] > 0
    assert store.stats()[0].queue == "sunat"


def test_dispatch_later_at_a_time_and_on_another_queue(store):
    """using(delay=) and using(at=) delay a job; using(queue=) overrides its queue."""
    registry = Registry()

    @job(registry=registry)
    def later() -> None:
        pass

    later.using(delay=60).dispatch()
    later.using(at=datetime.now(UTC) + timedelta(hours=1), queue="slow").dispatch()
    stats = {s.queue: s for s in store.stats()}
    assert stats["default"].delayed == 1
    assert stats["slow"].delayed == 1
    with pytest.raises(DispatchError, match="not both"):
        later.using(delay=1, at=datetime.now(UTC))
    with pytest.raises(DispatchError, match="no time zone"):
        later.using(at=datetime(2030, 1, 1))


def test_dispatch_many_in_one_call(store):
    """dispatch_many takes lists of args, dicts of kwargs, or (args, kwargs) pairs."""
    registry = Registry()

    @job(registry=registry)
    def add(a: int, b: int = 0) -> int:
        return a + b

    uuids = add.dispatch_many([[1], {"a": 2, "b": 3}, ([4], {"b": 5})])
    assert len(set(uuids)) == 3
    assert [(p["args"], p["kwargs"]) for p in _payloads(store)] == [
        ([1], {}), ([], {"a": 2, "b": 3}), ([4], {"b": 5})
    ]
    assert add.dispatch_many([]) == []
    with pytest.raises(DispatchError, match="must be a list of arguments"):
        add.dispatch_many([5])  # type: ignore[list-item]


def test_dispatch_refuses_arguments_that_do_not_fit_or_are_not_json(store):
    """Wrong arguments and non-JSON values fail at dispatch, before anything is stored."""
    registry = Registry()

    @job(registry=registry)
    def one(x: object) -> None:
        pass

    with pytest.raises(DispatchError, match="do not fit"):
        one.dispatch(1, 2)
    with pytest.raises(DispatchError, match="not JSON"):
        one.dispatch(object())
    with pytest.raises(DispatchError, match="not JSON"):
        one.dispatch(float("nan"))
    circular: list[object] = []
    circular.append(circular)
    with pytest.raises(DispatchError, match="not JSON"):
        one.dispatch(circular)
    assert store.snapshot() == []


def test_unique_jobs_return_the_first_id(store):
    """A unique job dispatched again while the first waits returns the first job's id."""
    registry = Registry()

    @job(registry=registry, unique=True)
    def by_args(n: int) -> None:
        pass

    @job(registry=registry, unique=lambda invoice, **_: f"invoice-{invoice}")
    def by_key(invoice: int, copy: int = 0) -> None:
        pass

    @job(registry=registry, unique="singleton")
    def fixed() -> None:
        pass

    first = by_args.dispatch(1)
    assert by_args.dispatch(1) == first
    assert by_args.dispatch(2) != first
    keyed = by_key.dispatch(9, copy=1)
    assert by_key.dispatch(9, copy=2) == keyed
    assert fixed.dispatch() == fixed.dispatch()
    assert len(store.snapshot()) == 4


def test_connections_by_name(monkeypatch, tmp_path):
    """connection="reports" reads CAPATAZ_QUEUE_URL_REPORTS; a missing one says so."""
    registry = Registry()

    @job(registry=registry, connection="reports")
    def report() -> None:
        pass

    monkeypatch.delenv("CAPATAZ_QUEUE_URL_REPORTS", raising=False)
    with pytest.raises(DispatchError, match="set CAPATAZ_QUEUE_URL_REPORTS"):
        report.dispatch()
    monkeypatch.setenv("CAPATAZ_QUEUE_URL_REPORTS", "memory://")
    try:
        report.dispatch()
        assert CONNECTIONS.get("reports").stats()[0].waiting == 1
    finally:
        CONNECTIONS.reset()


def test_default_connection_and_store_location(monkeypatch, tmp_path):
    """Without CAPATAZ_QUEUE_URL the store is $XDG_DATA_HOME/capataz/queue.sqlite3."""
    from capataz.queue.connections import default_store_path, default_url

    monkeypatch.delenv("CAPATAZ_QUEUE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "capataz" / "queue.sqlite3"
    assert default_url() == f"sqlite://{tmp_path}/capataz/queue.sqlite3"
    try:
        backend = CONNECTIONS.get()
        assert repr(backend) == f"<SqliteBackend {tmp_path}/capataz/queue.sqlite3>"
        assert CONNECTIONS.get() is backend
    finally:
        CONNECTIONS.reset()
    monkeypatch.delenv("XDG_DATA_HOME")
    assert ".local/share/capataz" in str(default_store_path())


def test_current_job_outside_a_job():
    """current_job() outside a running job is an error that says so."""
    with pytest.raises(QueueError, match="outside a running job"):
        current_job()


def test_pending_dispatch_is_reusable(store):
    """A PendingDispatch can send several calls with the same options."""
    registry = Registry()

    @job(registry=registry)
    def ping(n: int) -> None:
        pass

    pending = ping.using(queue="pings")
    assert isinstance(pending, PendingDispatch)
    pending.dispatch(1)
    pending.dispatch(2)
    assert store.stats()[0].waiting == 2
