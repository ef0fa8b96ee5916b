"""SSDP messages as values (sans-IO): parse what arrives on UDP 1900, build what we send.

Covers UDA 1.1/2.0 NOTIFY (ssdp:alive, ssdp:byebye, ssdp:update), M-SEARCH and its unicast
200 OK answers, with the UDA 1.1 headers (BOOTID/NEXTBOOTID/CONFIGID.UPNP.ORG),
DeviceProtection's SECURELOCATION.UPNP.ORG and UPnP DM's ANNOUNCEMENT.DM.UPNP.ORG (BMS:2
§2.4.1, TR-330 §4.2). Datagrams that are not SSDP or lack what a message kind needs raise
`SsdpError`; the driver logs and drops them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

SSDP_GROUP_V4 = "239.255.255.250"
SSDP_GROUP_V6_LINK = "FF02::C"
SSDP_GROUP_V6_SITE = "FF05::C"
SSDP_PORT = 1900

#: Upper bound on one SSDP datagram we are willing to look at.
MAX_DATAGRAM = 8192
_MAX_HEADERS = 64
#: UDA: CACHE-CONTROL is required; if a device forgets it we assume the UDA minimum.
DEFAULT_MAX_AGE = 1800

MessageKind = Literal["alive", "byebye", "update", "response", "search"]

ANNOUNCEMENTS = ("AboutToReboot", "AboutToBaselineReset")

#: Bounds on what one header may hold (a datagram is at most MAX_DATAGRAM anyway).
MAX_HEADER_VALUE = 1024
MAX_TOKEN = 256  # USN, NT, ST, the start line
#: BOOTID/NEXTBOOTID/CONFIGID.UPNP.ORG and max-age are non-negative 31-bit integers (UDA 1.1).
MAX_NUMBER = 2**31 - 1

_MAX_AGE = re.compile(r"max-age[ \t]*=[ \t]*\"?([0-9]{1,10})\"?(?:[ \t]*(?:,|$))", re.I | re.A)
_NUMBER = re.compile(r"[0-9]{1,10}", re.ASCII)
_TOKEN_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", re.ASCII)
#: C0 controls but HTAB, and DEL: never in an HTTP field value (RFC 9110 §5.5).
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
_SPACE = re.compile(r"[\s\x00-\x1f\x7f]")
_NTS_KIND: dict[str, MessageKind] = {
    "ssdp:alive": "alive",
    "ssdp:byebye": "byebye",
    "ssdp:update": "update",
}


class SsdpError(ValueError):
    """The datagram is not an SSDP message we can use (the reason says why)."""


@dataclass(frozen=True, slots=True)
class SsdpMessage:
    """One SSDP message, with the headers the control point acts on already decoded.

    `target` is NT for NOTIFY, ST for a search answer or an M-SEARCH. `udn` and `usn_type`
    split the USN ("uuid:X::urn:…" → "uuid:X", "urn:…"; a bare "uuid:X" has type "").
    """

    kind: MessageKind
    target: str = ""
    usn: str = ""
    udn: str = ""
    usn_type: str = ""
    location: str = ""
    secure_location: str = ""
    max_age: int | None = None
    boot_id: int | None = None
    next_boot_id: int | None = None
    config_id: int | None = None
    announcement: str = ""
    mx: int | None = None
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def header(self, name: str, default: str = "") -> str:
        """First header named `name` (case-insensitive), as received."""
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return default


def split_usn(usn: str) -> tuple[str, str]:
    """("uuid:X", type) from a USN; raises SsdpError when it does not start with uuid:."""
    udn, _, rest = usn.strip().partition("::")
    if not udn.lower().startswith("uuid:") or len(udn) <= 5:
        raise SsdpError(f"USN without a uuid: {usn[:80]!r}")
    return udn, rest


def _int_header(headers: dict[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    raw = raw.strip()
    if not _NUMBER.fullmatch(raw) or int(raw) > MAX_NUMBER:
        raise SsdpError(f"{name.upper()} is not a 31-bit number: {raw[:40]!r}")
    return int(raw)


def _max_age(raw: str | None) -> int:
    """CACHE-CONTROL's max-age in seconds (UDA §1.2.2); absent header → the UDA minimum."""
    if raw is None or "max-age" not in raw.lower():
        return DEFAULT_MAX_AGE
    match = _MAX_AGE.search(raw)
    if match is None or int(match.group(1)) > MAX_NUMBER:
        raise SsdpError(f"CACHE-CONTROL without a usable max-age: {raw[:40]!r}")
    return int(match.group(1))


