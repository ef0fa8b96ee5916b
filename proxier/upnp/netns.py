"""Where SSDP multicast may go: the network-namespace guard.

SSDP sent from the machine's own (root) network namespace reaches the real LAN. Tests and
lab runs only ever multicast inside namespaces they created, so every piece of code that is
about to send SSDP asks `check_multicast_allowed` first: it passes when the process runs in
a network namespace other than PID 1's, or when the operator explicitly configured
`allow_lan_multicast` (a real gateway deployment).
"""

from __future__ import annotations

import os
from pathlib import Path

from proxier.logsafe import get_logger

_LOG = get_logger(__name__)

_SELF_NS = Path("/proc/self/ns/net")
_INIT_NS = Path("/proc/1/ns/net")
_NAMED_NS_DIR = Path("/run/netns")


class MulticastRefused(RuntimeError):
    """SSDP multicast was requested outside a private network namespace without permission."""


def _ns_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def in_private_netns() -> bool:
    """True when this process's network namespace differs from PID 1's.

    Where PID 1's namespace cannot be read (sandboxes deny it even to root), a namespace
    made by `ip netns add` (named under /run/netns) counts as private. Anything else
    counts as False: when in doubt we assume we are on the real network.
    """
    me = _ns_id(_SELF_NS)
    if me is None:
        return False
    init = _ns_id(_INIT_NS)
    if init is not None:
        return me != init
    return current_netns_name() is not None


def current_netns_name() -> str | None:
    """The `ip netns` name of this process's namespace, or None when it has none."""
    me = _ns_id(_SELF_NS)
    if me is None:
        return None
    try:
        names = sorted(os.listdir(_NAMED_NS_DIR))
    except OSError:
        return None
    for name in names:
        if _ns_id(_NAMED_NS_DIR / name) == me:
            return name
    return None


def check_multicast_allowed(allow_lan_multicast: bool = False) -> None:
    """Raise `MulticastRefused` unless SSDP multicast is safe or explicitly allowed."""
    if in_private_netns():
        return
    if allow_lan_multicast:
        _LOG.info("SSDP multicast on the host network (allow_lan_multicast is set)")
        return
    raise MulticastRefused(
        "refusing SSDP multicast: this process runs in the host's network namespace; "
        "set allow_lan_multicast = true to discover devices on the real LAN, or use "
        "description_urls"
    )
