"""The third-party HTTP job against a local aiohttp server: answers, retries, rate limit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from capataz.queue import FailJob, ReleaseJob
from facturacion.billing import jobs
from facturacion.billing.http_call import RetryableHttpError
from facturacion.billing.runtime import Runtime


class ThirdParty:
    """An aiohttp server on its own thread and loop; ``answers`` scripts its replies."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.received: list[Any] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        status, headers = self.answers.pop(0) if self.answers else (200, {})
        return web.json_response({"ok": status < 400}, status=status, headers=headers)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/hook"

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def third_party() -> Iterator[ThirdParty]:
    server = ThirdParty()
    server.start()
    yield server
    server.stop()


def _call(url: str, **options: Any) -> int:
    result: int = asyncio.run(jobs.llamar_api("post", url, body={"estado": "aceptado"}, **options))
    return result


def test_a_2xx_answer_completes_the_job(runtime: Runtime, third_party: ThirdParty) -> None:
    """The body arrives as JSON; the job returns the status."""
    del runtime
    assert _call(third_party.url) == 200
    assert third_party.received == [{"estado": "aceptado"}]


def test_retry_after_releases_the_job_for_that_long(
    runtime: Runtime, third_party: ThirdParty
) -> None:
    """429 with Retry-After: 7 releases the job for 7 s; a 503 without it raises for backoff."""
    del runtime
    third_party.answers = [(429, {"Retry-After": "7"}), (503, {})]
    with pytest.raises(ReleaseJob) as released:
        _call(third_party.url)
    assert released.value.delay == 7
    with pytest.raises(RetryableHttpError, match="HTTP 503"):
        _call(third_party.url)
    assert _call(third_party.url) == 200


def test_a_client_error_fails_at_once(runtime: Runtime, third_party: ThirdParty) -> None:
    """422: the request itself is wrong; no retry. A bad URL likewise."""
    del runtime
    third_party.answers = [(422, {})]
    with pytest.raises(FailJob):
        _call(third_party.url)
    with pytest.raises(FailJob):
        _call("not a url")


def test_no_answer_is_retried(runtime: Runtime) -> None:
    """Nothing listening: a retryable error, so the queue's backoff applies."""
    del runtime
    with pytest.raises(RetryableHttpError, match="no answer"):
        _call("http://127.0.0.1:1/hook")


def test_the_rate_limit_spaces_and_defers_calls(runtime: Runtime, third_party: ThirdParty) -> None:
    """At 1 call per 10 s, a second call is not made now: the job comes back later."""
    del runtime
    assert _call(third_party.url, limit="erp", rate=0.1) == 200
    with pytest.raises(ReleaseJob) as released:
        _call(third_party.url, limit="erp", rate=0.1)
    assert 5 < released.value.delay <= 11  # the wait for the slot, plus up to 1 s of jitter
    assert len(third_party.received) == 1
    assert _call(third_party.url, limit="erp-fast", rate=50) == 200
    assert _call(third_party.url, limit="erp-fast", rate=50) == 200
