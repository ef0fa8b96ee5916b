"""The link-layer (MAC) address behind a LAN path, for TR-330 §4.1.1's rule on devices
without DM Common Objects (same UUID, different MAC → different Virtual CWMP Devices).

The proxier runs on the home gateway, which has a neighbour entry for every LAN device it
talks to; after the device's description has been fetched over a path, the kernel's ARP
table (`/proc/net/arp`, IPv4) names the MAC behind it. IPv6 neighbours and routed hosts give
no MAC (None): an unknown MAC never splits a device.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

ARP_TABLE = Path("/proc/net/arp")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_COMPLETE = 0x2  # ATF_COM: the entry is resolved


def parse_arp(text: str) -> dict[str, str]:
    """`/proc/net/arp` → {IPv4 address: MAC (upper case)}, resolved entries only."""
    table: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or not _MAC.match(fields[3]):
            continue
        try:
            flags = int(fields[2], 16)
        except ValueError:
            continue
        if flags & _COMPLETE and fields[3] != "00:00:00:00:00:00":
            table[fields[0]] = fields[3].upper()
    return table


def path_host(via: str, location: str) -> str:
    """The address of the device on this path: the SSDP sender, else LOCATION's host."""
    for candidate in (via, urlsplit(location).hostname or ""):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return ""


def mac_of(host: str, table: Path = ARP_TABLE) -> str | None:
    """The MAC of IPv4 neighbour `host`, or None when unknown (no entry, IPv6, no table)."""
    if not host:
        return None
    try:
        text = table.read_text(errors="replace")
    except OSError:
        return None
    return parse_arp(text).get(host)
