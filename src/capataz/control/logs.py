"""Reading log files for the API, with Supervisor's exact offset and length rules.

``readLog``/``readProcess*Log`` (``read_log``) and ``tailProcess*Log``
(``tail_log``) each have odd corners that clients rely on: a negative offset
reads the end of the file but only with length 0, a tail that fell behind jumps
to the end and says so with ``overflow``. Text is decoded as UTF-8 with
replacement, and characters XML 1.0 cannot carry are replaced too, so one
stray byte in a child's output never breaks the client's parser.
"""

from __future__ import annotations

import os
import re

from capataz.control.errors import RpcFault
from capataz.control.protocol import Fault

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def as_xml_text(data: bytes) -> str:
    return _NOT_XML.sub("\ufffd", data.decode("utf-8", "replace"))


def read_log(path: str | None, offset: int, length: int) -> str:
    """``length`` bytes from ``offset``; offset < 0: the last -offset bytes (length 0)."""
    if path is None or not os.path.exists(path):
        raise RpcFault(Fault.NO_FILE, path)
    if (offset < 0 and length != 0) or (offset >= 0 and length < 0):
        raise RpcFault(Fault.BAD_ARGUMENTS)
    try:
        with open(path, "rb") as handle:
            if offset < 0:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(size + offset, 0))
                data = handle.read(-offset)
            else:
                handle.seek(offset)
                data = handle.read(length) if length else handle.read()
    except OSError:
        raise RpcFault(Fault.FAILED) from None
    return as_xml_text(data)


def tail_log(path: str | None, offset: int, length: int) -> list[object]:
    """``[text, new offset, overflow]``: Supervisor's ``tailFile``, corner for corner."""
    if path is None or not os.path.exists(path):
        return ["", 0, False]
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            overflow = size > offset + length
            if overflow:
                offset = size - 1
            if offset + length > size:
                if offset > size - 1:
                    length = 0
                offset = size - length
            offset, length = max(offset, 0), max(length, 0)
            data = b""
            if length:
                handle.seek(offset)
                data = handle.read(length)
    except OSError:
        return ["", offset, False]
    return [as_xml_text(data), size, overflow]
