"""XML Schema scalar types as CWMP uses them (TR-069 §A.2.1 Table 9), plus text escaping.

Shared by the SOAP codec and by anyone turning ParameterValueStruct strings into Python values
(the translation layer): one definition of what "boolean", "int" and "dateTime" accept.
`check_value` is the one validator every SetParameterValues path uses (memory backend,
proxier-held objects, values forwarded to a device): exact to the XML Schema 1.0 lexical
spaces and the Table 9 ranges, so a bad value is a 9007 (A.3.2.1), never an exception.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from proxier.cwmp.rpc import UNKNOWN_TIME

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
UINT_MAX = 2**32 - 1
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
ULONG_MAX = 2**64 - 1

#: XML whitespace (XML 1.0 §2.3 S). Every non-string xsd type collapses it, so it may
#: surround a value; `str.strip()` would also drop Unicode spaces the schema does not allow.
XML_SPACE = " \t\r\n"


def parse_boolean(text: str) -> bool:
    """Table 9: "0"/"false" and "1"/"true" are interchangeable. Raises ValueError otherwise."""
    value = text.strip(XML_SPACE)
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def format_boolean(value: bool) -> str:
    return "1" if value else "0"


def parse_int(text: str) -> int:
    """xsd:int (−2147483648 … 2147483647). Raises ValueError otherwise."""
    value = parse_integer(text)
    if not INT_MIN <= value <= INT_MAX:
        raise ValueError(f"int out of range: {text!r}")
    return value


def parse_unsigned_int(text: str) -> int:
    """xsd:unsignedInt (0 … 4294967295). Raises ValueError otherwise."""
    value = parse_integer(text)
    if not 0 <= value <= UINT_MAX:
        raise ValueError(f"unsignedInt out of range: {text!r}")
    return value


_INTEGER = re.compile(r"([+-]?)0*([0-9]+)", re.ASCII)


def parse_integer(text: str) -> int:
    """xsd:integer's lexical space (any number of ASCII digits, leading zeros allowed).

    int() alone would also accept "1_000", "²" and other non-ASCII digits; the schema does
    not. Numbers with more than 20 significant digits are outside every CWMP integer type,
    so they come back as a 21-digit stand-in instead of making int() work on them.
    """
    m = _INTEGER.fullmatch(text.strip(XML_SPACE))
    if m is None:
        raise ValueError(f"not an integer: {text[:64]!r}")
    sign, digits = m.groups()
    if len(digits) > 20:
        digits = "9" * 21
    return -int(digits) if sign == "-" else int(digits)


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
    m = _DATETIME.fullmatch(text.strip(XML_SPACE))
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


# --- one validator per xsd type (SetParameterValues, A.3.2.1) -------------------------------

#: XML Schema 1.0 dateTime with its timezone (hh:mm, at most 14:00); the day of the month
#: and the year range are checked after the match.
_STRICT_DATETIME = re.compile(
    r"(-?(?:[1-9][0-9]{3,}|0[0-9]{3}))-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T(?:([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?|24:00:00(?:\.0+)?)"
    r"(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?",
    re.ASCII,
)
_B64 = "[A-Za-z0-9+/] ?"
#: XML Schema base64Binary (Datatypes 1.0 2nd ed. §3.2.16): quads, optional single spaces.
_BASE64 = re.compile(
    f"(?:(?:{_B64}){{4}})*"
    f"(?:(?:{_B64}){{3}}[A-Za-z0-9+/]|(?:{_B64}){{2}}[AEIMQUYcgkosw048] ?="
    f"|{_B64}[AQgw] ?= ?=)?",
    re.ASCII,
)
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*", re.ASCII)

#: Value range of each integer type (Table 9 for int/unsignedInt, XML Schema for the longs).
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "xsd:int": (INT_MIN, INT_MAX),
    "xsd:unsignedInt": (0, UINT_MAX),
    "xsd:long": (LONG_MIN, LONG_MAX),
    "xsd:unsignedLong": (0, ULONG_MAX),
}
_BOOLEAN_CANONICAL = {"true": "true", "1": "true", "false": "false", "0": "false"}


def check_value(
    xsd: str,
    text: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    max_length: int | None = None,
    enumeration: tuple[str, ...] = (),
) -> str:
    """Why `text` is not a value of `xsd` (within the given range), or "" when it is.

    `minimum`/`maximum` narrow an integer type's range; `max_length` and `enumeration`
    constrain a string (TR-069 string(N), TR-181 enumerations). Unknown types accept
    anything (the device is the judge). Never raises: the answer is a 9007 detail.
    """
    if xsd in INTEGER_RANGES:
        try:
            number = parse_integer(text)
        except ValueError:
            return "not an integer"
        if number < 0 and xsd.startswith("xsd:unsigned"):
            return "negative value of an unsigned type"
        low, high = INTEGER_RANGES[xsd]
        low = low if minimum is None else max(low, minimum)
        high = high if maximum is None else min(high, maximum)
        return "" if low <= number <= high else f"out of range {low}..{high}"
    if xsd == "xsd:boolean":
        return "" if text.strip(XML_SPACE) in _BOOLEAN_CANONICAL else "not a boolean"
    if xsd == "xsd:dateTime":
        return _check_datetime(text.strip(XML_SPACE))
    if xsd in ("xsd:base64", "xsd:base64Binary"):
        collapsed = _collapse(text)
        if not _BASE64.fullmatch(collapsed):
            return "not base64"
        return _check_length(len(collapsed.replace(" ", "")) * 3 // 4, max_length)
    if xsd == "xsd:hexBinary":
        if not _HEX.fullmatch(text.strip(XML_SPACE)):
            return "not hexBinary"
        return _check_length(len(text.strip(XML_SPACE)) // 2, max_length)
    if enumeration and text not in enumeration:
        return "not one of the enumerated values"
    return _check_length(len(text), max_length)


def _collapse(text: str) -> str:
    """XML Schema whiteSpace="collapse": runs of XML whitespace become one space, trimmed."""
    return re.sub("[ \t\r\n]+", " ", text).strip(" ")


def _check_length(length: int, max_length: int | None) -> str:
    if max_length is not None and length > max_length:
        return f"longer than {max_length}"
    return ""


def _check_datetime(value: str) -> str:
    m = _STRICT_DATETIME.fullmatch(value)
    if m is None:
        return "not an xsd:dateTime (YYYY-MM-DDThh:mm:ss[.s][Z|±hh:mm])"
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not 1 <= year <= 9999:
        return "year outside 0001..9999"
    try:
        datetime(year, month, day)
    except ValueError:
        return "no such day"
    return ""


def canonical_value(xsd: str, text: str) -> str:
    """The stored form of a value `check_value` accepted: booleans as true/false, integers
    without sign or leading zeros, other types without the surrounding XML whitespace."""
    if xsd == "xsd:boolean":
        return _BOOLEAN_CANONICAL[text.strip(XML_SPACE)]
    if xsd in INTEGER_RANGES:
        return str(parse_integer(text))
    if xsd in ("xsd:base64", "xsd:base64Binary"):
        return _collapse(text).replace(" ", "")
    if xsd in ("xsd:dateTime", "xsd:hexBinary"):
        return text.strip(XML_SPACE)
    return text


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
