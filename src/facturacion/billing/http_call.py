"""One call to a third-party HTTP API, and what to do with its answer.

The answer is sorted once: 2xx done; 408, 425, 429 and 5xx (and no answer at all)
worth retrying, honouring ``Retry-After``; any other 4xx final, since sending the same
request again cannot fix it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Final

import aiohttp

from facturacion.billing.errors import HttpCallError

RETRY_STATUSES: Final = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: str
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def worth_retrying(self) -> bool:
        return self.status in RETRY_STATUSES


class RetryableHttpError(Exception):
    """No usable answer yet; ``delay`` is what the server asked for (or None)."""

    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


def retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


async def call(
    method: str,
    url: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    seconds: float = 30.0,
) -> HttpAnswer:
    """Make the request within ``seconds``.

    Raises ``RetryableHttpError`` or ``HttpCallError`` when the answer is not 2xx.
    """
    limits = aiohttp.ClientTimeout(total=seconds)
    try:
        async with (
            aiohttp.ClientSession(timeout=limits) as session,
            session.request(method.upper(), url, json=body, headers=headers) as response,
        ):
            answer = HttpAnswer(
                response.status,
                await response.text(errors="replace"),
                retry_after(response.headers.get("Retry-After")),
            )
    except aiohttp.InvalidURL as error:
        raise HttpCallError(f"{url!r} is not a valid URL; fix the job's arguments") from error
    except (aiohttp.ClientError, TimeoutError) as error:
        raise RetryableHttpError(f"{method} {url}: no answer ({error!r})") from error
    if answer.ok:
        return answer
    summary = f"{method} {url} answered HTTP {answer.status}: {answer.body[:200]}"
    if answer.worth_retrying:
        raise RetryableHttpError(summary, answer.retry_after)
    raise HttpCallError(summary + "; the request itself must change, so it is not retried")
