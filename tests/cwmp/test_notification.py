"""Issue 12 item 11: the Notification level that applies to a change (TR-069 A.3.2.4)."""

from __future__ import annotations

import pytest

from proxier.cwmp.notification import effective_level

SW = "Device.DeviceInfo.SoftwareVersion"
CRURL = "Device.ManagementServer.ConnectionRequestURL"
NTP = "Device.Time.NTPServer1"


@pytest.mark.parametrize(
    ("name", "acs_set", "reported", "level"),
    [
        (NTP, None, 1, 1),  # set by the device: what GPA reports (passive) applies
        (NTP, None, None, 0),  # nobody turned it on
        (NTP, 0, 1, 0),  # the ACS turned it off: the ACS's level wins
        (NTP, 2, 1, 2),  # the ACS asked for active
        (SW, 0, None, 2),  # Forced Active Notification, whatever the ACS set
        (SW, None, 1, 2),
        (CRURL, None, None, 2),  # active by default
        (CRURL, 1, None, 1),  # until the ACS sets another level
    ],
)
def test_backend_level_honoured_below_forced_and_acs_set(
    name: str, acs_set: int | None, reported: int | None, level: int
) -> None:
    """Issue 12 item 11: forced active > ACS-set > default active > the backend's level."""
    assert effective_level(name, acs_set, reported) == level
