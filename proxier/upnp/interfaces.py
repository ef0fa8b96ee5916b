"""Resolve the configured `upnp.interfaces` (names like "br-lan" or addresses) to addresses.

SSDP sockets are bound per local address; operators think in interface names. An entry that
is already an IP address is kept as it is.
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct

_SIOCGIFADDR = 0x8915


class InterfaceError(ValueError):
    """The named interface does not exist or has no IPv4 address."""


def ipv4_of(name: str) -> str:
    """The primary IPv4 address of interface `name` (Linux ioctl SIOCGIFADDR)."""
    if len(name.encode()) > 15:
        raise InterfaceError(f"interface name too long: {name!r}")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()))
        except OSError as exc:
            raise InterfaceError(f"interface {name!r}: {exc.strerror}") from None
    return socket.inet_ntoa(packed[20:24])


def resolve(entries: tuple[str, ...]) -> tuple[str, ...]:
    """Addresses for `entries`; raises InterfaceError naming the first unusable one."""
    out: list[str] = []
    for entry in entries:
        try:
            ipaddress.ip_address(entry.partition("%")[0])
        except ValueError:
            out.append(ipv4_of(entry))
        else:
            out.append(entry)
    return tuple(out)
