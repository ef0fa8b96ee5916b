"""XML Schema scalar types as TR-069 §A.2.1 Table 9 defines them, and text escaping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from proxier.cwmp.rpc import UNKNOWN_TIME
from proxier.cwmp.xsdtypes import (
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
