"""The one way this package parses XML that came from outside (SUNAT, a client, a file).

lxml with a hardened parser: no entity expansion, no DTD loading, no network, and any
document carrying a DOCTYPE is refused outright (SOAP forbids them, and neither UBL nor
a CDR needs one). This is the protection defusedxml gives, kept in lxml because the
signature library needs lxml trees.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from facturacion.errors import UnreadableResponseError


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse(data: bytes, what: str) -> etree._Element:
    """Parse ``data`` (any declared encoding) or raise naming ``what`` could not be read."""
    if not data.strip():
        raise UnreadableResponseError(f"{what} is empty")
    try:
        tree = etree.fromstring(data, parser=_parser()).getroottree()
    except etree.XMLSyntaxError as error:
        raise UnreadableResponseError(f"{what} is not well-formed XML: {error}") from error
    docinfo: Any = tree.docinfo  # lxml-stubs lacks DocInfo.doctype
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnreadableResponseError(f"{what} carries a DOCTYPE; refusing it as unsafe")
    return tree.getroot()


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def find_local(element: etree._Element, *path: str) -> etree._Element | None:
    """Walk child elements by local name, ignoring namespaces and prefixes."""
    current: etree._Element | None = element
    for name in path:
        if current is None:
            return None
        current = next(
            (
                child
                for child in current
                if isinstance(child.tag, str) and local_name(child) == name
            ),
            None,
        )
    return current


def first_element(element: etree._Element | None) -> etree._Element | None:
    """The first child element, skipping comments and processing instructions."""
    if element is None:
        return None
    return next((child for child in element if isinstance(child.tag, str)), None)


def text_of(element: etree._Element, *path: str) -> str | None:
    found = find_local(element, *path)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def iter_local(element: etree._Element, name: str) -> list[etree._Element]:
    """Every descendant whose local name is ``name``, in document order."""
    return [
        node for node in element.iter() if isinstance(node.tag, str) and local_name(node) == name
    ]
