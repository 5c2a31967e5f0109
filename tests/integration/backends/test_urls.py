"""Store URLs for the server backends: a missing driver is a clear error, not a traceback."""

from __future__ import annotations

import sys

import pytest

from capataz.queue.connections import open_backend
from capataz.queue.errors import QueueURLError


@pytest.mark.parametrize(
    ("url", "driver", "module", "extra"),
    [
        ("postgresql://db/app", "psycopg", "capataz.queue.backends.postgres", "capataz[postgres]"),
        ("redis://cache/0", "redis", "capataz.queue.backends.redis", "capataz[redis]"),
    ],
)
def test_a_missing_driver_says_which_extra_to_install(monkeypatch, url, driver, module, extra):
    """Without psycopg (or redis-py) installed, opening the URL names the extra to install."""
    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setitem(sys.modules, driver, None)
    with pytest.raises(QueueURLError, match=extra.replace("[", r"\[").replace("]", r"\]")):
        open_backend(url)
