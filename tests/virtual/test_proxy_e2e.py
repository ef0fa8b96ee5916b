"""End to end over real sockets: lab ACS ⇄ proxier ⇄ lab DM devices (issues 4 and 5)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from proxier.lab.sms import make_image
from tests.virtual.rig import events_of, rig
from tests.virtual.tasks import spa


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
        boot = await r.inform_with(dev_id, "1 BOOT", after=mark)
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
        await r.inform_with(dev_id, "0 BOOTSTRAP", after=mark)


async def test_device_late_after_acs_reboot_is_offline_then_reports_boot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 5: a device the ACS rebooted that stays away longer than `upnp.return_wait` is
    logged as missing and offline (Connection Requests get 503, Annex J.2.3), its state and
    events are kept, and when it does come back the ACS gets "1 BOOT" + "M Reboot" with the
    CommandKey (TR-330 Table 1 row 1; TR-069 Table 7: "M Reboot" is never discarded)."""
    async with rig(tmp_path) as r:
        r.upnp = {"return_wait": 0.5}
        proxier = await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        r.lab_device(dev_id).faults.reboot_delay = 4.0
        mark = r.last_inform_id(dev_id)
        with caplog.at_level(logging.WARNING, logger="proxier.virtual.device"):
            result = await r.rpc(dev_id, {"name": "Reboot", "commandKey": "late-1"})
            assert result["status"] == "done", result
            for _ in range(100):
                if "did not come back" in caplog.text:
                    break
                await asyncio.sleep(0.05)
        assert "did not come back" in caplog.text
        assert not proxier.virtual_devices()[0]["online"]
        assert "503" in await r.client.connection_request(dev_id)
        boot = await r.inform_with(dev_id, "1 BOOT", after=mark)
        assert ("M Reboot", "late-1") in events_of(boot)
        assert proxier.virtual_devices()[0]["online"]


