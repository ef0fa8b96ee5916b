"""Issue 12 #13: devices with only BMS or only SMS (TR-330 §3.1 "at least one of BMS, CMS or
SMS", §4.1.1 "any UPnP device implementing one or more of the UPnP DM services") are proxied
end to end: lab ACS ⇄ proxier ⇄ `proxier lab` serving only that service, real sockets.

What the device offers works; what needs CMS answers the fault TR-330 Table 2 gives for the
CMS error a CMS-less device implies (`proxier/upnp/nocms.py`): a device parameter the ACS names
is not there (703 → 9005), nothing is writable (706 → 9008).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from proxier.lab.sms import make_image
from tests.virtual.rig import Rig, events_of, rig
from tests.virtual.tasks import add, fault, gpn, gpv, names, ok, spv, values

INFO = "Device.DeviceInfo."
PING = "Device.IP.Diagnostics.IPPing."


async def _first(r: Rig) -> tuple[str, Any]:
    await r.start_proxier()
    found = (await r.devices(1))[0]
    dev_id: str = found["id"]
    await r.informs(dev_id)
    return dev_id, found


async def whole_tree_is_readable(r: Rig, dev_id: str) -> dict[str, str]:
    """GetParameterNames of the root (NextLevel false) and GetParameterValues of the root
    agree: every parameter listed can be read (TR-069 A.3.2.3); the values by name."""
    listed, read = await r.session(dev_id, [gpn("Device.", False), gpv("Device.")])
    parameters = {n for n in names(listed) if not n.endswith(".")}
    got = {n: v for n, (v, _) in values(read).items()}
    assert parameters == set(got), parameters ^ set(got)
    return got


async def test_rule13_bms_only_device_is_proxied_reboot_diagnostics_deviceinfo(
    tmp_path: Path,
) -> None:
    """A BMS-only device becomes a Virtual CWMP Device whose DeviceId comes from its
    description (TR-330 §4.1.1 without Common Objects); DeviceInfo answers from the
    description and BMS (VendorLogFile, §4.4.1); IPPing (BMS::Ping) ends in
    "8 DIAGNOSTICS COMPLETE"; Reboot (BMS::Reboot) gives "1 BOOT" + "M Reboot". Device
    parameters are 9005, a write 9008, AddObject 9005, and Download (no SMS) 9000."""
    async with rig(tmp_path, services=("bms",)) as r:
        device = r.lab.devices[0]
        dev_id, found = await _first(r)
        assert found["deviceId"]["serialNumber"] == device.serial_number
        assert found["deviceId"]["productClass"] == "LabDM-2000"  # description modelName
        info, cms_param, write, new_row, firmware, ping = await r.session(
            dev_id,
            [
                gpv(INFO + "SerialNumber", INFO + "Manufacturer", INFO + "ProductClass"),
                gpv("Device.Time.NTPServer1"),
                spv("k", (INFO + "ProvisioningCode", "x", "xsd:string")),
                add("Device.NAT.PortMapping."),
                {
                    "name": "Download",
                    "commandKey": "fw",
                    "fileType": "1 Firmware Upgrade Image",
                    "url": "http://127.0.0.1:9/fw.bin",
                    "fileSize": 0,
                },
                spv(
                    "ping",
                    (PING + "Host", "127.0.0.1", "xsd:string"),
                    (PING + "NumberOfRepetitions", "2", "xsd:unsignedInt"),
                    (PING + "DiagnosticsState", "Requested", "xsd:string"),
                ),
            ],
        )
        got = values(info)
        tree = await whole_tree_is_readable(r, dev_id)
        assert tree[INFO + "SerialNumber"] == device.serial_number
        assert PING + "DiagnosticsState" in tree and "Device.Time.NTPServer1" not in tree
        assert tree[INFO + "VendorLogFileNumberOfEntries"] == str(len(device.bms.logs))
        assert got[INFO + "SerialNumber"][0] == device.serial_number
        assert got[INFO + "Manufacturer"][0] == "proxier lab"
        assert got[INFO + "ProductClass"][0] == "LabDM-2000"
        assert fault(cms_param)[0] == 9005
        assert fault(write) == (9003, [(INFO + "ProvisioningCode", 9008)])
        assert new_row["status"] == "fault" and new_row["result"]["faultCode"] == 9005
        assert firmware["status"] == "fault" and firmware["result"]["faultCode"] == 9000
        ok(ping)
        mark = r.last_inform_id(dev_id)
        await r.inform_with(dev_id, "8 DIAGNOSTICS COMPLETE", after=mark)
        result = values(await r.rpc(dev_id, gpv(PING)))
        assert result[PING + "DiagnosticsState"][0] == "Complete"
        assert int(result[PING + "SuccessCount"][0]) == 2
        device.faults.reboot_delay = 0.5
        mark = r.last_inform_id(dev_id)
        ok(await r.rpc(dev_id, {"name": "Reboot", "commandKey": "rb-bms"}))
        boot = await r.inform_with(dev_id, "1 BOOT", after=mark)
        assert ("M Reboot", "rb-bms") in events_of(boot)
        assert device.boot_id > 1


async def test_rule13_sms_only_device_is_proxied_firmware_and_software_version(
    tmp_path: Path,
) -> None:
    """An SMS-only device becomes a Virtual CWMP Device: a firmware Download (SMS::Update of
    DU 0) ends in "7 TRANSFER COMPLETE" + "M Download" with FaultCode 0, and
    DeviceInfo.SoftwareVersion (SMS GetDUInfo of DU 0, TR-330 §4.7.1) shows the new version.
    Without BMS, Reboot is 9000 (no reboot mechanism) and the BMS diagnostics are not in the
    data model (9005)."""
    async with rig(tmp_path, services=("sms",)) as r:
        device = r.lab.devices[0]
        dev_id, found = await _first(r)
        assert found["deviceId"]["serialNumber"] == device.serial_number
        url = r.lab.host_file("fw-3.bin", make_image("lab-fw", "3.0.0", b"y" * 512))
        before, reboot, ping, cms_param = await r.session(
            dev_id,
            [
                gpv(INFO + "SoftwareVersion", INFO + "SerialNumber"),
                {"name": "Reboot", "commandKey": "rb-sms"},
                gpv(PING + "DiagnosticsState"),
                gpv("Device.Time.NTPServer1"),
            ],
        )
        assert values(before)[INFO + "SerialNumber"][0] == device.serial_number
        tree = await whole_tree_is_readable(r, dev_id)
        assert not any(n.startswith("Device.IP.") for n in tree), "no BMS diagnostics"
        assert values(before)[INFO + "SoftwareVersion"][0] == device.sms.du_info(0).version
        assert reboot["status"] == "fault" and reboot["result"]["faultCode"] == 9000
        assert ping["status"] == "fault" and ping["result"]["faultCode"] == 9005
        assert cms_param["status"] == "fault" and cms_param["result"]["faultCode"] == 9005
        mark = r.last_inform_id(dev_id)
        download = {
            "name": "Download",
            "commandKey": "fw-3",
            "fileType": "1 Firmware Upgrade Image",
            "url": url,
            "fileSize": 0,
        }
        ok(await r.rpc(dev_id, download))
        done = await r.inform_with(dev_id, "7 TRANSFER COMPLETE", after=mark)
        assert ("M Download", "fw-3") in events_of(done)
        assert (await r.transfer_complete(dev_id, "fw-3"))["faultStruct"]["faultCode"] == 0
        after = values(await r.rpc(dev_id, gpv(INFO + "SoftwareVersion")))
        assert after[INFO + "SoftwareVersion"][0] == "3.0.0"
