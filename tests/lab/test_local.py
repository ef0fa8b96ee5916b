"""LocalDmDevice: the DmDevice protocol on a lab data model, with GENA-shaped events.

UDA §4.2 (initial event with every evented variable, then one event per change, SEQ rising);
TR-330 Table 1 (ConfigurationUpdate after an EventOnChange parameter changed).
"""

from __future__ import annotations

import asyncio

import pytest

from proxier.lab.datamodel import DataModel
from proxier.lab.local import LocalDmDevice
from proxier.upnp.device import DmDevice, ParameterValue, UpnpError


async def test_cms_calls_reach_the_model() -> None:
    device: DmDevice = LocalDmDevice(DataModel(), udn="uuid:lab-1")
    assert device.udn == "uuid:lab-1"
    got = await device.cms.get_values(["/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/ProductClass"])
    assert got[0].value == "LabDM"
    assert await device.cms.set_values([ParameterValue("/BBF/Time/NTPServer1", "a")]) == (
        "ChangesCommitted"
    )
    with pytest.raises(UpnpError) as exc:
        await device.cms.get_values(["/Nope"])
    assert exc.value.code == 703


async def test_events_start_with_initial_values_then_follow_changes() -> None:
    device = LocalDmDevice(DataModel())
    stream = device.events()
    first = await anext(stream)
    assert first.service == "CMS" and first.seq == 0
    assert set(first.variables) >= {"ConfigurationUpdate", "AlarmsEnabled"}
    await device.cms.set_values(
        [ParameterValue("/UPnP/DM/Configuration/Network/HostName", "new-name")]
    )
    second = await asyncio.wait_for(anext(stream), 5)
    assert second.seq == 1
    assert second.variables["ConfigurationUpdate"].startswith(
        f"{await device.cms.get_current_configuration_version()},"
    )
    device.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(stream), 5)
