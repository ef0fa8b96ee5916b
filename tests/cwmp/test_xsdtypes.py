"""XML Schema scalar types as TR-069 §A.2.1 Table 9 defines them, and text escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxier.cwmp.rpc import UNKNOWN_TIME
from proxier.cwmp.xsdtypes import (
    canonical_value,
    check_value,
    escape_attr,
    escape_text,
    format_boolean,
    format_datetime,
    parse_boolean,
    parse_datetime,
    parse_int,
    parse_unsigned_int,
)


@pytest.mark.parametrize(
    ("text", "value"), [("1", True), ("true", True), ("0", False), ("false", False), (" 1\n", True)]
)
def test_boolean_forms(text: str, value: bool) -> None:
    """Table 9: "1"/"true" and "0"/"false" are interchangeable."""
    assert parse_boolean(text) is value


@pytest.mark.parametrize("text", ["", "yes", "TRUE", "2", "on"])
def test_boolean_rejects_others(text: str) -> None:
    """Table 9 allows only 0, 1, true and false (case-sensitive)."""
    with pytest.raises(ValueError):
        parse_boolean(text)


def test_boolean_is_sent_as_digit() -> None:
    """Table 9: 0/1 are valid booleans; we always send the digits."""
    assert (format_boolean(True), format_boolean(False)) == ("1", "0")


def test_int_and_unsigned_int_ranges() -> None:
    """Table 9: int is −2147483648…2147483647; unsignedInt is 0…4294967295."""
    assert parse_int("-2147483648") == -(2**31)
    assert parse_int("+7") == 7
    assert parse_unsigned_int("4294967295") == 2**32 - 1
    for bad in ("2147483648", "1.5", "1_000", "٣", "", "0x10"):
        with pytest.raises(ValueError):
            parse_int(bad)
    for bad in ("-1", "4294967296", "abc"):
        with pytest.raises(ValueError):
            parse_unsigned_int(bad)


def test_datetime_end_of_day_and_offsets() -> None:
    """Table 9 / SOAP dateTime: 24:00:00, offsets without colon, sub-microsecond fractions."""
    assert parse_datetime("2026-12-31T24:00:00Z") == datetime(2027, 1, 1, tzinfo=UTC)
    assert parse_datetime("2026-01-01T05:30:00+0530") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_datetime("2026-01-01T00:00:00.123456789Z").microsecond == 123456


def test_unknown_time_written_with_an_offset_stays_unknown() -> None:
    """0001-01-01T00:00:00+01:00 would fall before year 1 in UTC: it is the Unknown Time."""
    assert parse_datetime("0001-01-01T00:00:00+01:00") == UNKNOWN_TIME


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-11-21",
        "2026-11-21 15:16:21Z",
        "2026-13-01T00:00:00Z",
        "2026-11-21T15:16:21+25:00",
        "0000-01-01T00:00:00Z",
        "now",
    ],
)
def test_datetime_rejects_malformed(text: str) -> None:
    """Table 9: anything that is not the SOAP dateTime subset is refused (becomes 9003)."""
    with pytest.raises(ValueError):
        parse_datetime(text)


def test_datetime_formatting() -> None:
    """Table 9: UTC with a Z suffix; time since boot untimezoned; Unknown Time exact."""
    assert format_datetime(UNKNOWN_TIME) == "0001-01-01T00:00:00Z"
    assert format_datetime(datetime(1, 1, 3, 3, 4, 5)) == "0001-01-03T03:04:05"
    cest = timezone(timedelta(hours=2))
    assert format_datetime(datetime(2026, 6, 1, 12, 0, tzinfo=cest)) == "2026-06-01T10:00:00Z"
    assert format_datetime(datetime(2026, 6, 1, 12, 0, 0, 250000, UTC)) == (
        "2026-06-01T12:00:00.25Z"
    )


def test_escaping() -> None:
    """XML 1.0: markup is escaped, CR kept as a reference, invalid characters replaced."""
    assert escape_text("plain") == "plain"
    assert escape_text("a<b>&c\r") == "a&lt;b&gt;&amp;c&#13;"
    assert escape_text("nul\x00") == "nul\ufffd"
    assert escape_attr('x"y\n') == "x&quot;y&#10;"


# --- issue 12 item 1: one validator per xsd type (check_value) ----------------------------

# Oracles written from XML Schema 1.0 Part 2 (lexical spaces, whiteSpace="collapse") and
# TR-069 Table 9, independently of the code under test.
_WS = "[ \t\r\n]*"
_ORACLE = {
    "xsd:boolean": re.compile(f"{_WS}(?:true|false|1|0){_WS}"),
    "xsd:int": re.compile(f"{_WS}[+-]?[0-9]+{_WS}"),
    "xsd:long": re.compile(f"{_WS}[+-]?[0-9]+{_WS}"),
    "xsd:unsignedInt": re.compile(f"{_WS}(?:[+]?[0-9]+|-0+){_WS}"),
    "xsd:unsignedLong": re.compile(f"{_WS}(?:[+]?[0-9]+|-0+){_WS}"),
    "xsd:dateTime": re.compile(
        f"{_WS}-?[0-9]{{4,}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}"
        f"(?:[.][0-9]+)?(?:Z|[+-][0-9]{{2}}:[0-9]{{2}})?{_WS}"
    ),
    "xsd:hexBinary": re.compile(f"{_WS}(?:[0-9a-fA-F][0-9a-fA-F])*{_WS}"),
}
_RANGE = {
    "xsd:int": (-(2**31), 2**31 - 1),
    "xsd:unsignedInt": (0, 2**32 - 1),
    "xsd:long": (-(2**63), 2**63 - 1),
    "xsd:unsignedLong": (0, 2**64 - 1),
}


def _oracle_accepts(xsd: str, text: str) -> bool:
    if not _ORACLE[xsd].fullmatch(text):
        return False
    if xsd in _RANGE:
        low, high = _RANGE[xsd]
        return low <= int(text.strip(" \t\r\n")) <= high
    return True


#: Characters near the lexical spaces: ASCII digits and separators, non-ASCII digits and
#: superscripts, Unicode spaces, control characters.
_NEAR = "0123456789+-.:TZtrufalsexAbF \t\r\n\u00b2\u00b9\u0661\u0662\U0001d7d9\u2003\u00a0\x1c_"


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    xsd=st.sampled_from(sorted(_ORACLE)),
    text=st.one_of(st.text(alphabet=_NEAR, max_size=40), st.text(max_size=40)),
)
def test_random_strings_never_pass_outside_the_lexical_space(xsd: str, text: str) -> None:
    """Issue 12 item 1 rule: random strings never pass where the XML Schema lexical space
    (and the Table 9 range) says no; check_value never raises."""
    if not check_value(xsd, text):
        assert _oracle_accepts(xsd, text), (xsd, text)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(number=st.integers(min_value=0, max_value=2**32 - 1), zeros=st.integers(0, 30))
def test_every_unsigned_int_in_range_passes(number: int, zeros: int) -> None:
    """The converse: every unsignedInt of Table 9, with leading zeros, is accepted and stored
    in canonical form."""
    text = "0" * zeros + str(number)
    assert check_value("xsd:unsignedInt", text) == ""
    assert canonical_value("xsd:unsignedInt", text) == str(number)


@pytest.mark.parametrize(
    ("xsd", "text"),
    [
        ("xsd:unsignedInt", "١٢"),
        ("xsd:unsignedInt", "𝟙"),
        ("xsd:unsignedInt", "²"),
        ("xsd:unsignedInt", "4294967296"),
        ("xsd:unsignedInt", "1" * 26),
        ("xsd:unsignedInt", "1" * 5000),  # int() itself would refuse to convert this
        ("xsd:unsignedInt", "-1"),
        ("xsd:unsignedInt", "1_000"),
        ("xsd:int", "2147483648"),
        ("xsd:boolean", "\u2003true"),
        ("xsd:dateTime", "2024-01-01"),
        ("xsd:dateTime", "2024-01-01 10:00:00"),
        ("xsd:dateTime", "20240101T100000Z"),
        ("xsd:dateTime", "2024-02-30T10:00:00Z"),
        ("xsd:dateTime", "2024-01-01T10:00:00+0100"),
        ("xsd:dateTime", "2024-01-01T10:00:00+15:00"),
        ("xsd:hexBinary", "abc"),
        ("xsd:base64", "QR=="),
    ],
)
def test_issue_values_are_refused(xsd: str, text: str) -> None:
    """Issue 12 item 1: each value the outside testing got through is now refused."""
    assert check_value(xsd, text) != ""


@pytest.mark.parametrize(
    ("xsd", "text"),
    [
        ("xsd:unsignedInt", " 4294967295\n"),
        ("xsd:unsignedInt", "+0"),
        ("xsd:unsignedInt", "-0"),
        ("xsd:int", "-2147483648"),
        ("xsd:dateTime", "0001-01-01T00:00:00Z"),
        ("xsd:dateTime", "2024-01-01T10:00:00.5+14:00"),
        ("xsd:dateTime", "2024-12-31T24:00:00"),
        ("xsd:base64", "QUJD QQ=="),
        ("xsd:hexBinary", "0aFF"),
    ],
)
def test_lexical_space_edges_are_accepted(xsd: str, text: str) -> None:
    """XML Schema lexical forms at the edges (whitespace collapse, signed zero, 24:00:00,
    +14:00, base64 with spaces) are values, not faults."""
    assert check_value(xsd, text) == ""


def test_ranges_narrow_and_strings_are_bounded() -> None:
    """TR-181 ranges narrow the type's range; string(N) and enumerations bound strings."""
    assert check_value("xsd:unsignedInt", "0", minimum=1) != ""
    assert check_value("xsd:unsignedInt", "64", maximum=63) != ""
    assert check_value("xsd:string", "x" * 65, max_length=64) != ""
    assert check_value("xsd:string", "B", enumeration=("A",)) != ""
    assert check_value("xsd:string", "é" * 64, max_length=64) == ""
