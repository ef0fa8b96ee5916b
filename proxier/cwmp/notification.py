"""Which Notification level a parameter has when its value changes (TR-069 A.3.2.4).

Levels: 0 off, 1 passive (reported with the next Inform), 2 active (an Inform now).
Precedence, highest first:
1. Forced Active Notification parameters (TR-181) are always active;
2. a level the ACS set with SetParameterAttributes;
3. parameters active by default (ConnectionRequestURL) until the ACS sets another level;
4. the level the backend reports, i.e. what GetParameterAttributes answers, because that is
   what the CPE does: a UPnP DM device whose EventOnChange was set by the device itself
   (not by the ACS) reads as passive and its changes are reported (issue 12 item 11);
5. otherwise off.
"""

from __future__ import annotations

DI = "Device.DeviceInfo."
#: Forced Active Notification (TR-181): always active, whatever the ACS sets.
FORCED_ACTIVE = frozenset({DI + "SoftwareVersion", DI + "ProvisioningCode"})
#: Active notification by default, until the ACS sets another value (TR-181).
DEFAULT_ACTIVE = frozenset({"Device.ManagementServer.ConnectionRequestURL"})


def effective_level(name: str, acs_set: int | None, reported: int | None) -> int:
    """The level that applies to a change of `name`: `acs_set` is what the ACS set (None:
    never), `reported` what the backend says the CPE does (None: it does not say)."""
    if name in FORCED_ACTIVE:
        return 2
    if acs_set is not None:
        return acs_set
    if name in DEFAULT_ACTIVE:
        return 2
    return reported or 0