@pytest.mark.parametrize(
    ("down", "probe_interval", "return_wait"),
    [
        (2.5, 1.0, 60.0),  # too short for 5 failed probes in a row: its UpTime tells
        (0.02, 0.2, 0.6),  # back before anything (even UpTime) can tell: it answers at the deadline
    ],
    ids=["uptime", "deadline"],
)
async def test_reboot_unseen_by_discovery_still_reports_boot(
    tmp_path: Path, down: float, probe_interval: float, return_wait: float
) -> None:
    """TR-330 Table 1 row 1 without SSDP (description URLs): a device that restarts between
    two probes shows no byebye, no alive and no BOOTID. Its UpTime (DM Common Object) being
    smaller than the time since the Reboot says it restarted; a restart too quick for
    UpTime to show is taken as done when the device answers at the end of `return_wait`.
    Either way the ACS gets "1 BOOT" + "M Reboot" with the CommandKey."""
    async with rig(tmp_path) as r:
        r.upnp = {
            "return_wait": return_wait,
            "probe_interval": probe_interval,
            "probe_failures": 5,
        }
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        r.lab_device(dev_id).faults.reboot_delay = down
        mark = r.last_inform_id(dev_id)
        result = await r.rpc(dev_id, {"name": "Reboot", "commandKey": "unseen-1"})
        assert result["status"] == "done", result
        boot = await r.inform_with(dev_id, "1 BOOT", after=mark, wait=30.0)
        assert ("M Reboot", "unseen-1") in events_of(boot)
        gpv = await r.rpc(
            dev_id,
            {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.UpTime"]},
        )
        assert gpv["status"] == "done", gpv


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


async def test_ipping_diagnostic_ends_with_diagnostics_complete(tmp_path: Path) -> None:
    """TR-330 §4.5.1 and Table 1 row 8: DiagnosticsState=Requested starts BMS::Ping after the
    session; when the test leaves ActiveTestIDs the ACS gets "8 DIAGNOSTICS COMPLETE" and the
    results are readable under Device.IP.Diagnostics.IPPing."""
    base = "Device.IP.Diagnostics.IPPing."
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        spv = await r.rpc(
            dev_id,
            {
                "name": "SetParameterValues",
                "parameterList": [
                    [base + "Host", "127.0.0.1", "xsd:string"],
                    [base + "NumberOfRepetitions", "3", "xsd:unsignedInt"],
                    [base + "DiagnosticsState", "Requested", "xsd:string"],
                ],
                "parameterKey": "ping-1",
            },
        )
        assert spv["status"] == "done", spv.get("result")
        mark = r.last_inform_id(dev_id)
        await r.inform_with(dev_id, "8 DIAGNOSTICS COMPLETE", after=mark)
        got = await r.rpc(dev_id, {"name": "GetParameterValues", "parameterNames": [base]})
        values = {p["name"]: p["value"] for p in got["result"]["parameterList"]}
        assert values[base + "DiagnosticsState"] == "Complete"
        assert int(values[base + "SuccessCount"]) + int(values[base + "FailureCount"]) == 3


async def test_firmware_download_ends_with_transfer_complete(tmp_path: Path) -> None:
    """TR-330 §4.7.1 and Table 1 row 7: Download "1 Firmware Upgrade Image" → SMS::Update on
    DU 0; when the operation completes the ACS gets "7 TRANSFER COMPLETE" + "M Download" and a
    TransferComplete with FaultCode 0, and the device reports the new SoftwareVersion."""
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        url = r.lab.host_file("fw-2.0.bin", make_image("lab-fw", "2.0.0", b"x" * 1024))
        mark = r.last_inform_id(dev_id)
        download = await r.rpc(
            dev_id,
            {
                "name": "Download",
                "commandKey": "fw-2",
                "fileType": "1 Firmware Upgrade Image",
                "url": url,
                "fileSize": 0,
            },
        )
        assert download["status"] == "done", download.get("result")
        done = await r.inform_with(dev_id, "7 TRANSFER COMPLETE", after=mark)
        assert ("M Download", "fw-2") in events_of(done)
        completes: list[dict[str, object]] = []
        for _ in range(50):  # recorded when it arrives, just after the Inform
            completes = [
                c for c in r.acs.store.cpe_requests(dev_id) if c["name"] == "TransferComplete"
            ]
            if completes:
                break
            await asyncio.sleep(0.1)
        assert completes, "the CPE sent TransferComplete"
        body: Any = completes[-1]["body"]
        assert body["commandKey"] == "fw-2"
        assert body["faultStruct"]["faultCode"] == 0
        got = await r.rpc(
            dev_id,
            {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.SoftwareVersion"]},
        )
        assert got["result"]["parameterList"][0]["value"] == "2.0.0"


async def test_value_change_on_device_reaches_acs(tmp_path: Path) -> None:
    """TR-330 Table 1 row "4 VALUE CHANGE" (§4.6.5.2.1): Notification=2 on a parameter sets
    EventOnChange on the device; a change made on the device (not by the ACS) arrives as a
    CMS ConfigurationUpdate event and becomes an Inform with "4 VALUE CHANGE" carrying the
    new value. A change the ACS made itself does not notify."""
    name = "Device.Time.NTPServer1"
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        attrs = await r.rpc(dev_id, spa(name, 2))
        assert attrs["status"] == "done", attrs.get("result")
        spv = await r.rpc(
            dev_id,
            {
                "name": "SetParameterValues",
                "parameterList": [[name, "acs.example", "xsd:string"]],
                "parameterKey": "n1",
            },
        )
        assert spv["status"] == "done", spv.get("result")
        mark = r.last_inform_id(dev_id)
        r.lab_device(dev_id).model.device_set({"/BBF/Time/NTPServer1": "device.example"})
        change = await r.inform_with(dev_id, "4 VALUE CHANGE", after=mark)
        assert change["parameters"][name][0] == "device.example"
        reported = [i["parameters"].get(name, [""])[0] for i in r.acs.store.informs(dev_id)]
        assert "acs.example" not in reported


async def test_value_change_right_after_restart_is_reported(tmp_path: Path) -> None:
    """Issue 5 "Restart of the proxier … subscriptions re-established", TR-069 §3.7.1.5: a
    device-side change made right after a proxier restart (before or after the GENA
    subscription is back) reaches the ACS as "4 VALUE CHANGE"."""
    name = "Device.Time.NTPServer1"
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        attrs = await r.rpc(dev_id, spa(name, 2))
        assert attrs["status"] == "done", attrs.get("result")
        await r.stop_proxier()
        await r.start_proxier()
        mark = r.last_inform_id(dev_id)
        r.lab_device(dev_id).model.device_set({"/BBF/Time/NTPServer1": "after.restart"})
        # (The rig's Connection Request server has a new port: ConnectionRequestURL may
        # come as a "4 VALUE CHANGE" of its own first.)
        for _ in range(200):
            reported = [
                i["parameters"][name][0]
                for i in r.acs.store.informs(dev_id, after=mark)
                if name in i["parameters"] and any(c == "4 VALUE CHANGE" for c, _ in i["events"])
            ]
            if reported:
                break
            await asyncio.sleep(0.1)
        assert reported == ["after.restart"]


async def test_vendor_log_upload_through_the_proxy(tmp_path: Path) -> None:
    """TR-330 §4.4: Upload "2 Vendor Log File" → the log from the device's BMS LogURL is PUT
    to the ACS-given URL; the ACS gets TransferComplete (FaultCode 0) with "M Upload"."""
    received: list[bytes] = []

    async def put(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=201)

    app = web.Application()
    app.router.add_put("/upload/{name}", put)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with rig(tmp_path) as r:
            await r.start_proxier()
            dev_id = (await r.devices(1))[0]["id"]
            mark = r.last_inform_id(dev_id)
            up = await r.rpc(
                dev_id,
                {
                    "name": "Upload",
                    "commandKey": "log-1",
                    "fileType": "2 Vendor Log File",
                    "url": f"http://127.0.0.1:{port}/upload/log.txt",
                },
            )
            assert up["status"] == "done", up.get("result")
            done = await r.inform_with(dev_id, "7 TRANSFER COMPLETE", after=mark)
            assert ("M Upload", "log-1") in events_of(done)
            assert received and received[0], "the log reached the upload URL"
    finally:
        await runner.cleanup()
