"""XML Schema scalar types as CWMP uses them (TR-069 §A.2.1 Table 9), plus text escaping.

Shared by the SOAP codec and by anyone turning ParameterValueStruct strings into Python values
(the translation layer): one definition of what "boolean", "int" and "dateTime" accept.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from proxier.cwmp.rpc import UNKNOWN_TIME

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
UINT_MAX = 2**32 - 1


def parse_boolean(text: str) -> bool:
    """Table 9: "0"/"false" and "1"/"true" are interchangeable. Raises ValueError otherwise."""
    value = text.strip()
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def format_boolean(value: bool) -> str:
    return "1" if value else "0"


def parse_int(text: str) -> int:
    """xsd:int (−2147483648 … 2147483647). Raises ValueError otherwise."""
    value = _parse_integer(text)
    if not INT_MIN <= value <= INT_MAX:
        raise ValueError(f"int out of range: {text!r}")
    return value


def parse_unsigned_int(text: str) -> int:
    """xsd:unsignedInt (0 … 4294967295). Raises ValueError otherwise."""
    value = _parse_integer(text)
    if not 0 <= value <= UINT_MAX:
        raise ValueError(f"unsignedInt out of range: {text!r}")
    return value


_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")


def _parse_integer(text: str) -> int:
    value = text.strip()
    # int() alone would also accept "1_000" and non-ASCII digits; the schema does not.
    if not _INTEGER.fullmatch(value):
        raise ValueError(f"not an integer: {text!r}")
    return int(value)


_DATETIME = re.compile(
    r"(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)


def parse_datetime(text: str) -> datetime:
    """xsd:dateTime as Table 9 uses it.

    Timezoned values come back aware, in UTC. Untimezoned values with a year below 1000 are
    relative time since boot (Table 9) and come back naive; other untimezoned values are taken
    as UTC. Fractions beyond microseconds are truncated. Raises ValueError when malformed.
    """
    m = _DATETIME.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not an xsd:dateTime: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    fraction = m.group(7) or ""
    micro = int((fraction + "000000")[:6])
    tz = m.group(8)
    if not 1 <= year <= 9999:
        raise ValueError(f"year out of range: {text!r}")
    if hour == 24 and minute == 0 and second == 0 and micro == 0:
        # xsd allows 24:00:00 for the end of a day.
        base = datetime(year, month, day) + timedelta(days=1)
        year, month, day, hour = base.year, base.month, base.day, 0
    naive = datetime(year, month, day, hour, minute, second, micro)
    if tz is None:
        return naive if year < 1000 else naive.replace(tzinfo=UTC)
    if tz == "Z":
        return naive.replace(tzinfo=UTC)
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    if offset >= timedelta(hours=24):
        raise ValueError(f"timezone out of range: {text!r}")
    try:
        return naive.replace(tzinfo=timezone(sign * offset)).astimezone(UTC)
    except OverflowError:
        # Only reachable around year 1 / 9999: the Unknown Time written with an offset.
        return UNKNOWN_TIME if year < 1000 else datetime.max.replace(tzinfo=UTC)


def format_datetime(value: datetime) -> str:
    """xsd:dateTime: aware → UTC with "Z"; naive with year < 1000 → untimezoned (time since
    boot, Table 9); other naive values are taken as UTC. Microseconds only when non-zero."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
        suffix = "Z"
    else:
        suffix = "" if value.year < 1000 else "Z"
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + suffix


# --- text escaping for the encoder -----------------------------------------------------------

# Characters XML 1.0 cannot carry at all (§2.2 Char), and those that need a reference.
_SPECIAL = re.compile('[&<>"\r\t\n\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_TEXT_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape_text(text: str) -> str:
    """Escape character data. Characters XML 1.0 cannot represent become U+FFFD: a value read
    from a LAN device must never make the whole envelope unparsable."""
    if _TEXT_SPECIAL.search(text) is None:
        return text
    text = _INVALID.sub("\ufffd", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def escape_attr(text: str) -> str:
    """Escape an attribute value (quoted with double quotes)."""
    if _SPECIAL.search(text) is None:
        return text
    text = _INVALID.sub("\ufffd", text)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\r", "&#13;")
        .replace("\n", "&#10;")
        .replace("\t", "&#9;")
    )
