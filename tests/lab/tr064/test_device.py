"""The lab TR-064 device's rules, sans-IO (clock passed in): transactions (guide §9.1),
the second factor (§4.3, §6.1: 866/867/868), argument checks (§6: 401/402)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from proxier.lab.tr064.device import LabTr064Device, Tr064Fault
from proxier.lab.tr064.server import Tr064LabServer
from proxier.lab.tr064.services import SERVICES
from proxier.tr064.client import Login, Tr064Client
from proxier.tr064.errors import fault_for
from proxier.upnp.device import UpnpError

WLAN = next(s for s in SERVICES if s.key == "WLANConfiguration:1")
CONFIG = next(s for s in SERVICES if s.name == "DeviceConfig")
SESSION = "uuid:3f2504e0-4f89-41d3-9a0c-0305e82c3301"


def test_transaction_blocks_others_until_finished_or_45_s() -> None:
    """§9.1: a transaction keeps other clients' writes out; it times out 45 s after
    ConfigurationStarted when ConfigurationFinished never comes."""
    device = LabTr064Device(0, "uuid:x", "3A0000000001")
    device.invoke(CONFIG, "ConfigurationStarted", {"NewSessionID": SESSION}, "a", 0.0)
    with pytest.raises(Tr064Fault) as busy:
        device.check_transaction("b", "", 10.0, writes=True)
    assert busy.value.code == 899
    device.check_transaction("b", "", 10.0, writes=False)  # reads pass
    device.check_transaction("b", "", 46.0, writes=True)  # timed out
    assert device.transaction is None
    device.invoke(CONFIG, "ConfigurationStarted", {"NewSessionID": SESSION}, "a", 50.0)
    assert device.invoke(CONFIG, "ConfigurationFinished", {}, "a", 51.0) == {
        "NewStatus": "ChangesApplied"
    }


def test_unknown_action_401_and_wrong_arguments_402() -> None:
    """§6: 401 for an unknown (or obsolete) action, 402 for unexpected arguments."""
    device = LabTr064Device(0, "uuid:x", "3A0000000001")
    with pytest.raises(Tr064Fault) as unknown:
        device.invoke(WLAN, "SetSSIDs", {}, "a", 0.0)
    assert unknown.value.code == 401
    with pytest.raises(Tr064Fault) as wrong:
        device.invoke(WLAN, "SetSSID", {"NewSSID": "x", "NewExtra": "y"}, "a", 0.0)
    assert wrong.value.code == 402


@pytest.fixture
async def lab() -> AsyncIterator[Tr064LabServer]:
    async with Tr064LabServer(1, password="pw") as server:
        yield server


@pytest.mark.parametrize(
    ("state", "code", "advice"),
    [("block", 867, "wait a few minutes"), ("busy", 868, "pending on the device")],
)
async def test_second_factor_blocked_or_busy(
    lab: Tr064LabServer, state: str, code: int, advice: str
) -> None:
    """§6.1: 867 (blocked) and 868 (busy) come back as 9001 faults saying what to do."""
    lab.server(0).two_factor["LANConfigSecurity:SetConfigPassword"] = state
    async with aiohttp.ClientSession() as session:
        client = Tr064Client(session, lab.description_urls[0], Login("admin", "pw"))
        await client.attach()
        with pytest.raises(UpnpError) as caught:
            await client.call("LANConfigSecurity:1", "SetConfigPassword", {"NewPassword": "n"})
    assert caught.value.code == code
    fault = fault_for(caught.value, "LANConfigSecurity:SetConfigPassword").fault
    assert fault.fault_code == 9001 and advice in fault.fault_string
