"""The Virtual CWMP Device identity of a UPnP DM device (TR-330 §4.1.1, TR-069 Annex J.2).

The proxier MUST obtain a unique OUI and SerialNumber from the proxied device. With CMS and
the DM Common Objects, ManufacturerOUI/ProductClass/SerialNumber come from
`/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/` (upnp-dm.md §2.8). Without them we fall back
to the device description (PROJECT CHOICE, TR-330 gives no algorithm): SerialNumber from
`<serialNumber>` or else the UDN's UUID, ProductClass from `<modelName>` or else the device
type, OUI from the device's MAC address when known or else a configured fallback OUI.

Merging (TR-330 §4.1.1): devices sharing the same Common Objects are one virtual device; so
are advertisements of the same UUID on several interfaces, except that without Common
Objects the same UUID with different MAC addresses is different devices, unless they use the
same port in their LOCATION.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from proxier.logsafe import get_logger
from proxier.upnp.description import DeviceCandidate
from proxier.upnp.device import CmsApi, UpnpError

_LOG = get_logger(__name__)

DEVICE_ID_PATH = "/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/"
OUI_PATH = DEVICE_ID_PATH + "ManufacturerOUI"
PRODUCT_CLASS_PATH = DEVICE_ID_PATH + "ProductClass"
SERIAL_NUMBER_PATH = DEVICE_ID_PATH + "SerialNumber"
#: Not in every implementation's DeviceID object (upnp-dm.md §2.8); read when present.
MANUFACTURER_PATH = DEVICE_ID_PATH + "Manufacturer"

#: PROJECT CHOICE: used when neither Common Objects nor a MAC address give an OUI; the
#: proxier configuration should replace it with its own IEEE OUI.
FALLBACK_OUI = "000000"

COMMON_OBJECTS = "common-objects"
DESCRIPTION = "description"

_HEX6 = re.compile(r"^[0-9A-F]{6}$")
_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2}){5}$")
_MAX_FIELD = 64  # TR-181 string(64) for ProductClass/SerialNumber


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """OUI/ProductClass/SerialNumber (+Manufacturer) and where they came from."""

    manufacturer_oui: str
    product_class: str
    serial_number: str
    manufacturer: str = ""
    source: str = DESCRIPTION  # COMMON_OBJECTS when all three came from the device's CMS

    @property
    def key(self) -> tuple[str, str, str]:
        """TR-181 VirtualDevice unique key (ManufacturerOUI, ProductClass, SerialNumber)."""
        return (self.manufacturer_oui, self.product_class, self.serial_number)

    @property
    def from_common_objects(self) -> bool:
        return self.source == COMMON_OBJECTS


def normalize_oui(text: str) -> str | None:
    """'00:d0:9e' / '00-D0-9E' / '00d09e' → '00D09E'; None if not 6 hex digits."""
    compact = re.sub(r"[\s:.-]", "", text).upper()
    return compact if _HEX6.match(compact) else None


def oui_from_mac(mac: str) -> str | None:
    """The OUI is the first three octets of a (universally administered) MAC address."""
    if not _MAC.match(mac.strip()):
        return None
    octets = re.sub(r"[:-]", "", mac.strip()).upper()
    if int(octets[:2], 16) & 0x02:  # locally administered: no IEEE OUI
        return None
    return octets[:6]


def _clean(text: str) -> str:
    return " ".join(text.split())[:_MAX_FIELD]


def _uuid_of(udn: str) -> str:
    return udn.removeprefix("uuid:").strip()


def identity_from(
    values: Mapping[str, str],
    *,
    udn: str,
    candidate: DeviceCandidate | None = None,
    mac: str | None = None,
    fallback_oui: str = FALLBACK_OUI,
) -> DeviceIdentity:
    """Build the identity from Common Object values (path → value), falling back per field."""
    oui = normalize_oui(values.get(OUI_PATH, ""))
    product_class = _clean(values.get(PRODUCT_CLASS_PATH, ""))
    serial = _clean(values.get(SERIAL_NUMBER_PATH, ""))
    manufacturer = _clean(values.get(MANUFACTURER_PATH, ""))
    if oui and product_class and serial:
        if not manufacturer and candidate is not None:
            manufacturer = _clean(candidate.manufacturer)
        return DeviceIdentity(oui, product_class, serial, manufacturer, COMMON_OBJECTS)

    if not oui:
        oui = (oui_from_mac(mac) if mac else None) or normalize_oui(fallback_oui) or FALLBACK_OUI
    if not product_class:
        product_class = _clean(candidate.model_name) if candidate is not None else ""
        if not product_class and candidate is not None:
            # urn:schemas-upnp-org:device:ManageableDevice:2 → ManageableDevice
            parts = candidate.device_type.split(":")
            product_class = _clean(parts[-2] if len(parts) >= 2 else candidate.device_type)
        product_class = product_class or "UPnPDevice"
    if not serial:
        serial = _clean(candidate.serial_number) if candidate is not None else ""
    if not serial:
        # TR-330 §4.1.1: same UUID with another MAC is another device, so the MAC joins in.
        serial = _clean(_uuid_of(udn) + (f"-{mac.replace(':', '').upper()}" if mac else ""))
    if not manufacturer and candidate is not None:
        manufacturer = _clean(candidate.manufacturer)
    return DeviceIdentity(oui, product_class, serial, manufacturer, DESCRIPTION)


async def read_identity(
    cms: CmsApi,
    *,
    udn: str,
    candidate: DeviceCandidate | None = None,
    mac: str | None = None,
    fallback_oui: str = FALLBACK_OUI,
) -> DeviceIdentity:
    """Read the Common Objects with CMS GetValues and build the identity.

    A UPnP error (e.g. 703: the device has no Common Objects) means "fall back"; a transport
    failure (code 0) is raised: an unreachable device has no identity to give.
    """
    values: dict[str, str] = {}
    try:
        values = {pv.path: pv.value for pv in await cms.get_values([DEVICE_ID_PATH])}
    except UpnpError as exc:
        if exc.code == 0:
            raise
        _LOG.info("%s: GetValues %s failed (%s); trying the leaves", udn, DEVICE_ID_PATH, exc)
        try:
            leaves = [OUI_PATH, PRODUCT_CLASS_PATH, SERIAL_NUMBER_PATH]
            values = {pv.path: pv.value for pv in await cms.get_values(leaves)}
        except UpnpError as exc2:
            if exc2.code == 0:
                raise
            _LOG.info("%s: no DM Common Objects (%s); identity from the description", udn, exc2)
    identity = identity_from(
        values, udn=udn, candidate=candidate, mac=mac, fallback_oui=fallback_oui
    )
    if not identity.from_common_objects:
        _LOG.info("%s: identity %s from the description (fallback)", udn, identity.key)
    return identity


# --- merging ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdentifiedDevice:
    """One discovered DM device (root or embedded) with what is known to merge it."""

    udn: str
    identity: DeviceIdentity
    location: str = ""  # description URL it was found at
    mac: str | None = None


def _port(location: str) -> int | None:
    try:
        parts = urlsplit(location)
        return parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None


def same_virtual_device(a: IdentifiedDevice, b: IdentifiedDevice) -> bool:
    """TR-330 §4.1.1 merge rule for two discovered devices."""
    if a.identity.from_common_objects and b.identity.from_common_objects:
        return a.identity.key == b.identity.key
    if a.udn != b.udn:
        return False
    if a.mac and b.mac and a.mac.lower() != b.mac.lower():
        # Same UUID, different MAC, no Common Objects: separate devices, unless the device
        # uses the same port in LOCATION on every interface (multi-homed).
        pa, pb = _port(a.location), _port(b.location)
        return pa is not None and pa == pb
    return True


def group_virtual_devices(devices: Sequence[IdentifiedDevice]) -> list[list[IdentifiedDevice]]:
    """Partition devices into virtual CWMP devices (transitive closure of the merge rule),
    keeping discovery order inside and across groups."""
    parent = list(range(len(devices)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(devices)):
        for j in range(i + 1, len(devices)):
            if same_virtual_device(devices[i], devices[j]):
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[IdentifiedDevice]] = {}
    for i, device in enumerate(devices):
        groups.setdefault(find(i), []).append(device)
    return list(groups.values())


def merged_identity(group: Sequence[IdentifiedDevice]) -> DeviceIdentity:
    """The identity of a merged virtual device: the first Common Objects one, if any."""
    for device in group:
        if device.identity.from_common_objects:
            return device.identity
    return group[0].identity