def _token(name: str, value: str) -> str:
    """USN, NT, ST: one bounded token without spaces or controls."""
    if len(value) > MAX_TOKEN or _SPACE.search(value):
        raise SsdpError(f"{name} is not a single bounded token: {value[:40]!r}")
    return value


def _url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    """LOCATION / SECURELOCATION.UPNP.ORG: an absolute http(s) URL with a host and a valid
    port (urllib refuses "http://[::1/…" and ports past 65535 only when asked)."""
    if not value:
        return value
    try:
        parts = urlsplit(value)
        ok = parts.scheme in schemes and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        ok = False
    if not ok or _SPACE.search(value):
        raise SsdpError(f"{name} is not an absolute {'/'.join(schemes)} URL: {value[:80]!r}")
    return value


def _announcement(raw: str) -> str:
    """Canonical spelling of a known DM announcement; unknown values pass through stripped."""
    value = raw.strip()
    for known in ANNOUNCEMENTS:
        if value.lower() == known.lower():
            return known
    return value


def _split(data: bytes) -> tuple[str, list[tuple[str, str]]]:
    if len(data) > MAX_DATAGRAM:
        raise SsdpError(f"datagram of {len(data)} bytes is too large")
    text = data.decode("utf-8", errors="replace")
    lines = text.replace("\r\n", "\n").split("\n")
    start = lines[0].strip()
    if len(start) > MAX_TOKEN or _CONTROL.search(start):
        raise SsdpError(f"malformed start line {start[:60]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line.strip():
            break
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN_NAME.fullmatch(name.strip()):
            raise SsdpError(f"malformed header line {line[:80]!r}")
        value = value.strip()
        if len(value) > MAX_HEADER_VALUE or _CONTROL.search(value):
            raise SsdpError(f"{name.strip()[:40]} holds controls or is too long: {value[:40]!r}")
        headers.append((name.strip().lower(), value))
        if len(headers) > _MAX_HEADERS:
            raise SsdpError("too many headers")
    return start, headers


def parse(data: bytes) -> SsdpMessage:
    """Decode one SSDP datagram or raise `SsdpError`."""
    start, header_list = _split(data)
    headers: dict[str, str] = {}
    for key, value in header_list:
        headers.setdefault(key, value)
    method = start.split(" ", 1)[0].upper()
    kind: MessageKind
    if method == "NOTIFY":
        nts = headers.get("nts", "").lower()
        if nts not in _NTS_KIND:
            raise SsdpError(f"NOTIFY with unknown NTS {nts[:40]!r}")
        kind = _NTS_KIND[nts]
        target = headers.get("nt", "")
    elif method == "M-SEARCH":
        kind = "search"
        target = headers.get("st", "")
    elif start.upper().startswith("HTTP/1."):
        parts = start.split()
        if len(parts) < 2 or parts[1] != "200":
            raise SsdpError(f"search answer with status {start[:40]!r}")
        kind = "response"
        target = headers.get("st", "")
    else:
        raise SsdpError(f"not an SSDP start line: {start[:60]!r}")
    if not target:
        raise SsdpError(
            f"{kind} message without {'ST' if kind in ('response', 'search') else 'NT'}"
        )
    target = _token("ST" if kind in ("response", "search") else "NT", target)
    usn = _token("USN", headers.get("usn", ""))
    udn = usn_type = ""
    if kind != "search":
        udn, usn_type = split_usn(usn)
    location = _url("LOCATION", headers.get("location", ""), ("http", "https"))
    if kind in ("alive", "response") and not location:
        raise SsdpError(f"{kind} without LOCATION from {udn}")
    max_age: int | None = None
    if kind in ("alive", "response"):
        max_age = _max_age(headers.get("cache-control"))
    mx: int | None = None
    if kind == "search":
        mx = _int_header(headers, "mx")
    return SsdpMessage(
        kind=kind,
        target=target,
        usn=usn,
        udn=udn,
        usn_type=usn_type,
        location=location,
        secure_location=_url(
            "SECURELOCATION.UPNP.ORG", headers.get("securelocation.upnp.org", ""), ("https",)
        ),
        max_age=max_age,
        boot_id=_int_header(headers, "bootid.upnp.org"),
        next_boot_id=_int_header(headers, "nextbootid.upnp.org"),
        config_id=_int_header(headers, "configid.upnp.org"),
        announcement=_announcement(headers.get("announcement.dm.upnp.org", "")),
        mx=mx,
        headers=tuple(header_list),
    )


# --- building ------------------------------------------------------------------------------


def _packet(start: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [start, *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _host(group: str) -> str:
    return f"[{group}]:{SSDP_PORT}" if ":" in group else f"{group}:{SSDP_PORT}"


def build_msearch(
    search_target: str,
    *,
    mx: int = 2,
    group: str = SSDP_GROUP_V4,
    user_agent: str = "Linux UPnP/2.0 proxier/0.1",
    cp_friendly_name: str = "proxier",
    cp_uuid: str = "",
) -> bytes:
    """A multicast M-SEARCH with the UDA 2.0 control-point headers (CPFN, optional CPUUID)."""
    headers = [
        ("HOST", _host(group)),
        ("MAN", '"ssdp:discover"'),
        ("MX", str(max(1, min(mx, 5)))),
        ("ST", search_target),
        ("USER-AGENT", user_agent),
        ("CPFN.UPNP.ORG", cp_friendly_name),
    ]
    if cp_uuid:
        headers.append(("CPUUID.UPNP.ORG", cp_uuid))
    return _packet("M-SEARCH * HTTP/1.1", headers)


def _device_headers(
    *,
    location: str,
    max_age: int,
    boot_id: int | None,
    config_id: int | None,
    secure_location: str,
    announcement: str,
    server: str,
) -> list[tuple[str, str]]:
    headers = [
        ("CACHE-CONTROL", f"max-age={max_age}"),
        ("LOCATION", location),
        ("SERVER", server),
    ]
    if boot_id is not None:
        headers.append(("BOOTID.UPNP.ORG", str(boot_id)))
    if config_id is not None:
        headers.append(("CONFIGID.UPNP.ORG", str(config_id)))
    if secure_location:
        headers.append(("SECURELOCATION.UPNP.ORG", secure_location))
    if announcement:
        headers.append(("ANNOUNCEMENT.DM.UPNP.ORG", announcement))
    return headers


def usn_for(udn: str, target: str) -> str:
    """USN a device uses for NT/ST `target` (UDA §1.1.2: bare UDN when the target is it)."""
    return udn if target == udn else f"{udn}::{target}"


def build_notify(
    nts: Literal["ssdp:alive", "ssdp:byebye", "ssdp:update"],
    nt: str,
    udn: str,
    *,
    location: str = "",
    max_age: int = DEFAULT_MAX_AGE,
    boot_id: int | None = None,
    next_boot_id: int | None = None,
    config_id: int | None = None,
    secure_location: str = "",
    announcement: str = "",
    server: str = "Linux UPnP/2.0 proxier/0.1",
    group: str = SSDP_GROUP_V4,
) -> bytes:
    """A NOTIFY as a device sends it; byebye carries only the identifying headers."""
    headers = [("HOST", _host(group)), ("NT", nt), ("NTS", nts), ("USN", usn_for(udn, nt))]
    if nts == "ssdp:byebye":
        if boot_id is not None:
            headers.append(("BOOTID.UPNP.ORG", str(boot_id)))
        if config_id is not None:
            headers.append(("CONFIGID.UPNP.ORG", str(config_id)))
        if secure_location:  # DP §6.1: pupnp's DP branch keeps it in byebye too
            headers.append(("SECURELOCATION.UPNP.ORG", secure_location))
        if announcement:
            headers.append(("ANNOUNCEMENT.DM.UPNP.ORG", announcement))
        return _packet("NOTIFY * HTTP/1.1", headers)
    headers += _device_headers(
        location=location,
        max_age=max_age,
        boot_id=boot_id,
        config_id=config_id,
        secure_location=secure_location,
        announcement=announcement,
        server=server,
    )
    if nts == "ssdp:update" and next_boot_id is not None:
        headers.append(("NEXTBOOTID.UPNP.ORG", str(next_boot_id)))
    return _packet("NOTIFY * HTTP/1.1", headers)


def build_search_response(
    st: str,
    udn: str,
    *,
    location: str,
    max_age: int = DEFAULT_MAX_AGE,
    boot_id: int | None = None,
    config_id: int | None = None,
    secure_location: str = "",
    server: str = "Linux UPnP/2.0 proxier/0.1",
) -> bytes:
    """The unicast 200 OK a device sends for one matching ST."""
    headers = [("EXT", ""), ("ST", st), ("USN", usn_for(udn, st))]
    headers += _device_headers(
        location=location,
        max_age=max_age,
        boot_id=boot_id,
        config_id=config_id,
        secure_location=secure_location,
        announcement="",
        server=server,
    )
    return _packet("HTTP/1.1 200 OK", headers)
