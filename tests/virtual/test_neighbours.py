"""MAC behind a LAN path (TR-330 §4.1.1 rule for devices without Common Objects)."""

from pathlib import Path

from proxier.virtual.neighbours import mac_of, parse_arp, path_host

ARP = """IP address       HW type     Flags       HW address            Mask     Device
192.168.1.20     0x1         0x2         a4:5e:60:01:02:03     *        br-lan
192.168.1.21     0x1         0x0         00:00:00:00:00:00     *        br-lan
192.168.1.22     0x1         0x2         garbage               *        br-lan
"""


def test_parse_arp_keeps_resolved_entries_only() -> None:
    """Incomplete (flags 0x0) and malformed entries give no MAC: an unknown MAC never splits
    a device."""
    assert parse_arp(ARP) == {"192.168.1.20": "A4:5E:60:01:02:03"}
    assert parse_arp("") == {} and parse_arp("header only\n") == {}


def test_mac_of_reads_the_table(tmp_path: Path) -> None:
    table = tmp_path / "arp"
    table.write_text(ARP)
    assert mac_of("192.168.1.20", table) == "A4:5E:60:01:02:03"
    assert mac_of("192.168.1.21", table) is None
    assert mac_of("", table) is None
    assert mac_of("192.168.1.20", tmp_path / "missing") is None


def test_path_host_prefers_the_ssdp_sender_then_location() -> None:
    """SSDP paths are named by the sender's address; probed paths by their URL."""
    assert path_host("192.168.1.20", "http://192.168.1.99:80/d.xml") == "192.168.1.20"
    url = "http://192.168.1.20:49152/d.xml"
    assert path_host(url, url) == "192.168.1.20"
    assert path_host("", "http://[fe80::1]:80/d.xml") == "fe80::1"
    assert path_host("", "http://printer.lan/d.xml") == ""
