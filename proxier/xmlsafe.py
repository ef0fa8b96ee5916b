"""Hardened XML parsing shared by every codec (CWMP SOAP, UPnP descriptions, CMS documents).

Untrusted XML comes from ACSes and LAN devices. We refuse DTDs outright (so no XXE, no
billion laughs), never touch the network, and bound the size before lxml sees a byte.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

#: Default ceiling for one XML document (bytes). Callers may pass a smaller one.
DEFAULT_MAX_BYTES = 4 * 1024 * 1024


class XmlError(ValueError):
    """The document is not acceptable: too big, not well-formed, or uses a DTD/entities."""


class _NoExternal(etree.Resolver):
    """Refuses every external load (external DTD subset, parameter entities, XInclude):
    libxml2 would otherwise open local files named in a DOCTYPE, such as /dev/zero, before
    the document is refused."""

    def resolve(self, system_url: str, public_id: str, context: object = None) -> Any:
        raise XmlError("DTDs and entity declarations are not accepted")


def _parser() -> etree.XMLParser:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    parser.resolvers.add(_NoExternal())
    return parser


def parse_xml(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse `data` safely and return the root element, or raise `XmlError` saying why."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise XmlError(f"document of {len(raw)} bytes exceeds the limit of {max_bytes}")
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as exc:
        raise XmlError(f"not well-formed XML: {exc}") from None
    if root is None:
        raise XmlError("empty document")
    # A DOCTYPE is never needed by any protocol we speak. Asked of the parser's own view of
    # the document (not a byte scan), so UTF-16/UTF-32 cannot hide one; the parser neither
    # loads nor expands anything in it, so refusing it afterwards closes XXE and entity
    # expansion alike.
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlError("DTDs and entity declarations are not accepted")
    return root


def local_name(element: etree._Element) -> str:
    """The tag without its namespace ("{urn:x}Foo" → "Foo")."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def namespace(element: etree._Element) -> str:
    """The element's namespace URI, or "" when it has none."""
    tag = element.tag
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].split("}", 1)[0]
    return ""
