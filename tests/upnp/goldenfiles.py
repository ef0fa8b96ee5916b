"""Golden fixture helpers: load a file, compare XML ignoring insignificant whitespace."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

GOLDEN = Path(__file__).parent / "golden"


def load(relative: str) -> str:
    return (GOLDEN / relative).read_text(encoding="utf-8")


def canonical(document: str | bytes) -> bytes:
    """C14N of the document with whitespace-only text dropped (pretty-printing ignored)."""
    raw = document.encode("utf-8") if isinstance(document, str) else document
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(raw, parser)
    for element in root.iter():
        # Whitespace-only text is layout in structural elements (with children, or
        # namespace-qualified like SOAP envelopes and action elements), never in values.
        structural = len(element) or str(element.tag).startswith("{")
        if element.text is not None and not element.text.strip() and structural:
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    return etree.tostring(root, method="c14n")
