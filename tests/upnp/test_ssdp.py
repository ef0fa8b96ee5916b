"""SSDP codec: parsing what devices send, building what we send (UDA 1.1/2.0 §1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxier.upnp import ssdp

CMS2 = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
UDN = "uuid:5a1f6c2e-7d0b-4b8e-9c1a-0000000000d1"


def test_alive_notify_fields() -> None:
    """UDA §1.2.2: ssdp:alive carries LOCATION, USN, NT, CACHE-CONTROL and UDA 1.1 ids."""
    raw = (
        b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
        b"Cache-Control: max-age = 120\r\nLocation: http://198.18.0.12:49152/d.xml\r\n"
        b"NT: " + CMS2.encode() + b"\r\nNTS: ssdp:alive\r\n"
        b"USN: " + UDN.encode() + b"::" + CMS2.encode() + b"\r\n"
        b"BOOTID.UPNP.ORG: 7\r\nCONFIGID.UPNP.ORG: 3\r\n"
        b"SECURELOCATION.UPNP.ORG: https://198.18.0.12:443/d.xml\r\n\r\n"
    )
    msg = ssdp.parse(raw)
    assert msg.kind == "alive"
    assert (msg.udn, msg.usn_type, msg.target) == (UDN, CMS2, CMS2)
    assert msg.location == "http://198.18.0.12:49152/d.xml"
    assert msg.secure_location == "https://198.18.0.12:443/d.xml"
    assert (msg.max_age, msg.boot_id, msg.config_id) == (120, 7, 3)
    assert msg.header("Host") == "239.255.255.250:1900"


@pytest.mark.parametrize("value", ["AboutToReboot", "abouttoreboot", " ABOUTTOREBOOT "])
def test_byebye_announcement_case_insensitive(value: str) -> None:
    """BMS:2 §2.4.1 / TR-330 Table 1: ANNOUNCEMENT.DM.UPNP.ORG on ssdp:byebye, any case."""
    raw = (
        "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\n"
        f"NTS: ssdp:byebye\r\nUSN: {UDN}::upnp:rootdevice\r\n"
        f"announcement.dm.upnp.org: {value}\r\n\r\n"
    ).encode()
    msg = ssdp.parse(raw)
    assert msg.kind == "byebye" and msg.announcement == "AboutToReboot"
    assert msg.location == "" and msg.max_age is None


def test_update_carries_next_boot_id() -> None:
    """UDA 1.1 §1.2.4: ssdp:update announces NEXTBOOTID.UPNP.ORG."""
    raw = ssdp.build_notify(
        "ssdp:update", CMS2, UDN, location="http://h/d.xml", boot_id=4, next_boot_id=5
    )
    msg = ssdp.parse(raw)
    assert (msg.kind, msg.boot_id, msg.next_boot_id) == ("update", 4, 5)


def test_search_response_round_trip() -> None:
    """UDA §1.3.3: a search answer is HTTP/1.1 200 OK with ST and USN."""
    raw = ssdp.build_search_response(
        CMS2, UDN, location="http://h:1/d.xml", max_age=60, boot_id=2, secure_location="https://h/d"
    )
    msg = ssdp.parse(raw)
    assert (msg.kind, msg.target, msg.udn, msg.max_age, msg.boot_id) == (
        "response",
        CMS2,
        UDN,
        60,
        2,
    )
    assert msg.secure_location == "https://h/d"


def test_bare_uuid_usn_and_default_max_age() -> None:
    """UDA §1.1.2: NT=uuid:X uses USN=uuid:X; missing CACHE-CONTROL falls back to 1800."""
    raw = (
        f"NOTIFY * HTTP/1.1\r\nNT: {UDN}\r\nNTS: ssdp:alive\r\nUSN: {UDN}\r\n"
        "LOCATION: http://h/d.xml\r\n\r\n"
    ).encode()
    msg = ssdp.parse(raw)
    assert (msg.udn, msg.usn_type, msg.max_age) == (UDN, "", ssdp.DEFAULT_MAX_AGE)


def test_msearch_has_uda2_headers() -> None:
    """UDA 2.0 §1.3.2: M-SEARCH with MAN, MX, ST, USER-AGENT and CPFN.UPNP.ORG."""
    msg = ssdp.parse(ssdp.build_msearch(CMS2, mx=9, cp_uuid="uuid:cp"))
    assert (msg.kind, msg.target, msg.mx) == ("search", CMS2, 5)  # MX capped at 5
    assert msg.header("man") == '"ssdp:discover"'
    assert msg.header("cpfn.upnp.org") == "proxier"
    assert msg.header("cpuuid.upnp.org") == "uuid:cp"
    v6 = ssdp.build_msearch(CMS2, group=ssdp.SSDP_GROUP_V6_SITE)
    assert b"HOST: [FF05::C]:1900\r\n" in v6


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"GET / HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\nST: x\r\n\r\n",
        b"NOTIFY * HTTP/1.1\r\nNTS: ssdp:alive\r\nNT: x\r\nUSN: uuid:a\r\n\r\n",  # no LOCATION
        b"NOTIFY * HTTP/1.1\r\nNTS: ssdp:what\r\nNT: x\r\nUSN: uuid:a\r\n\r\n",
        b"NOTIFY * HTTP/1.1\r\nNTS: ssdp:byebye\r\nNT: x\r\nUSN: nouuid\r\n\r\n",
        b"NOTIFY * HTTP/1.1\r\nNTS: ssdp:byebye\r\nUSN: uuid:a\r\n\r\n",  # no NT
        b"NOTIFY * HTTP/1.1\r\nbroken line\r\n\r\n",
        b"NOTIFY * HTTP/1.1\r\nNTS: ssdp:update\r\nNT: x\r\nUSN: uuid:a\r\n"
        b"BOOTID.UPNP.ORG: x\r\n\r\n",
        b"M-SEARCH * HTTP/1.1\r\n" + b"X-A: b\r\n" * 100 + b"ST: x\r\n\r\n",
        b"\xff\xfe\x00garbage",
        b"NOTIFY * HTTP/1.1\r\n" + b"A" * 9000,
    ],
)
def test_malformed_packets_rejected(raw: bytes) -> None:
    """Bad input never crashes: every malformed datagram raises SsdpError only."""
    with pytest.raises(ssdp.SsdpError):
        ssdp.parse(raw)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("CACHE-CONTROL", "max-age=" + "9" * 4000),
        ("CACHE-CONTROL", "max-age=2147483648"),
        ("CACHE-CONTROL", "max-age=١٢"),
        ("LOCATION", "http://[::1/desc.xml"),
        ("LOCATION", "http://h:70000/d.xml"),
        ("LOCATION", "javascript:alert(1)"),
        ("BOOTID.UPNP.ORG", "²"),
        ("NEXTBOOTID.UPNP.ORG", "-1"),
        ("CONFIGID.UPNP.ORG", "9" * 400),
        ("SERVER", "a\x1b[2Jb"),
        ("SERVER", "x" * 1500),
    ],
)
def test_every_ssdp_header_is_bounded_and_validated(header: str, value: str) -> None:
    """Issue 12 item 3 rule: a header outside its form or bound makes the packet an
    SsdpError (dropped by the driver), never another exception."""
    headers = {"NT": CMS2, "NTS": "ssdp:alive", "USN": f"{UDN}::{CMS2}"}
    headers |= {"LOCATION": "http://h/d.xml", header: value}
    raw = "NOTIFY * HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    raw += "\r\n"
    with pytest.raises(ssdp.SsdpError):
        ssdp.parse(raw.encode())


@pytest.mark.parametrize("value", ["max-age=1800", "max-age = 60", 'no-cache="Ext", max-age=90'])
def test_usual_cache_control_forms_still_parse(value: str) -> None:
    """UDA §1.2.2 CACHE-CONTROL forms real devices send keep working."""
    raw = (
        f"NOTIFY * HTTP/1.1\r\nNT: {CMS2}\r\nNTS: ssdp:alive\r\nUSN: {UDN}::{CMS2}\r\n"
        f"LOCATION: http://[fe80::1%eth0]:80/d.xml\r\nCACHE-CONTROL: {value}\r\n\r\n"
    ).encode()
    assert ssdp.parse(raw).max_age in (1800, 60, 90)


_HEADER_NAMES = ["NT", "NTS", "USN", "LOCATION", "CACHE-CONTROL", "BOOTID.UPNP.ORG",
                 "NEXTBOOTID.UPNP.ORG", "CONFIGID.UPNP.ORG", "SECURELOCATION.UPNP.ORG",
                 "ANNOUNCEMENT.DM.UPNP.ORG", "SERVER", "ST", "MX"]  # fmt: skip


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    start=st.sampled_from(["NOTIFY * HTTP/1.1", "HTTP/1.1 200 OK", "M-SEARCH * HTTP/1.1"]),
    headers=st.lists(
        st.tuples(
            st.sampled_from(_HEADER_NAMES),
            st.one_of(
                st.text(max_size=60),
                st.sampled_from(["ssdp:alive", "ssdp:byebye", "ssdp:update", f"{UDN}::{CMS2}"]),
                st.from_regex(r"max-age=[0-9]{0,30}", fullmatch=True),
                st.from_regex(r"https?://\[?[0-9a-f:.]{0,12}\]?(:[0-9]{0,6})?/x", fullmatch=True),
            ),
        ),
        max_size=10,
    ),
)
def test_random_headers_never_raise_anything_but_ssdp_error(
    start: str, headers: list[tuple[str, str]]
) -> None:
    """Issue 12 item 3 rule: whatever the header values, parsing either gives a message or
    an SsdpError (dropped by the driver), never another exception."""
    raw = start + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    try:
        msg = ssdp.parse(raw.encode("utf-8", "surrogatepass"))
    except ssdp.SsdpError:
        return
    assert msg.max_age is None or 0 <= msg.max_age <= ssdp.MAX_NUMBER
