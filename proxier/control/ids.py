"""One resolver for the device ids the local API, `proxier devices`/`inform` and the console
accept (docs/api.md "Device ids").

A virtual device answers to:
- its DeviceId as the proxier shows it, `OUI-ProductClass-SerialNumber` with the parts raw
  (`00040E-FRITZ!Box 7590 (lab)-AABBCCDDEEFF`);
- the same id as the ACS shows it, GenieACS-escaped (proxier.cwmp.deviceid:
  `00040E-FRITZ%21Box%207590%20%28lab%29-AABBCCDDEEFF`), hex digits in either case;
- its VirtualDevice table instance number (`3`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from proxier.cwmp.deviceid import acs_device_id

if TYPE_CHECKING:
    from proxier.virtual.device import VirtualDevice

_PCT = re.compile(r"%[0-9a-fA-F]{2}")


def acs_id(device: VirtualDevice) -> str:
    """The id the ACS shows for `device`."""
    key = device.record.key
    return acs_device_id(key.oui, key.product_class, key.serial_number)


def resolve(devices: Iterable[VirtualDevice], wanted: str) -> VirtualDevice | None:
    """The virtual device `wanted` names in any of the accepted forms, or None."""
    escaped = _PCT.sub(lambda m: m.group(0).upper(), wanted)
    for device in devices:
        if wanted in (device.id, str(device.record.instance)) or escaped == acs_id(device):
            return device
    return None
