"""One INFO line per CWMP session, and the ACS-down condition logged on change only.

A session line says which device, the Inform events, the ACS's requests in order, the result
and how long it took, e.g.
`00D09E-Lab-0001: session ok in 0.4 s; events 6 CONNECTION REQUEST; RPCs GetParameterValues`.
When the ACS cannot be reached every device's sessions fail the same way: that is logged
once (and reminded every 10 minutes), not once per device and retry.
"""

from __future__ import annotations

from proxier.cwmp.engine import SessionResult
from proxier.logsafe import get_logger
from proxier.logsetup import Condition

log = get_logger("proxier")

#: Failure reasons that say the ACS itself is unreachable (not this device's problem).
_ACS_DOWN = ("transport:",)


def session_line(device_id: str, result: SessionResult) -> str:
    events = ", ".join(result.events) or "none"
    rpcs = ", ".join(result.rpc_names) or "none"
    outcome = "ok" if result.ok else f"failed ({result.reason})"
    return (
        f"{device_id}: session {outcome} in {result.duration:.2f} s; events {events}; RPCs {rpcs}"
    )


class SessionLog:
    """Logs finished sessions; the ACS-unreachable condition goes through a `Condition`."""

    def __init__(self, remind: float = 600.0) -> None:
        self.acs = Condition(log, "ACS", remind=remind)

    def done(self, device_id: str, result: SessionResult) -> None:
        if result.ok:
            self.acs.report(None)
            log.info("%s", session_line(device_id, result))
        elif result.reason.startswith(_ACS_DOWN):
            self.acs.report(f"sessions fail: {result.reason.removeprefix('transport: ')}")
            log.debug("%s", session_line(device_id, result))
        else:
            log.warning("%s", session_line(device_id, result))
