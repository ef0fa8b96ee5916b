"""Issue 12 item 3 over real datagrams: every SSDP header field is bounded and validated; a
bad packet sent to the discovery listener on loopback (unicast, no multicast) is dropped
with one debug line, never an exception or a traceback in the log."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from proxier.upnp.discovery import Discovery, DiscoveryConfig, DiscoveryEvent, _Datagrams

UDN = "uuid:00000000-0000-0000-0000-00000000ab01"
MD2 = "urn:schemas-upnp-org:device:ManageableDevice:2"


def notify(**headers: str) -> bytes:
    base = {
        "HOST": "239.255.255.250:1900",
        "NT": MD2,
        "NTS": "ssdp:alive",
        "USN": f"{UDN}::{MD2}",
        "LOCATION": "http://127.0.0.1:9/d.xml",
        "CACHE-CONTROL": "max-age=1800",
        "SERVER": "Linux/6 UPnP/2.0 lab/1",
    }
    base.update(headers)
    lines = ["NOTIFY * HTTP/1.1", *(f"{k}: {v}" for k, v in base.items() if v is not None)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


BAD = {
    "max-age of 400 digits": notify(**{"CACHE-CONTROL": "max-age=" + "9" * 400}),
    "max-age of 5000 digits": notify(**{"CACHE-CONTROL": "max-age=" + "1" * 5000}),
    "max-age non-ASCII digits": notify(**{"CACHE-CONTROL": "max-age=١٢٠٠"}),
    "max-age empty": notify(**{"CACHE-CONTROL": "max-age="}),
    "LOCATION bad IPv6 bracket": notify(LOCATION="http://[::1/desc.xml"),
    "LOCATION bad port": notify(LOCATION="http://127.0.0.1:99999/d.xml"),
    "LOCATION not http": notify(LOCATION="file:///etc/passwd"),
    "LOCATION with a space": notify(LOCATION="http://127.0.0.1/a b"),
    "BOOTID superscript": notify(**{"BOOTID.UPNP.ORG": "²"}),
    "BOOTID beyond 31 bits": notify(**{"BOOTID.UPNP.ORG": "4294967296"}),
    "CONFIGID 30 digits": notify(**{"CONFIGID.UPNP.ORG": "1" * 30}),
    "SECURELOCATION not https": notify(**{"SECURELOCATION.UPNP.ORG": "http://127.0.0.1/d"}),
    "USN with ESC": notify(USN=f"{UDN}\x1b[31m::{MD2}"),
    "SERVER with ESC": notify(SERVER="evil\x1b]0;owned\x07"),
    "SERVER too long": notify(SERVER="x" * 2000),
    "NT with spaces": notify(NT="urn:a b"),
    "header name with controls": b"NOTIFY * HTTP/1.1\r\nN\x01T: x\r\n\r\n",
}


@pytest.mark.timeout(30)
async def test_every_ssdp_header_is_bounded_and_a_bad_packet_dropped_with_one_debug_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 12 item 3 rule: each malformed header gives exactly one debug line naming the
    sender, no event, no ERROR and no traceback; a good packet afterwards still works."""
    events: list[DiscoveryEvent] = []
    loop = asyncio.get_running_loop()
    async with Discovery(DiscoveryConfig(), events.append) as discovery:
        # The listener's own protocol object and callback, on a loopback unicast socket.
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Datagrams(discovery._datagram), local_addr=("127.0.0.1", 0)
        )
        address = transport.get_extra_info("sockname")
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            caplog.set_level(logging.DEBUG)
            for name, packet in BAD.items():
                caplog.clear()
                sender.sendto(packet, address)
                for _ in range(200):
                    if caplog.records:
                        break
                    await asyncio.sleep(0.01)
                lines = [r for r in caplog.records if r.name.startswith("proxier")]
                assert len(lines) == 1, (name, [r.getMessage() for r in caplog.records])
                assert lines[0].levelno == logging.DEBUG and "127.0.0.1" in lines[0].getMessage()
                assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
                assert "\x1b" not in caplog.text, name
            assert events == []
            sender.sendto(notify(), address)
            for _ in range(200):
                if events:
                    break
                await asyncio.sleep(0.01)
            assert [(e.kind, e.udn) for e in events] == [("alive", UDN)]
        finally:
            sender.close()
            transport.close()
