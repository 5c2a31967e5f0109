"""Shared test plumbing: server fixtures that skip locally and fail in CI, slow opt-in."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
RUN_SLOW = os.environ.get("CAPATAZ_SLOW", "") == "1"

POSTGRES_URL = os.environ.get(
    "CAPATAZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CAPATAZ_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 2):
            return True
    except OSError:
        return False


def require_server(name: str, url: str) -> str:
    """Return the URL if the server answers; skip locally, fail under CI=true."""
    if _answers(url):
        return url
    message = f"{name} does not answer at {url} (set CAPATAZ_TEST_{name.upper()}_URL)"
    if IN_CI:
        pytest.fail(f"{message}; CI must provide it")
    pytest.skip(message)
    raise AssertionError("unreachable")  # pragma: no cover - skip raises


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return require_server("postgres", POSTGRES_URL)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return require_server("redis", REDIS_URL)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    del config
    if RUN_SLOW:
        return
    skip_slow = pytest.mark.skip(reason="slow soak test: set CAPATAZ_SLOW=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)
