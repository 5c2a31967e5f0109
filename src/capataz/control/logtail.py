"""``tail -f`` over HTTP: the last KiB of a log file, then whatever is appended.

The response is chunked and never ends on its own; the client closes it
(Ctrl-C in ``tail -f``) or the server cancels it at shutdown. A file that is
truncated (``clear``) or replaced (rotation) is reopened from its start.
"""

from __future__ import annotations

import asyncio
import os
from io import BufferedReader

from aiohttp import web

#: How much of the existing file a new reader sees first (Supervisor's value).
BACKLOG_BYTES = 1024
POLL_SECONDS = 0.2
READ_BYTES = 64 * 1024


async def follow_file(request: web.Request, path: str) -> web.StreamResponse:
    try:
        handle = open(path, "rb")  # noqa: SIM115, ASYNC230 - kept open across polls; a local file
    except OSError:
        raise web.HTTPNotFound from None
    response = web.StreamResponse(headers={
        "Content-Type": "text/plain;charset=utf-8",
        "X-Accel-Buffering": "no",  # tell a reverse proxy not to buffer the stream
    })
    response.enable_chunked_encoding()
    try:
        await response.prepare(request)
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(size - BACKLOG_BYTES, 0))
        while True:
            data = handle.read(READ_BYTES)
            if data:
                await response.write(data)
                continue
            await asyncio.sleep(POLL_SECONDS)
            handle = _reopened_if_replaced(handle, path)
    except ConnectionResetError:
        return response  # the reader went away (Ctrl-C in tail -f): the normal end
    finally:
        handle.close()


def _reopened_if_replaced(handle: BufferedReader, path: str) -> BufferedReader:
    try:
        now = os.stat(path)
    except OSError:
        return handle  # gone for a moment (rotation): keep reading the old one
    if now.st_ino != os.fstat(handle.fileno()).st_ino:
        try:
            replacement = open(path, "rb")  # noqa: SIM115 - the caller closes it
        except OSError:  # pragma: no cover - replaced and removed between stat and open
            return handle
        handle.close()
        return replacement
    if now.st_size < handle.tell():
        handle.seek(0)  # truncated (clear): the new content starts at 0
    return handle
