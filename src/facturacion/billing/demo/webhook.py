"""The ERP's stand-in for the demo: an HTTP endpoint the workers tell every final answer.

It runs on its own thread inside the demo process and appends each call to a JSON
lines file, so the summary (and the end-to-end test) can see that every receipt's
outcome reached the third party, through the rate-limited HTTP job.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from aiohttp import web


class WebhookReceiver:
    def __init__(self, log: Path, port: int) -> None:
        self.log = log
        self.port = port
        self.calls = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="webhook",
                                        daemon=True)  # fmt: skip
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/erp/comprobantes"

    async def _receive(self, request: web.Request) -> web.Response:
        try:
            body: Any = await request.json()
        except ValueError:
            return web.json_response({"error": "send JSON"}, status=400)
        self.calls += 1
        with self.log.open("a") as out:
            out.write(json.dumps(body, sort_keys=True) + "\n")
        return web.json_response({"ok": True})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/erp/comprobantes", self._receive)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def start(self) -> WebhookReceiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._runner = None
        if self._thread.is_alive():  # a demo stopped before it got this far never started it
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def notified(self) -> dict[str, str]:
        """The last state each receipt key was reported in."""
        states: dict[str, str] = {}
        if self.log.exists():
            for line in self.log.read_text().splitlines():
                call = json.loads(line)
                states[call["key"]] = call["state"]
        return states
