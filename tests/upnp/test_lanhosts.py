"""Issue 12 item 6: which hosts an SSDP LOCATION may name (`proxier.upnp.lanhosts`)."""

from __future__ import annotations

import ipaddress

from proxier.upnp.lanhosts import lan_networks, location_refusal

LAN = (ipaddress.ip_network("192.168.1.0/24"), ipaddress.ip_network("fd00:1::/64"))


def test_location_only_on_sender_or_lan_subnet() -> None:
    """Issue 12 item 6: the sender's own address and LAN subnets pass; another host, a host
    name or a broken URL is refused with the reason."""
    assert location_refusal("http://10.0.0.9:80/d.xml", "10.0.0.9", ()) is None
    assert location_refusal("http://[fe80::1%eth0]:80/d", "fe80::1%eth0", ()) is None
    assert location_refusal("http://192.168.1.77/d.xml", "192.168.1.5", LAN) is None
    assert location_refusal("http://[fd00:1::9]/d.xml", "192.168.1.5", LAN) is None
    for url in ("http://10.0.0.1/d.xml", "http://169.254.169.254/latest", "http://[::1]/x"):
        assert "another host" in (location_refusal(url, "192.168.1.5", LAN) or "")
    assert "host name" in (location_refusal("http://acs.example/d", "192.168.1.5", LAN) or "")
    assert location_refusal("http://[::1/d.xml", "192.168.1.5", LAN) is not None


def test_lan_networks_read_from_the_interfaces() -> None:
    """Issue 12 item 6: an interface name or address yields its subnet (loopback here)."""
    assert ipaddress.ip_network("127.0.0.0/8") in lan_networks(["lo"])
    assert ipaddress.ip_network("127.0.0.0/8") in lan_networks(["127.0.0.1"])
    assert lan_networks(["no-such-if0"]) == ()
