"""The worker's log: one line per job in Laravel's style, or one JSON object per line.

Text lines read well in the supervisor's log::

    2026-12-03 16:42:01 billing.send_receipt 4f1c…  ............ RUNNING
    2026-12-03 16:42:01 billing.send_receipt 4f1c…  ..... 12.41ms DONE

``--json`` writes the same events as objects, one per line, for log shippers.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import datetime
from typing import Any, TextIO

from capataz.queue.clock import Clock

WIDTH = 100


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.2f}ms"
    return f"{seconds:.2f}s"


class Output:
    """Writes each line with one write (and flush), so the log is line-buffered."""

    def __init__(self, clock: Clock, *, json_lines: bool = False, stream: TextIO | None = None):
        self._clock = clock
        self._json = json_lines
        self._stream = stream
        # A busy worker writes two lines per job, thousands a second: the timestamp is
        # formatted once per second, not once per line.
        self._stamp_second: int | None = None
        self._stamp_text = ""

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    def _stamp(self) -> str:
        second = math.floor(self._clock.time())
        if second != self._stamp_second:
            self._stamp_text = datetime.fromtimestamp(second).strftime("%Y-%m-%d %H:%M:%S")
            self._stamp_second = second
        return self._stamp_text

    def _write(self, line: str) -> None:
        stream = self.stream
        stream.write(line + "\n")
        stream.flush()

    def _emit(self, event: dict[str, Any]) -> None:
        self._write(json.dumps({"time": self._clock.time(), **event}, default=str))

    def job(
        self,
        status: str,
        name: str,
        uuid: str,
        *,
        attempt: int = 0,
        duration: float | None = None,
        error: str | None = None,
    ) -> None:
        """One job event: RUNNING, then DONE, FAIL or RELEASED."""
        if self._json:
            event: dict[str, Any] = {"event": "job", "status": status, "job": name, "id": uuid}
            event["attempt"] = attempt
            if duration is not None:
                event["duration_ms"] = round(duration * 1000, 2)
            if error:
                event["error"] = error
            self._emit(event)
            return
        head = f"{self._stamp()} {name} {uuid}"
        tail = status if duration is None else f"{format_duration(duration)} {status}"
        dots = "." * max(3, WIDTH - len(head) - len(tail) - 2)
        line = f"{head} {dots} {tail}"
        if error:
            line += f"\n  {error}"
        self._write(line)

    def info(self, message: str, **fields: Any) -> None:
        """A worker event (started, stopping, warnings)."""
        if self._json:
            self._emit({"event": "worker", "message": message, **fields})
        else:
            self._write(f"{self._stamp()} {message}")
