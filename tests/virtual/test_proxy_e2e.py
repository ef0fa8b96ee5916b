"""End to end over real sockets: lab ACS ⇄ proxier ⇄ lab DM devices (issues 4 and 5)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.virtual.rig import events_of, rig


async def test_three_devices_become_virtual_devices(tmp_path: Path) -> None:
    """TR-330 §4.1.1 / §4.3.1, Table 1 row 0: each discovered DM device is its own Virtual CWMP
    Device with the device's DeviceId, bootstrapping ("0 BOOTSTRAP" + "1 BOOT"), listed in
    the proxier's Device.ManagementServer.VirtualDevice.{i}."""
    async with rig(tmp_path, devices=3) as r:
        proxier = await r.start_proxier()
        found = await r.devices(3)
        serials = {d["deviceId"]["serialNumber"] for d in found}
        assert serials == {dev.serial_number for dev in r.lab.devices}
        for dev in found:
            first = (await r.informs(dev["id"]))[0]
            assert {"0 BOOTSTRAP", "1 BOOT"} <= {code for code, _ in first["events"]}
            assert dev["connectionRequestUrl"].startswith("http://127.0.0.1:")
        params = {p.name: p.value for p in proxier.parameters()}
        assert params["Device.ManagementServer.VirtualDeviceNumberOfEntries"] == "3"
        table = {
            params[f"Device.ManagementServer.VirtualDevice.{i}.SerialNumber"] for i in (1, 2, 3)
        }
        assert table == serials


