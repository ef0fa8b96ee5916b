"""End to end over real sockets, lab ACS ⇄ proxier ⇄ lab device: firmware updates started by
ANOTHER UPnP control point reach the ACS as "10 AUTONOMOUS TRANSFER COMPLETE" +
AutonomousTransferComplete (TR-330 §4.7.1.3, Table 1 row 10) as the virtual device's
ManagementServer.AutonomousTransferCompletePolicy says, even across a proxier restart; the
ACS's own Download stays "7 TRANSFER COMPLETE"; and the VendorLogFile table (§4.4.1) is
part of the virtual device's data model."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from proxier.lab.sms import make_image
from proxier.upnp.client import NetworkDmDevice, SoapTransport
from proxier.upnp.description import describe
from tests.virtual.rig import Rig, events_of, rig

TEN = "10 AUTONOMOUS TRANSFER COMPLETE"
FIRMWARE = "1 Firmware Upgrade Image"
POLICY = "Device.ManagementServer.AutonomousTransferCompletePolicy."
LOGS = "Device.DeviceInfo.VendorLogFile."


def policy(enable: bool, **leaves: str) -> dict[str, Any]:
    params = [[POLICY + "Enable", "true" if enable else "false", "xsd:boolean"]]
    params += [[POLICY + leaf, value, "xsd:string"] for leaf, value in leaves.items()]
    return {"name": "SetParameterValues", "parameterList": params, "parameterKey": "atc"}


@asynccontextmanager
async def other_control_point(r: Rig, dev_id: str) -> AsyncIterator[NetworkDmDevice]:
    """A second UPnP control point (our own client, not the proxier) on the lab device."""
    async with aiohttp.ClientSession() as session:
        result = await describe(session, r.lab_device(dev_id).description_url)
        assert result.devices, result.skipped
        yield NetworkDmDevice.from_description(result.devices[0], SoapTransport(session))


async def update_firmware(r: Rig, dev_id: str, url: str) -> int:
    """SMS::Update on DU 0 by the other control point; returns when the device finished it."""
    async with other_control_point(r, dev_id) as cp:
        assert cp.sms is not None
        op_id = await cp.sms.update(0, url, False)
    await finished(r, dev_id, op_id)
    return op_id


async def finished(r: Rig, dev_id: str, op_id: int) -> None:
    ops = r.lab_device(dev_id).sms.ops
    for _ in range(200):
        if ops[op_id].state not in ("Requested", "InProgress"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"operation {op_id} still {ops[op_id].state}")


async def autonomous_completes(r: Rig, dev_id: str, count: int) -> list[dict[str, Any]]:
    """The AutonomousTransferComplete bodies the ACS received, once there are `count`."""
    found: list[dict[str, Any]] = []
    for _ in range(300):
        found = [
            c["body"]
            for c in r.acs.store.cpe_requests(dev_id)
            if c["name"] == "AutonomousTransferComplete"
        ]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{len(found)} AutonomousTransferComplete(s), expected {count}")


async def not_reported(caplog: pytest.LogCaptureFixture, before: int) -> None:
    """Wait for the engine's verdict on a transfer the policy filters out (its log line)."""
    for _ in range(300):
        if any("not reported" in rec.getMessage() for rec in caplog.records[before:]):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the autonomous transfer was never judged by the policy")


