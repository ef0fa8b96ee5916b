"""systemd's notify protocol (sd_notify(3)) in a few lines: READY=1, RELOADING=1, STOPPING=1.

With `Type=notify` systemd passes NOTIFY_SOCKET, a unix datagram socket (a path, or an
abstract name starting with "@"); each state is one datagram of `KEY=VALUE` lines. Without
NOTIFY_SOCKET (not under systemd) every call does nothing. A library would add a dependency
for these dozen lines.
"""

from __future__ import annotations

import os
import socket
import time

from proxier.logsafe import get_logger

log = get_logger("proxier")


def notify(*lines: str) -> bool:
    """Send one datagram of `lines` to $NOTIFY_SOCKET; False when there is none or it fails."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(lines).encode())
    except OSError as exc:
        log.warning("systemd notify socket %s: %s", address.lstrip("\0"), exc.strerror)
        return False
    return True


def ready(status: str = "") -> bool:
    return notify("READY=1", *([f"STATUS={status}"] if status else []))


def reloading() -> bool:
    """Type=notify-reload wants the monotonic time with RELOADING=1 (systemd 253+)."""
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify("RELOADING=1", f"MONOTONIC_USEC={usec}")


def stopping() -> bool:
    return notify("STOPPING=1")
