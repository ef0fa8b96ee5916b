"""TR-064 errors → CWMP faults whose string tells the user what to do (issue 10).

Guide §6: 401 = unknown or obsolete action, 402 = wrong arguments, 606 = the user lacks
the right (§6.1), 866/867/868 = the second factor (§4.3) is required / blocked / busy.
HTTP 401 and 503 (throttling, §4.1.1) are login problems the client backs off from.
"""

from __future__ import annotations

from proxier.cwmp.faults import fault_info
from proxier.cwmp.rpc import CwmpFaultError
from proxier.upnp.device import UpnpError

#: UPnP/TR-064 code → (CWMP fault, what the user must do).
ADVICE: dict[int, tuple[int, str]] = {
    401: (9005, "the device does not offer this action (unknown or obsolete in its firmware)"),
    402: (9003, "the device refused the arguments of this action (changed in its firmware)"),
    600: (9007, "the device refused the value"),
    606: (
        9001,
        "the TR-064 user lacks the right: grant it 'FRITZ!Box settings' on the device or "
        "set a user that has it in [[tr064.login]]",
    ),
    713: (9005, "no such entry on the device"),
    714: (9005, "no such entry on the device"),
    866: (
        9001,
        "the device asks for a second factor: confirm on the device itself (press a button "
        "or dial the code it shows), then repeat the request",
    ),
    867: (
        9001,
        "the device blocks second-factor confirmation for now: wait a few minutes, then "
        "repeat the request",
    ),
    868: (
        9001,
        "another second-factor confirmation is pending on the device: finish or cancel it "
        "there, then repeat the request",
    ),
    899: (9001, "another client holds a configuration transaction on the device; retry later"),
}


class LoginError(UpnpError):
    """HTTP 401 after our credentials, or 503 throttling: the device refuses us for now."""

    def __init__(self, throttled: bool, description: str) -> None:
        super().__init__(0, description)
        self.throttled = throttled


def fault_for(error: UpnpError, what: str) -> CwmpFaultError:
    """The CWMP fault for a failed TR-064 call; `what` names the action ("Hosts:GetInfo")."""
    if isinstance(error, LoginError):
        return CwmpFaultError(9002, f"{fault_info(9002).fault_string}: {error.description}")
    code, advice = ADVICE.get(error.code, (9002, ""))
    detail = f"TR-064 {what} failed with {error.code}"
    if error.description:
        detail += f" ({error.description})"
    if advice:
        detail += f": {advice}"
    return CwmpFaultError(code, f"{fault_info(code).fault_string}: {detail}"[:255])
