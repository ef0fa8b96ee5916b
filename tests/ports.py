"""Fixed ports for tests whose server must come back on the same port after a restart.

A port picked by binding to 0 lies in the kernel's ephemeral range, so any later
`bind(0)` or outgoing connection in the same run may take it before the test's own
process binds it again. Ports below that range are never handed out implicitly."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_low() -> int:
    try:
        return int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A loopback TCP port outside the ephemeral range that is free right now."""
    high = min(_ephemeral_low(), 65536) - 1
    low = max(10000, high - 20000)
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randint(low, high)
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {low}-{high}")
