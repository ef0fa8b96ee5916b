"""Refuse to run UPnP/SSDP code outside the test namespaces.

The test rig only ever talks over namespaces made by netns.sh (named
upnp-*); in the root namespace SSDP multicast would go out of the real NIC.
Importing this module exits unless the current network namespace is one of
/run/netns/upnp-* (that is how `ip netns exec` names them).
"""

import os
import sys


def current_netns_name():
    try:
        me = os.stat("/proc/self/ns/net")
    except OSError:
        return None
    try:
        names = os.listdir("/run/netns")
    except OSError:
        return None
    for n in names:
        try:
            st = os.stat(os.path.join("/run/netns", n))
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (me.st_dev, me.st_ino):
            return n
    return None


def require_test_netns() -> str:
    name = current_netns_name()
    if (name is None or not name.startswith("upnp-")) and os.environ.get(
        "UPNP_PEERS_ALLOW_ANY_NETNS"
    ) != "1":
        sys.exit(
            "refusing to run outside a upnp-* network namespace: SSDP multicast "
            "could leave the machine. Use: ip netns exec upnp-<name> ... (see netns.sh)"
        )
    return name


NETNS = require_test_netns()
