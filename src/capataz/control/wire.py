"""XML-RPC answers written straight to text, byte for byte as ``xmlrpc.client.dumps`` writes them.

The stdlib's ``Marshaller`` looks each value's writer up through a method
table and appends a handful of small strings per value; for
``getAllProcessInfo`` over hundreds of processes that is most of the daemon's
time. Here each value is one f-string, and the pieces callers cache (a
process's unchanging members, see ``structs.ProcessXml``) are written with the
same functions, so cached and fresh output cannot differ.

Only the types the API returns are written: ``str``, ``int`` (32-bit),
``bool``, ``float``, ``bytes``, ``None`` (``<nil/>``, as with
``allow_none=True``), ``list``/``tuple`` and ``dict`` with ``str`` keys.
Anything else, a subclass included, is a ``TypeError`` as in the stdlib, and
an int beyond 32 bits is an ``OverflowError``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

MAXINT = 2**31 - 1
MININT = -(2**31)

_HEAD = "<?xml version='1.0'?>\n<methodResponse>\n"
_RESPONSE_HEAD = _HEAD + "<params>\n<param>\n"
_RESPONSE_TAIL = "</param>\n</params>\n</methodResponse>\n"


def escape(text: str) -> str:
    """``&``, ``<`` and ``>`` as entities: exactly the stdlib's escaping, nothing more."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def int_xml(value: int) -> str:
    if value > MAXINT or value < MININT:
        raise OverflowError("int exceeds XML-RPC limits")
    return f"<value><int>{value}</int></value>\n"


def string_xml(value: str) -> str:
    return f"<value><string>{escape(value)}</string></value>\n"


def member_xml(name: str, value: object) -> str:
    """One ``<member>`` of a struct."""
    return f"<member>\n<name>{escape(name)}</name>\n{value_xml(value)}</member>\n"


def value_xml(value: object) -> str:
    """The ``<value>`` element of ``value``, newline included where the stdlib puts one."""
    parts: list[str] = []
    _write(value, parts.append, set())
    return "".join(parts)


def response(value: object) -> bytes:
    """A whole ``methodResponse`` carrying ``value``."""
    return response_of_xml(value_xml(value))


def response_of_xml(value: str) -> bytes:
    """A ``methodResponse`` around a ``<value>`` already written (``value_xml``)."""
    return f"{_RESPONSE_HEAD}{value}{_RESPONSE_TAIL}".encode()


def fault_response(code: int, text: str) -> bytes:
    """A ``methodResponse`` carrying ``<fault>``; ``code`` must fit in 32 bits."""
    struct = value_xml({"faultCode": code, "faultString": text})
    return f"{_HEAD}<fault>\n{struct}</fault>\n</methodResponse>\n".encode()


def _write(value: object, write: Callable[[str], object], open_containers: set[int]) -> None:
    kind = type(value)
    if kind is str:
        write(string_xml(value))  # type: ignore[arg-type]
    elif kind is int:
        write(int_xml(value))  # type: ignore[arg-type]
    elif kind is bool:
        write("<value><boolean>1</boolean></value>\n" if value
              else "<value><boolean>0</boolean></value>\n")
    elif kind is dict:
        _write_struct(value, write, open_containers)  # type: ignore[arg-type]
    elif kind is list or kind is tuple:
        _write_array(value, write, open_containers)  # type: ignore[arg-type]
    elif value is None:
        write("<value><nil/></value>")
    elif kind is float:
        write(f"<value><double>{value!r}</double></value>\n")
    elif kind is bytes or kind is bytearray:
        encoded = base64.encodebytes(value).decode("ascii")  # type: ignore[arg-type]
        write(f"<value><base64>\n{encoded}</base64></value>\n")
    else:
        raise TypeError(f"cannot marshal {kind} objects")


def _enter(container: object, open_containers: set[int], what: str) -> int:
    # A container inside itself would never end; the stdlib refuses it the same way.
    key = id(container)
    if key in open_containers:
        raise TypeError(f"cannot marshal recursive {what}")
    open_containers.add(key)
    return key


def _write_struct(value: dict[object, object], write: Callable[[str], object],
                  open_containers: set[int]) -> None:
    key = _enter(value, open_containers, "dictionaries")
    write("<value><struct>\n")
    for name, item in value.items():
        if not isinstance(name, str):
            raise TypeError("dictionary key must be string")
        write(f"<member>\n<name>{escape(name)}</name>\n")
        _write(item, write, open_containers)
        write("</member>\n")
    write("</struct></value>\n")
    open_containers.discard(key)


def _write_array(value: list[object] | tuple[object, ...], write: Callable[[str], object],
                 open_containers: set[int]) -> None:
    key = _enter(value, open_containers, "sequences")
    write("<value><array><data>\n")
    for item in value:
        _write(item, write, open_containers)
    write("</data></array></value>\n")
    open_containers.discard(key)
