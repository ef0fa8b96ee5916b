"""Which hosts an SSDP LOCATION may name (issue 12 item 6: no fetches to another host).

Any LAN host can send an SSDP alive whose LOCATION names a third host; fetching it would let
that host make the gateway send requests to the operator's side of the network. A LOCATION
is fetched only when its host is the address the datagram came from, or an address on the
subnet of a configured LAN interface (`upnp.interfaces`). Host names are refused (resolving
them is itself a request elsewhere). Configured `upnp.description_urls` never pass through
here: the operator named them. Description, SCPD, control and event URLs must then stay on
the description's own host (`proxier.upnp.description`), and redirects too
(`proxier.upnp.http`).

`location_refusal` is pure; `lan_networks` reads the interfaces' prefixes from the kernel.
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_SIOCGIFADDR = 0x8915
_SIOCGIFNETMASK = 0x891B
_IF_INET6 = Path("/proc/net/if_inet6")


def _address(text: str) -> Address | None:
    """An IP literal without its `%scope`, or None for a host name."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def location_refusal(location: str, remote: str, networks: Sequence[Network]) -> str | None:
    """Why `location` (from a datagram sent by `remote`) must not be fetched, or None."""
    try:
        host = urlsplit(location).hostname or ""
    except ValueError:
        return "LOCATION is not a URL"
    address = _address(host)
    if address is None:
        return "LOCATION names a host name, not the sender's address"
    if remote and address == _address(remote):
        return None
    if any(address in network for network in networks):
        return None
    return "LOCATION names another host, not on a LAN interface's subnet"


def _ioctl_ipv4(name: str, request: int) -> ipaddress.IPv4Address | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), request, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    return ipaddress.IPv4Address(packed[20:24])


def _ipv4_network(name: str) -> ipaddress.IPv4Network | None:
    address = _ioctl_ipv4(name, _SIOCGIFADDR)
    mask = _ioctl_ipv4(name, _SIOCGIFNETMASK)
    if address is None or mask is None:
        return None
    return ipaddress.IPv4Network(f"{address}/{mask}", strict=False)


def _ipv6_prefixes() -> list[tuple[str, ipaddress.IPv6Network]]:
    """(interface name, on-link prefix) of every IPv6 address (Linux /proc/net/if_inet6)."""
    try:
        lines = _IF_INET6.read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or len(fields[0]) != 32:
            continue
        address = ipaddress.IPv6Address(int(fields[0], 16))
        network = ipaddress.IPv6Network(f"{address}/{int(fields[2], 16)}", strict=False)
        found.append((fields[5], network))
    return found


def lan_networks(interfaces: Iterable[str]) -> tuple[Network, ...]:
    """The subnets of the configured LAN interfaces: names (their IPv4 and IPv6 prefixes),
    IPv4 addresses or IPv6 "addr%ifname" (the prefix holding that address)."""
    names = [name for _, name in socket.if_nameindex()]
    v6 = _ipv6_prefixes()
    found: list[Network] = []
    for interface in interfaces:
        address = _address(interface)
        if address is None:
            v4 = _ipv4_network(interface)
            found += [v4] if v4 is not None else []
            found += [net for name, net in v6 if name == interface]
        elif address.version == 4:
            found += [n for n in map(_ipv4_network, names) if n is not None and address in n]
        else:
            found += [net for _, net in v6 if address in net]
    return tuple(dict.fromkeys(found))
