"""Virtual device identity (TR-330 §4.1.1; TR-069 Annex J.2 unique OUI/PC/SN): Common
Objects first, description fallbacks, merge rules for the same UUID or Common Objects."""

from __future__ import annotations

import aiohttp
import pytest

from proxier.upnp.client import CmsClient, SoapTransport
from proxier.upnp.description import DeviceCandidate
from proxier.upnp.device import UpnpError
from proxier.upnp.identity import (
    COMMON_OBJECTS,
    DESCRIPTION,
    DEVICE_ID_PATH,
    DeviceIdentity,
    IdentifiedDevice,
    group_virtual_devices,
    identity_from,
    merged_identity,
    normalize_oui,
    oui_from_mac,
    read_identity,
    same_virtual_device,
)

from .peer import MiniCms, serve

UDN = "uuid:6f1c7c1e-0000-4000-8000-000000000001"
COMMON = {
    DEVICE_ID_PATH + "ManufacturerOUI": "00d09e",
    DEVICE_ID_PATH + "ProductClass": "LabDM",
    DEVICE_ID_PATH + "SerialNumber": "SN-0001",
}
CANDIDATE = DeviceCandidate(
    udn=UDN,
    device_type="urn:schemas-upnp-org:device:ManageableDevice:2",
    friendly_name="Lab",
    manufacturer="Example Labs",
    model_name="LabModel",
    model_number="2",
    serial_number="DESC-SN",
    presentation_url="",
    services=(),
    description_url="http://127.0.0.1:1/d.xml",
    root_udn=UDN,
)


def test_common_objects_give_the_identity() -> None:
    """TR-330 §4.1.1: with CMS Common Objects the device uses OUI/PC/SN support."""
    identity = identity_from(COMMON, udn=UDN, candidate=CANDIDATE)
    assert identity == DeviceIdentity("00D09E", "LabDM", "SN-0001", "Example Labs", COMMON_OBJECTS)


def test_missing_common_objects_fall_back_to_description() -> None:
    """PROJECT CHOICE fallback: serialNumber/modelName from the DDD, OUI from the MAC."""
    identity = identity_from({}, udn=UDN, candidate=CANDIDATE, mac="00:1A:2B:3C:4D:5E")
    assert identity == DeviceIdentity("001A2B", "LabModel", "DESC-SN", "Example Labs", DESCRIPTION)


def test_bad_oui_is_not_trusted() -> None:
    """An OUI that is not 6 hex digits is replaced by the fallback, and the identity is not
    marked as coming from the Common Objects."""
    values = dict(COMMON)
    values[DEVICE_ID_PATH + "ManufacturerOUI"] = "ACME"
    identity = identity_from(values, udn=UDN, candidate=CANDIDATE, fallback_oui="ABCDEF")
    assert identity.manufacturer_oui == "ABCDEF"
    assert identity.product_class == "LabDM" and identity.serial_number == "SN-0001"
    assert not identity.from_common_objects


def test_nothing_known_uses_udn_and_device_type() -> None:
    """Without serialNumber the UUID is the serial; the MAC joins it (same UUID on another
    MAC is another device, TR-330 §4.1.1)."""
    bare = DeviceCandidate(**_bare())  # type: ignore[arg-type]
    identity = identity_from({}, udn=UDN, candidate=bare, mac="02:00:00:00:00:01")
    assert identity.manufacturer_oui == "000000"  # locally administered MAC has no OUI
    assert identity.product_class == "ManageableDevice"
    assert identity.serial_number == "6f1c7c1e-0000-4000-8000-000000000001-020000000001"


def _bare() -> dict[str, object]:
    return dict(
        udn=UDN,
        device_type="urn:schemas-upnp-org:device:ManageableDevice:2",
        friendly_name="",
        manufacturer="",
        model_name="",
        model_number="",
        serial_number="",
        presentation_url="",
        services=(),
        description_url="",
        root_udn=UDN,
    )


@pytest.mark.parametrize(
    ("text", "oui"),
    [("00:d0:9e", "00D09E"), ("00-D0-9E", "00D09E"), ("00d09e", "00D09E"), ("0d09e", None)],
)
def test_normalize_oui(text: str, oui: str | None) -> None:
    """TR-181 ManufacturerOUI: six upper-case hex digits."""
    assert normalize_oui(text) == oui


