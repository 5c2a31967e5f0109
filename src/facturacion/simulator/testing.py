"""Run the simulator on a background thread: for tests and notebooks in one process."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

from aiohttp import web

from facturacion.client import SunatClient
from facturacion.config import SunatConfig
from facturacion.service import SunatService
from facturacion.signing import Signer
from facturacion.simulator.app import create_app
from facturacion.simulator.state import API_CLIENT_ID, API_CLIENT_SECRET, SimulatorState
from facturacion.store import DocumentStore


class RunningSimulator:
    """The simulator on 127.0.0.1 with a free port, its own event loop and thread."""

    def __init__(self, state: SimulatorState | None = None) -> None:
        self.state = state or SimulatorState()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="sunat-simulator", daemon=True
        )
        self._runner: web.AppRunner | None = None
        self.url = ""

    def start(self) -> RunningSimulator:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(create_app(self.state), shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    @property
    def bill_url(self) -> str:
        return f"{self.url}/billService"

    @property
    def consult_url(self) -> str:
        return f"{self.url}/billConsultService"

    @property
    def validity_url(self) -> str:
        """Base of the Consulta Integrada and of its token endpoint."""
        return self.url

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> RunningSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@asynccontextmanager
async def service_on(
    url: str,
    store: DocumentStore,
    signer: Signer,
    *,
    consult: bool = True,
    validate: bool = True,
    **config: Any,
) -> AsyncIterator[SunatService]:
    """A ``SunatService`` talking to the simulator at ``url`` with beta credentials.

    ``consult``: use its billConsultService; ``validate``: its Consulta Integrada, with
    the simulator's default API credentials.
    """
    config.setdefault("connect_timeout", 2.0)
    config.setdefault("read_timeout", 5.0)
    if validate:
        config.setdefault("validity_url", url)
        config.setdefault("api_client_id", API_CLIENT_ID)
        config.setdefault("api_client_secret", API_CLIENT_SECRET)
    settings = SunatConfig.beta(
        bill_url=f"{url}/billService",
        consult_url=f"{url}/billConsultService" if consult else None,
        **config,
    )
    async with SunatClient(settings) as client:
        yield SunatService(
            store, signer, client, can_consult=consult,
            can_validate=settings.validity_endpoint is not None,
        )  # fmt: skip
