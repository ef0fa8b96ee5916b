"""The TR-064 client against the lab TR-064 device over real sockets (issue 10 Security)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from proxier.lab.tr064.server import Tr064LabServer
from proxier.tr064.client import Login, Tr064Client
from proxier.tr064.errors import LoginError, fault_for
from proxier.tr064.pins import PinStore
from proxier.upnp.device import UpnpError
from proxier.upnp.tls import PinError

PASSWORD = "lab-secret"


@pytest.fixture
async def lab() -> AsyncIterator[Tr064LabServer]:
    async with Tr064LabServer(1, password=PASSWORD) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.mark.parametrize("auth", ["digest", "content", "auto"])
async def test_identity_and_calls_over_the_security_port(
    lab: Tr064LabServer, session: aiohttp.ClientSession, auth: str
) -> None:
    """§5.1 identity (MAC from serialNumber/UDN, OUI, modelName), every SCPD parsed, §4.2
    HTTPS on GetSecurityPort's port, §4.1 digest / §4.1.2 content-level auth."""
    client = Tr064Client(session, lab.description_urls[0], Login("admin", PASSWORD, auth))
    desc = await client.attach()
    device = lab.devices[0]
    assert desc.mac == device.mac and desc.oui == device.mac[:6]
    assert desc.model_name == "FRITZ!Box 7590 (lab)" and desc.manufacturer == "AVM"
    assert client.security_port == device.security_port
    assert {"WLANConfiguration:1", "WLANConfiguration:2", "Hosts:1"} <= set(client.scpds)
    info = await client.call("DeviceInfo:1", "GetInfo")
    assert info["NewSerialNumber"] == device.mac
    count = await client.call("Hosts:1", "GetHostNumberOfEntries")
    assert count["NewHostNumberOfEntries"] == "3"


async def test_wrong_password_backs_off_without_a_storm(
    lab: Tr064LabServer, session: aiohttp.ClientSession
) -> None:
    """§4.1.1: a refused login is not retried; calls within the back-off send nothing."""
    client = Tr064Client(session, lab.description_urls[0], Login("admin", "wrong", "digest"))
    await client.attach()
    with pytest.raises(LoginError):
        await client.call("DeviceInfo:1", "GetInfo")
    sent = client.requests
    for _ in range(20):
        with pytest.raises(LoginError) as caught:
            await client.call("DeviceInfo:1", "GetInfo")
    assert client.requests == sent
    assert "9002" in str(fault_for(caught.value, "DeviceInfo:GetInfo"))


async def test_wrong_password_content_level(
    lab: Tr064LabServer, session: aiohttp.ClientSession
) -> None:
    """§4.1.2: a second Challenge after ClientAuth means a wrong password: back off."""
    client = Tr064Client(session, lab.description_urls[0], Login("admin", "wrong", "content"))
    await client.attach()
    with pytest.raises(LoginError, match="content"):
        await client.call("DeviceInfo:1", "GetInfo")


async def test_throttled_device_is_left_alone(
    lab: Tr064LabServer, session: aiohttp.ClientSession
) -> None:
    """§4.1.1: 503 after repeated bad logins; our client stops asking (back-off)."""
    server = lab.server(0)
    server.throttle.max_failures = 1
    bad = Tr064Client(session, lab.description_urls[0], Login("admin", "wrong", "digest"))
    await bad.attach()
    with pytest.raises(LoginError):
        await bad.call("DeviceInfo:1", "GetInfo")
    good = Tr064Client(session, lab.description_urls[0], Login("admin", PASSWORD, "digest"))
    good.use_tls = False
    await good.attach()
    with pytest.raises(LoginError, match="503") as caught:
        await good.call("DeviceInfo:1", "GetInfo")
    assert caught.value.throttled
    with pytest.raises(LoginError):
        await good.call("DeviceInfo:1", "GetInfo")
    assert server.throttle.refused == 1


async def test_rights_and_second_factor_faults_say_what_to_do(
    lab: Tr064LabServer, session: aiohttp.ClientSession
) -> None:
    """§6.1: 606 for a user without the right, 866 for an action behind 2FA (§4.3): CWMP
    9001 faults whose strings tell the user what to do."""
    app = Tr064Client(session, lab.description_urls[0], Login("app", PASSWORD))
    await app.attach()
    with pytest.raises(UpnpError) as denied:
        await app.call("DeviceInfo:1", "GetInfo")
    assert denied.value.code == 606
    fault = fault_for(denied.value, "DeviceInfo:GetInfo").fault
    assert fault.fault_code == 9001 and "right" in fault.fault_string
    admin = Tr064Client(session, lab.description_urls[0], Login("admin", PASSWORD))
    await admin.attach()
    with pytest.raises(UpnpError) as second:
        await admin.call("LANConfigSecurity:1", "SetConfigPassword", {"NewPassword": "x"})
    assert second.value.code == 866
    fault = fault_for(second.value, "LANConfigSecurity:SetConfigPassword").fault
    assert fault.fault_code == 9001 and "confirm on the device" in fault.fault_string
    with pytest.raises(UpnpError) as missing:
        await admin.call("Hosts:1", "NoSuchAction")
    assert fault_for(missing.value, "Hosts:NoSuchAction").fault.fault_code == 9005


async def test_certificate_pinned_on_first_use(
    lab: Tr064LabServer, session: aiohttp.ClientSession
) -> None:
    """Issue 10: the security port's certificate is pinned on first use; another one is
    refused afterwards."""
    pins = PinStore()
    client = Tr064Client(session, lab.description_urls[0], Login("admin", PASSWORD), pins=pins)
    desc = await client.attach()
    await client.call("DeviceInfo:1", "GetInfo")  # the first HTTPS call pins
    assert desc.udn in pins.pins
    pins.pins[desc.udn] = "00" * 32
    with pytest.raises(UpnpError, match="pinned"):
        await client.call("DeviceInfo:1", "GetInfo")
    with pytest.raises(PinError):
        pins.check(desc.udn, b"other")
