"""Hardened XML parsing: the hostile documents every codec must refuse (brief: XXE, size)."""

import pytest

from proxier.xmlsafe import XmlError, local_name, namespace, parse_xml


def test_parses_namespaced_document() -> None:
    root = parse_xml(b'<a:Root xmlns:a="urn:x"><b>1</b></a:Root>')
    assert local_name(root) == "Root"
    assert namespace(root) == "urn:x"


def test_refuses_external_entity() -> None:
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    with pytest.raises(XmlError, match="DTD"):
        parse_xml(xxe)


def test_refuses_billion_laughs() -> None:
    lol = b'<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><l>&b;</l>'
    with pytest.raises(XmlError):
        parse_xml(lol)


def test_refuses_oversized_document_before_parsing() -> None:
    with pytest.raises(XmlError, match="exceeds"):
        parse_xml(b"<r>" + b"x" * 2048 + b"</r>", max_bytes=1024)


def test_refuses_malformed_xml() -> None:
    with pytest.raises(XmlError, match="well-formed"):
        parse_xml(b"<r><unclosed></r>")
