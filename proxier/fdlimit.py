"""Raise the soft open-file limit (RLIMIT_NOFILE) to what a fleet of devices needs.

Many distributions start processes with a soft limit of 1,024 descriptors and a much higher
hard limit. A proxier with 2,000 virtual devices (or a lab with 2,000 devices) needs more:
sockets of sessions, GENA and keep-alive connections, open state databases. An unprivileged
process may raise its soft limit up to the hard one, so it does that at start, says so in
one log line, and warns when even the hard limit is too low.
"""

from __future__ import annotations

import resource

from proxier.logsafe import get_logger

_LOG = get_logger(__name__)

#: Descriptors a process needs besides its devices (listeners, logs, the open databases).
BASE = 512
#: Per device, generously: a session's or a notify's socket, keep-alive, a GENA request.
PER_DEVICE = 3


def wanted(devices: int) -> int:
    """File descriptors to ask for `devices` devices."""
    return BASE + PER_DEVICE * max(devices, 0)


def raise_nofile(devices: int, *, what: str = "devices") -> int:
    """Make the soft RLIMIT_NOFILE at least `wanted(devices)` (capped by the hard limit).

    Returns the soft limit in force afterwards."""
    need = wanted(devices)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return int(soft)
    target = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            _LOG.warning("cannot raise the open-file limit from %d: %s", soft, exc)
            target = soft
        else:
            _LOG.info(
                "raised the open-file limit (RLIMIT_NOFILE) from %d to %d for %d %s",
                soft,
                target,
                devices,
                what,
            )
    if target < need:
        _LOG.warning(
            "open-file limit %d (hard limit %s) is below the %d wanted for %d %s: "
            "raise it (ulimit -n / LimitNOFILE=) or expect refused connections",
            target,
            "unlimited" if hard == resource.RLIM_INFINITY else hard,
            need,
            devices,
            what,
        )
    return int(target)