async def test_other_control_points_update_follows_the_policy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """TR-330 §4.7.1.3 steps 1-7, Table 1 row 10, TR-069 A.3.3.3: with the policy at its
    default (disabled) another control point's firmware update is not sent; a FileTypeFilter
    without firmware or a TransferTypeFilter "Upload" keeps it back too; once the ACS
    enabled it for downloads of firmware, the update gives an Inform
    with "10 AUTONOMOUS TRANSFER COMPLETE" and AutonomousTransferComplete (AnnounceURL "",
    TransferURL = the DU 0 URI, IsDownload true, "1 Firmware Upgrade Image", FaultCode 0);
    a failed update carries the Table 3 fault (Error_CorruptedFile → 9018)."""
    caplog.set_level(logging.INFO, logger="proxier.cwmp.engine")
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        lab = r.lab

        kept_back = [
            None,  # the default: disabled
            policy(True, FileTypeFilter="3 Vendor Configuration File"),
            policy(True, TransferTypeFilter="Upload"),
        ]
        for n, setting in enumerate(kept_back):
            if setting is not None:
                done = await r.rpc(dev_id, setting)
                assert done["status"] == "done", done
            mark = len(caplog.records)
            image = make_image("fw", f"2.{n}")
            await update_firmware(r, dev_id, lab.host_file(f"{n}.bin", image))
            await not_reported(caplog, mark)
            reset = policy(False, TransferTypeFilter="Both", FileTypeFilter=FIRMWARE)
            done = await r.rpc(dev_id, reset)
            assert done["status"] == "done", done

        done = await r.rpc(
            dev_id, policy(True, TransferTypeFilter="Download", FileTypeFilter=FIRMWARE)
        )
        assert done["status"] == "done", done
        assert [c for c in r.acs.store.cpe_requests(dev_id) if c["name"] != "Inform"] == []
        assert all(TEN not in dict(i["events"]) for i in r.acs.store.informs(dev_id))

        mark = r.last_inform_id(dev_id)
        url = lab.host_file("c.bin", make_image("fw", "3.0"))
        await update_firmware(r, dev_id, url)
        inform = await r.inform_with(dev_id, TEN, after=mark)
        assert (TEN, "") in events_of(inform)
        (atc,) = await autonomous_completes(r, dev_id, 1)
        assert (atc["announceUrl"], atc["transferUrl"]) == ("", url)
        assert (atc["isDownload"], atc["fileType"]) == (True, FIRMWARE)
        assert (atc["fileSize"], atc["targetFileName"]) == (0, "")
        assert atc["faultStruct"]["faultCode"] == 0
        assert atc["startTime"] <= atc["completeTime"]

        mark = r.last_inform_id(dev_id)
        await update_firmware(r, dev_id, lab.host_file("bad.bin", b"not an image"))
        await r.inform_with(dev_id, TEN, after=mark)
        failed = (await autonomous_completes(r, dev_id, 2))[1]
        assert failed["faultStruct"]["faultCode"] == 9018
        assert failed["faultStruct"]["faultString"]
        version = await r.rpc(
            dev_id,
            {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.SoftwareVersion"]},
        )
        assert version["result"]["parameterList"][0]["value"] == "3.0"


async def test_acs_download_is_not_autonomous(tmp_path: Path) -> None:
    """TR-330 §4.7.1.3 step 2 ("not requested … via the ACS") and Table 1 row 7: with the
    policy enabled, the ACS's own Download still ends with "7 TRANSFER COMPLETE" +
    "M Download" and a TransferComplete, and no AutonomousTransferComplete is sent for it."""
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        assert (await r.rpc(dev_id, policy(True)))["status"] == "done"
        mark = r.last_inform_id(dev_id)
        url = r.lab.host_file("fw.bin", make_image("fw", "4.0"))
        download = await r.rpc(
            dev_id,
            {"name": "Download", "commandKey": "acs-fw", "fileType": FIRMWARE, "url": url},
        )
        assert download["status"] == "done", download.get("result")
        done = await r.inform_with(dev_id, "7 TRANSFER COMPLETE", after=mark)
        assert ("M Download", "acs-fw") in events_of(done)
        # Another session after it: anything the proxier still had to send went there.
        await r.rpc(
            dev_id,
            {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.SoftwareVersion"]},
        )
        names = [c["name"] for c in r.acs.store.cpe_requests(dev_id)]
        assert "TransferComplete" in names and "AutonomousTransferComplete" not in names
        assert all(TEN not in dict(i["events"]) for i in r.acs.store.informs(dev_id))


@asynccontextmanager
async def gated_image(image: bytes) -> AsyncIterator[tuple[str, asyncio.Event]]:
    """An image server whose answer (and so the device's update) waits for the gate."""
    gate = asyncio.Event()

    async def serve(_request: web.Request) -> web.Response:
        await gate.wait()
        return web.Response(body=image)

    app = web.Application()
    app.router.add_get("/fw.bin", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/fw.bin", gate
    finally:
        gate.set()
        await runner.cleanup()


async def start_tracked_update(r: Rig, dev_id: str, url: str) -> int:
    """Another control point starts an update; returns once the proxier has recorded it in
    the virtual device's state (what a restart or a device reboot must not lose)."""
    async with other_control_point(r, dev_id) as cp:
        assert cp.sms is not None
        op_id = await cp.sms.update(0, url, False)
    assert r.proxier is not None
    store = r.proxier.devices()[0].store
    for _ in range(200):
        if store.kv_items("tr330.firmware.operation."):
            return op_id
        await asyncio.sleep(0.05)
    raise AssertionError("the proxier never tracked the update")


async def test_update_finishing_while_the_proxier_is_down_is_reported_after_restart(
    tmp_path: Path,
) -> None:
    """TR-330 §4.7.1.3 with Table 7 ("10 AUTONOMOUS TRANSFER COMPLETE" is never discarded
    undelivered): the proxier saw another control point start a firmware update, was
    stopped, the update finished meanwhile; the restarted proxier reports it (in whichever
    of its sessions can carry it, A.3.3.3)."""
    async with gated_image(make_image("fw", "5.0")) as (url, gate), rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        assert (await r.rpc(dev_id, policy(True)))["status"] == "done"
        op_id = await start_tracked_update(r, dev_id, url)
        await r.stop_proxier()
        mark = r.last_inform_id(dev_id)
        gate.set()
        await finished(r, dev_id, op_id)
        await r.start_proxier()
        (atc,) = await autonomous_completes(r, dev_id, 1)
        assert (atc["transferUrl"], atc["faultStruct"]["faultCode"]) == (url, 0)
        # Delivered after the restart (in its first session, or one of its own).
        requests = r.acs.store.cpe_requests(dev_id)
        (sent,) = [c for c in requests if c["name"] == "AutonomousTransferComplete"]
        after = {i["session"] for i in r.acs.store.informs(dev_id, after=mark)}
        assert sent["session"] in after


async def test_update_lost_in_a_device_reboot_is_reported_as_failed(tmp_path: Path) -> None:
    """TR-330 §4.7.1.3 step 4 note and §4.7.1 exception 2: the device rebooted during another
    control point's update and forgot the OperationID; its DU 0 version did not change, so
    the Inform carries "10 AUTONOMOUS TRANSFER COMPLETE" and the AutonomousTransferComplete
    Table 3's fault for an unknown result (9001), with a FaultString saying it was lost."""
    async with gated_image(make_image("fw", "6.0")) as (url, _gate), rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        assert (await r.rpc(dev_id, policy(True)))["status"] == "done"
        lab_device = r.lab_device(dev_id)
        lab_device.faults.reboot_delay = 1.0
        op_id = await start_tracked_update(r, dev_id, url)
        mark = r.last_inform_id(dev_id)
        await lab_device.reboot()
        assert op_id not in lab_device.sms.ops
        await r.inform_with(dev_id, TEN, after=mark)
        (atc,) = await autonomous_completes(r, dev_id, 1)
        assert atc["faultStruct"]["faultCode"] == 9001
        assert "lost" in atc["faultStruct"]["faultString"]
        assert atc["startTime"] <= atc["completeTime"]
        assert lab_device.sms.dus[0].version == "1.0.0"


async def test_vendor_log_files_are_in_the_data_model(tmp_path: Path) -> None:
    """TR-330 §4.4.1: one Device.DeviceInfo.VendorLogFile.{i}. per BMS LogURI, listed by
    GetParameterNames (NextLevel true and false) beside the device's DeviceInfo and read by
    GetParameterValues: Name (internal path, ≤ 64 chars), MaximumSize = GetLogInfo MaxSize,
    Persistent false, VendorLogFileNumberOfEntries; all read-only (TR-069 A.3.2.3)."""
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        logs = r.lab_device(dev_id).bms.logs
        logs["boot"].max_size = 4096

        async def gpn(path: str, next_level: bool) -> dict[str, bool]:
            got = await r.rpc(
                dev_id,
                {"name": "GetParameterNames", "parameterPath": path, "nextLevel": next_level},
            )
            assert got["status"] == "done", got.get("result")
            return {p["name"]: p["writable"] for p in got["result"]["parameterList"]}

        info = await gpn("Device.DeviceInfo.", True)
        assert {LOGS, "Device.DeviceInfo.VendorLogFileNumberOfEntries"} <= set(info)
        assert "Device.DeviceInfo.SerialNumber" in info  # the device's own DeviceInfo stays
        rows = await gpn(LOGS, True)
        assert set(rows) == {f"{LOGS}{i}." for i in range(1, len(logs) + 1)}
        assert set(await gpn(LOGS + "1.", True)) == {
            LOGS + "1.Name",
            LOGS + "1.MaximumSize",
            LOGS + "1.Persistent",
        }
        everything = await gpn("Device.", False)
        assert LOGS + "2.MaximumSize" in everything
        assert not any(w for n, w in everything.items() if n.startswith(LOGS))

        got = await r.rpc(dev_id, {"name": "GetParameterValues", "parameterNames": [LOGS]})
        values = {p["name"]: p["value"] for p in got["result"]["parameterList"]}
        names = {values[f"{LOGS}{i}.Name"] for i in range(1, len(logs) + 1)}
        assert all(n.startswith("/upnp-dm/log/") and len(n) <= 64 for n in names)
        assert {n.rsplit("/", 1)[-1] for n in names} == set(logs)
        sizes = {values[f"{LOGS}{i}.MaximumSize"] for i in range(1, len(logs) + 1)}
        assert sizes == {str(rec.max_size) for rec in logs.values()}
        assert values[LOGS + "1.Persistent"] in ("0", "false")
        count = await r.rpc(
            dev_id,
            {
                "name": "GetParameterValues",
                "parameterNames": ["Device.DeviceInfo.VendorLogFileNumberOfEntries"],
            },
        )
        assert count["result"]["parameterList"][0]["value"] == str(len(logs))
        spv = await r.rpc(
            dev_id,
            {
                "name": "SetParameterValues",
                "parameterList": [[LOGS + "1.MaximumSize", "1", "xsd:unsignedInt"]],
                "parameterKey": "ro",
            },
        )
        assert spv["status"] == "fault" and spv["result"]["faultCode"] == 9003, spv
        assert spv["result"]["setParameterValuesFault"][0]["faultCode"] == 9008
