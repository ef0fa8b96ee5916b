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


async def test_simulated_device_runs_bms_and_sms_without_network() -> None:
    """Reference §3.2/§4.2 through the DmDevice protocol: diagnostics and SMS info, in process."""
    device = LocalDmDevice.simulated()
    assert device.bms is not None and device.sms is not None
    assert device.lab is not None
    device.lab.faults.test_duration = 0.0
    stream = device.events()
    initial = [await anext(stream) for _ in range(3)]
    assert [e.service for e in initial] == ["CMS", "BMS", "SMS"]
    test_id = await device.bms.ping("::1", 2, 1000, 64, 0)
    while True:
        event = await asyncio.wait_for(anext(stream), 5)
        if event.service == "BMS" and event.variables.get("ActiveTestIDs") == "":
            break
    assert (await device.bms.get_test_info(test_id)).state == "Completed"
    result = await device.bms.get_ping_result(test_id)
    assert (result.status, result.success_count) == ("Success", 2)
    assert await device.bms.get_active_test_ids() == []
    assert await device.sms.get_du_ids() == [0, 1]
    firmware = await device.sms.get_du_info(0)
    assert (firmware.du_type, firmware.du_version) == ("Firmware", "1.0.0")
    with pytest.raises(UpnpError) as exc:
        await device.sms.uninstall(0, False)
    assert exc.value.code == 600
    logs = await device.bms.get_log_uris()
    assert (await device.bms.get_log_info(logs[0])).enabled is True
    device.close()
    await device.lab.stop()


async def test_sequence_mode_runs_tests_one_after_another() -> None:
    """Reference §3.1 SequenceMode (PROJECT CHOICE: one test at a time, in TestID order)."""
    device = LocalDmDevice.simulated()
    assert device.bms is not None and device.lab is not None
    device.lab.faults.test_duration = 0.01
    device.lab.bms.set_sequence_mode(True)
    stream = device.events()
    for _ in range(3):
        await anext(stream)
    first = await device.bms.traceroute("127.0.0.1", 100, 64, 5, 0)
    second = await device.bms.nslookup("localhost", "", 1, 100)
    assert (await device.bms.get_test_info(second)).state == "Requested"
    actives = []
    while not actives or actives[-1] != "":
        event = await asyncio.wait_for(anext(stream), 5)
        if event.service == "BMS" and "ActiveTestIDs" in event.variables:
            actives.append(event.variables["ActiveTestIDs"])
    assert actives[-2:] == [str(second), ""]
    assert (await device.bms.get_traceroute_result(first)).status == "Success"
    assert (await device.bms.get_nslookup_result(second)).success_count == 1
    device.close()
    await device.lab.stop()
