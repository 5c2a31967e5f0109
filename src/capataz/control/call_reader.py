"""Reading an XML-RPC call: ``defusedxml``'s expat parser and a small reader of its values.

The stdlib's ``xmlrpc.client.Unmarshaller`` would do, but importing
``xmlrpc.client`` brings ``decimal``, ``gzip`` and ``http.client`` into the
daemon (half a megabyte of its resident memory) for the few value types a
call carries. This reader follows the Unmarshaller rule for rule, and the
tests hold it to the stdlib's result on generated calls:

* ``int``, ``i1``, ``i2``, ``i4``, ``i8``, ``biginteger`` -> ``int``;
  ``double``, ``float`` -> ``float``; ``bigdecimal`` -> ``Decimal``;
  ``boolean`` (``0``/``1``) -> ``bool``; ``nil`` -> ``None``; ``string``,
  ``name`` and an untyped ``<value>`` -> ``str``; ``dateTime.iso8601`` ->
  ``datetime``; ``base64`` -> ``xmlrpc.client.Binary``; ``array`` -> ``list``;
  ``struct`` -> ``dict``; a namespace prefix (``ex:nil``) is ignored.
* Rarely used types import what they need when they appear.

Parsing forbids DTDs, entity declarations and external references
(``defusedxml``), so a hostile body cannot expand or fetch anything.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable
from typing import Any
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl

from defusedxml.expatreader import DefusedExpatParser


class CallError(ValueError):
    """The body is XML but not an XML-RPC call (or not one this reader can finish)."""


def read_call(body: bytes) -> tuple[str | None, tuple[Any, ...]]:
    """(method name, params) of an XML-RPC ``methodCall``; errors propagate from the parser.

    Raises ``CallError`` for a document that is not a call, and the parser's
    own errors (``SAXException``, ``DefusedXmlException``) for bad XML.
    """
    reader = _CallReader()
    parser = DefusedExpatParser(forbid_dtd=True)
    parser.setContentHandler(reader)
    parser.feed(body)
    parser.close()
    return reader.method, reader.params()


def _integer(text: str) -> int:
    return int(text)


def _boolean(text: str) -> bool:
    if text == "0":
        return False
    if text == "1":
        return True
    raise CallError(f"bad boolean value {text!r}")


def _datetime(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y%m%dT%H:%M:%S")


def _decimal(text: str) -> object:
    from decimal import Decimal  # only for Apache's bigdecimal extension

    return Decimal(text)


def _binary(text: str) -> object:
    from xmlrpc.client import Binary  # what the stdlib gives a server without builtin types

    return Binary(base64.decodebytes(text.encode("ascii")))


_SCALARS: dict[str, Callable[[str], object]] = {
    "int": _integer, "i1": _integer, "i2": _integer, "i4": _integer, "i8": _integer,
    "biginteger": _integer, "double": float, "float": float, "bigdecimal": _decimal,
    "boolean": _boolean, "string": str, "name": str, "dateTime.iso8601": _datetime,
    "base64": _binary,
}
#: The tags that may open right inside a <value> (the stdlib's rule, its exact list).
_VALUE_TAGS = frozenset(_SCALARS) | {"nil", "array", "struct", "value", "params", "fault",
                                     "methodName"}


class _CallReader(ContentHandler):
    """SAX events into values: a stack of finished values, marks where containers open."""

    def __init__(self) -> None:
        super().__init__()
        self.method: str | None = None
        self._kind: str | None = None  # "params" once </params> is seen
        self._stack: list[Any] = []
        self._marks: list[int] = []
        self._text: list[str] = []
        self._in_value = False  # right after <value>: its text is a string if no tag follows

    def params(self) -> tuple[Any, ...]:
        if self._kind is None or self._marks:
            raise CallError("an unfinished or empty XML-RPC call")
        if self._kind == "fault":
            raise CallError("a fault is not a call")
        return tuple(self._stack)

    def startElement(self, name: str, attrs: AttributesImpl) -> None:  # noqa: N802 - SAX's name
        del attrs
        tag = name.rsplit(":", 1)[-1]
        if tag in ("array", "struct"):
            self._marks.append(len(self._stack))
        self._text = []
        if self._in_value and tag not in _VALUE_TAGS:
            raise CallError(f"unknown tag {tag!r}")
        self._in_value = tag == "value"

    def characters(self, content: str) -> None:
        self._text.append(content)

    def endElement(self, name: str) -> None:  # noqa: N802 - SAX's name
        tag = name.rsplit(":", 1)[-1]
        text = "".join(self._text)
        convert = _SCALARS.get(tag)
        if convert is not None:
            self._stack.append(convert(text))
            self._in_value = False
        elif tag == "nil":
            self._stack.append(None)
            self._in_value = False
        elif tag == "array":
            mark = self._marks.pop()
            self._stack[mark:] = [self._stack[mark:]]
            self._in_value = False
        elif tag == "struct":
            mark = self._marks.pop()
            items = self._stack[mark:]
            if len(items) % 2:
                raise CallError("a struct member without its name or value")
            self._stack[mark:] = [dict(zip(items[::2], items[1::2], strict=True))]
            self._in_value = False
        elif tag == "value":
            if self._in_value:  # <value>text</value>: a string without its tag
                self._stack.append(text)
                self._in_value = False
        elif tag in ("params", "fault"):
            self._kind = tag
        elif tag == "methodName":
            self.method = text
            self._kind = "methodName"