async def test_gpv_spv_addobject_through_the_proxy(tmp_path: Path) -> None:
    """TR-330 §4.6.3, §4.6.4, §4.6.6: GPV, SPV (ParameterKey) and AddObject reach the device
    through CMS GetValues/SetValues/CreateInstance, each after a Connection Request."""
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        lab_device = r.lab_device(dev_id)
        gpv = await r.rpc(
            dev_id,
            {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.SerialNumber"]},
        )
        assert gpv["status"] == "done", gpv
        assert gpv["result"]["parameterList"][0]["value"] == lab_device.serial_number
        spv = await r.rpc(
            dev_id,
            {
                "name": "SetParameterValues",
                "parameterList": [["Device.DeviceInfo.ProvisioningCode", "E2E-7", "xsd:string"]],
                "parameterKey": "key-7",
            },
        )
        assert spv["status"] == "done" and spv["result"]["status"] in (0, 1), spv
        back = await r.rpc(
            dev_id,
            {
                "name": "GetParameterValues",
                "parameterNames": [
                    "Device.DeviceInfo.ProvisioningCode",
                    "Device.ManagementServer.ParameterKey",
                ],
            },
        )
        values = {p["name"]: p["value"] for p in back["result"]["parameterList"]}
        assert values["Device.DeviceInfo.ProvisioningCode"] == "E2E-7"
        assert values["Device.ManagementServer.ParameterKey"] == "key-7"
        add = await r.rpc(
            dev_id,
            {"name": "AddObject", "objectName": "Device.NAT.PortMapping.", "parameterKey": "key-8"},
        )
        assert add["status"] == "done", add
        number = add["result"]["instanceNumber"]
        names = await r.rpc(
            dev_id,
            {
                "name": "GetParameterNames",
                "parameterPath": "Device.NAT.PortMapping.",
                "nextLevel": True,
            },
        )
        listed = {p["name"] for p in names["result"]["parameterList"]}
        assert f"Device.NAT.PortMapping.{number}." in listed


async def test_restart_keeps_identity_instances_and_sends_no_bootstrap(tmp_path: Path) -> None:
    """Issue 5 "Restart of the proxier": every virtual device restored from the store, no
    spurious "0 BOOTSTRAP", instance numbers stable (issue 4)."""
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        add = await r.rpc(
            dev_id,
            {"name": "AddObject", "objectName": "Device.NAT.PortMapping.", "parameterKey": "a"},
        )
        number = add["result"]["instanceNumber"]
        before = await r.rpc(
            dev_id,
            {
                "name": "GetParameterNames",
                "parameterPath": "Device.NAT.PortMapping.",
                "nextLevel": True,
            },
        )
        cr_url = (await r.client.device(dev_id))["connectionRequestUrl"]
        await r.stop_proxier()
        mark = r.last_inform_id(dev_id)
        await r.start_proxier()
        after = await r.rpc(
            dev_id,
            {
                "name": "GetParameterNames",
                "parameterPath": "Device.NAT.PortMapping.",
                "nextLevel": True,
            },
        )
        assert after["status"] == "done", after
        assert after["result"]["parameterList"] == before["result"]["parameterList"]
        assert any(
            p["name"] == f"Device.NAT.PortMapping.{number}."
            for p in after["result"]["parameterList"]
        )
        new = r.acs.store.informs(dev_id, after=mark)
        assert new, "the Connection Request session after the restart"
        codes = {code for inform in new for code, _ in inform["events"]}
        assert "0 BOOTSTRAP" not in codes and "1 BOOT" not in codes
        assert (await r.client.device(dev_id))["connectionRequestUrl"].rsplit("/", 1)[-1] == (
            cr_url.rsplit("/", 1)[-1]
        )


async def test_acs_reboot_gives_boot_and_m_reboot_with_command_key(tmp_path: Path) -> None:
    """TR-330 Table 1 row "1 BOOT": Reboot RPC → BMS::Reboot after the session; when the device
    is back the Inform carries "1 BOOT" and "M Reboot" with the Reboot's CommandKey."""
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        r.lab_device(dev_id).faults.reboot_delay = 1.0
        mark = r.last_inform_id(dev_id)
        result = await r.rpc(dev_id, {"name": "Reboot", "commandKey": "reboot-42"})
        assert result["status"] == "done", result
        informs = await r.informs(dev_id, after=mark, count=2, wait=30)
        boot = next(i for i in informs if ("1 BOOT", "") in events_of(i))
        assert ("M Reboot", "reboot-42") in events_of(boot)
        assert r.lab_device(dev_id).boot_id > 1


async def test_acs_factory_reset_gives_bootstrap_when_back(tmp_path: Path) -> None:
    """TR-330 Table 1 row "0 BOOTSTRAP": FactoryReset RPC → BMS::BaselineReset; the device's
    next Inform, once it is back, carries "0 BOOTSTRAP"."""
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        r.lab_device(dev_id).faults.reboot_delay = 1.0
        mark = r.last_inform_id(dev_id)
        result = await r.rpc(dev_id, {"name": "FactoryReset"})
        assert result["status"] == "done", result
        informs = await r.informs(dev_id, after=mark, count=2, wait=30)
        assert any("0 BOOTSTRAP" in {c for c, _ in i["events"]} for i in informs[1:])


async def test_vanished_device_is_offline_then_resumes(tmp_path: Path) -> None:
    """Annex J.2.3 / TR-330 §4.1.1: a device that disappears silently goes offline: its
    Connection Requests get 503; when it comes back the virtual device resumes with the same
    identity (no BOOTSTRAP)."""
    async with rig(tmp_path) as r:
        proxier = await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        device = r.lab_device(dev_id)
        device.set_silent(True)
        for _ in range(100):
            if not proxier.virtual_devices()[0]["online"]:
                break
            await asyncio.sleep(0.1)
        assert not proxier.virtual_devices()[0]["online"]
        outcome = await r.client.connection_request(dev_id)
        assert "503" in outcome
        mark = r.last_inform_id(dev_id)
        device.set_silent(False)
        for _ in range(100):
            if proxier.virtual_devices()[0]["online"]:
                break
            await asyncio.sleep(0.1)
        gpv = await r.rpc(
            dev_id,
            {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.SerialNumber"]},
        )
        assert gpv["status"] == "done", gpv
        codes = {c for i in r.acs.store.informs(dev_id, after=mark) for c, _ in i["events"]}
        assert "0 BOOTSTRAP" not in codes
