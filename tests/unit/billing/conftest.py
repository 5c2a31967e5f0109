"""Shared fixtures for the billing unit tests: a store on a fake clock, sample receipts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from facturacion import samples
from facturacion.billing.store import BillingStore
from facturacion.model import Comprobante


class WallClock:
    """A settable wall clock for the store's timestamps and the rate limiter."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> WallClock:
    return WallClock()


@pytest.fixture
def store(tmp_path: Path, clock: WallClock) -> Iterator[BillingStore]:
    opened = BillingStore(tmp_path / "billing.sqlite3", clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def factura() -> Comprobante:
    return samples.factura(1)
