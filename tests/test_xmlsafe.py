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


@pytest.mark.parametrize(
    ("codec", "bom"),
    [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-32", b""), ("utf-8", b"")],
)
def test_dtd_refused_whatever_the_encoding(codec: str, bom: bytes) -> None:
    """Issue 12 item 2 rule: the parser's own view decides, so UTF-16/UTF-32 cannot hide a
    DOCTYPE from a byte scan; a bare DOCTYPE without entities is refused too."""
    for doc in (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "boom">]><r>&x;</r>',
        "<!DOCTYPE r><r/>",
    ):
        with pytest.raises(XmlError, match="DTD"):
            parse_xml(bom + doc.encode(codec))


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "doc",
    [
        b'<!DOCTYPE r SYSTEM "/dev/zero"><r/>',
        b'<!DOCTYPE r [<!ENTITY % p SYSTEM "/dev/zero"> %p;]><r/>',
        b'<!DOCTYPE r [<!ENTITY x SYSTEM "/dev/zero">]><r>&x;</r>',
    ],
)
def test_dtd_never_makes_the_parser_open_a_file(doc: bytes) -> None:
    """Issue 12 item 2: an external subset or parameter entity naming a local file is never
    loaded (here /dev/zero, which would never end): refused, promptly."""
    with pytest.raises(XmlError, match="DTD"):
        parse_xml(doc)


def test_non_ascii_utf16_document_still_parses() -> None:
    """Refusing DTDs does not refuse other encodings: a UTF-16 document parses."""
    assert parse_xml("<r>ü</r>".encode("utf-16")).text == "ü"