def test_oui_from_mac() -> None:
    assert oui_from_mac("00:1a:2b:3c:4d:5e") == "001A2B"
    assert oui_from_mac("not a mac") is None


def co(udn: str, serial: str, mac: str | None = None, loc: str = "") -> IdentifiedDevice:
    return IdentifiedDevice(
        udn, DeviceIdentity("00D09E", "LabDM", serial, source=COMMON_OBJECTS), loc, mac
    )


def fb(udn: str, mac: str | None, loc: str) -> IdentifiedDevice:
    return IdentifiedDevice(udn, DeviceIdentity("000000", "X", udn, source=DESCRIPTION), loc, mac)


def test_same_common_objects_merge_across_udns() -> None:
    """TR-330 §4.1.1: same Common Objects over multiple UPnP devices → one CWMP device."""
    assert same_virtual_device(co("uuid:a", "S1"), co("uuid:b", "S1"))
    assert not same_virtual_device(co("uuid:a", "S1"), co("uuid:a", "S2"))


def test_same_uuid_different_mac_without_common_objects() -> None:
    """TR-330 §4.1.1: no OUI/PC/SN, same UUID, different MAC → different devices, unless
    the LOCATION port is the same on both interfaces."""
    a = fb("uuid:a", "00:00:00:00:00:01", "http://10.0.0.2:5000/d.xml")
    b = fb("uuid:a", "00:00:00:00:00:02", "http://10.0.1.2:5001/d.xml")
    c = fb("uuid:a", "00:00:00:00:00:02", "http://10.0.1.2:5000/d.xml")
    assert not same_virtual_device(a, b)
    assert same_virtual_device(a, c)
    assert same_virtual_device(a, fb("uuid:a", None, "http://10.0.3.2:9/d.xml"))


def test_grouping_is_transitive_and_ordered() -> None:
    devices = [co("uuid:a", "S1"), fb("uuid:z", None, ""), co("uuid:b", "S1"), co("uuid:c", "S2")]
    groups = group_virtual_devices(devices)
    assert [[d.udn for d in g] for g in groups] == [["uuid:a", "uuid:b"], ["uuid:z"], ["uuid:c"]]
    mixed = [fb("uuid:a", None, ""), co("uuid:a", "S9")]
    assert merged_identity(group_virtual_devices(mixed)[0]).serial_number == "S9"


async def test_read_identity_over_cms() -> None:
    """CMS GetValues of the DeviceID partial path over loopback gives the identity."""
    device = MiniCms(dict(COMMON))
    async with serve({"/ctl": device.handle}) as base, aiohttp.ClientSession() as session:
        cms = CmsClient(SoapTransport(session), base + "/ctl")
        identity = await read_identity(cms, udn=UDN, candidate=CANDIDATE)
    assert identity.key == ("00D09E", "LabDM", "SN-0001")
    assert device.calls == [[DEVICE_ID_PATH]]


async def test_read_identity_without_common_objects_falls_back() -> None:
    """703 on the Common Objects → description fallback, not an error."""
    device = MiniCms({"/UPnP/DM/DeviceInfo/SoftwareVersion": "1"})
    async with serve({"/ctl": device.handle}) as base, aiohttp.ClientSession() as session:
        cms = CmsClient(SoapTransport(session), base + "/ctl")
        identity = await read_identity(cms, udn=UDN, candidate=CANDIDATE)
    assert identity.source == DESCRIPTION and identity.serial_number == "DESC-SN"
    assert len(device.calls) == 2


async def test_read_identity_of_unreachable_device_raises(unused_tcp_port: int) -> None:
    """A transport failure is not "no Common Objects": it propagates as UpnpError(0)."""
    async with aiohttp.ClientSession() as session:
        cms = CmsClient(SoapTransport(session), f"http://127.0.0.1:{unused_tcp_port}/ctl")
        with pytest.raises(UpnpError) as info:
            await read_identity(cms, udn=UDN)
    assert info.value.code == 0
