"""TR-064 devices as Virtual CWMP Devices, end to end through the lab ACS (issue 10):
identity, auth, GPN/GPV/SPV on each mapped object, transactions, Hosts instance numbers,
Reboot, FactoryReset, Download, Upload, 606/866 faults and login back-off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.tr064.harness import Rig, tr064_rig


def values(done: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in done["result"]["parameterList"]}


def names(done: dict[str, Any]) -> dict[str, bool]:
    return {p["name"]: p["writable"] for p in done["result"]["parameterList"]}


async def test_identity_and_bootstrap_inform(tmp_path: Path) -> None:
    """Issue 10 identity: SerialNumber = MAC (serialNumber / UDN §5.1), OUI = its first three
    octets, ProductClass = modelName, Manufacturer from the description; forced Inform
    parameters read through DeviceInfo:GetInfo; HTTPS on the security port."""
    async with tr064_rig(tmp_path) as rig:
        device = rig.lab.devices[0]
        (first,) = rig.informs()
        assert rig.id == f"{device.mac[:6]}-FRITZ%21Box%207590%20%28lab%29-{device.mac}"
        assert [e[0] for e in first["events"]] == ["0 BOOTSTRAP", "1 BOOT"]
        params = first["parameters"]
        assert params["Device.DeviceInfo.SoftwareVersion"][0] == device.software_version
        assert rig.client.security_port == device.security_port
        assert rig.client.pins.pins  # pinned on first use


async def test_gpn_and_gpv_on_every_mapped_object(tmp_path: Path) -> None:
    """GPN/GPV per CWMP rules over mappings/tr064.toml: DeviceInfo, Time, Hosts, WiFi
    (keys write-only: GPV empty), DHCPv4 pool, Ethernet (stats read-only), the device's own
    ManagementServer, VendorLogFile.1."""
    async with tr064_rig(tmp_path) as rig:
        gpn = names(
            await rig.run(
                {"name": "GetParameterNames", "parameterPath": "Device.", "nextLevel": False}
            )
        )
        for name, writable in {
            "Device.WiFi.SSID.2.SSID": True,
            "Device.WiFi.AccessPoint.1.Security.KeyPassphrase": True,
            "Device.Ethernet.Interface.1.Stats.BytesSent": False,
            "Device.DHCPv4.Server.Pool.1.MinAddress": True,
            "Device.Hosts.Host.3.PhysAddress": False,
            "Device.X_AVM-DE_ManagementServer.URL": False,
            "Device.DeviceInfo.VendorLogFile.1.Name": False,
            "Device.Time.NTPServer1": True,
            "Device.ManagementServer.URL": True,
        }.items():
            assert gpn.get(name) == writable, name
        assert "Device.WiFi.Radio.3." not in gpn
        top = names(
            await rig.run(
                {"name": "GetParameterNames", "parameterPath": "Device.WiFi.", "nextLevel": True}
            )
        )
        assert "Device.WiFi.Radio." in top and "Device.WiFi.RadioNumberOfEntries" in top
        got = values(
            await rig.run(
                {
                    "name": "GetParameterValues",
                    "parameterNames": [
                        "Device.DeviceInfo.",
                        "Device.WiFi.",
                        "Device.DHCPv4.Server.Pool.1.",
                        "Device.Ethernet.Interface.1.",
                        "Device.Hosts.",
                        "Device.Time.NTPServer1",
                        "Device.X_AVM-DE_ManagementServer.URL",
                    ],
                }
            )
        )
        device = rig.lab.devices[0]
        assert got["Device.DeviceInfo.SerialNumber"] == device.mac
        assert got["Device.DeviceInfo.ProductClass"] == "FRITZ!Box 7590 (lab)"
        assert got["Device.WiFi.SSID.1.SSID"] == device.state["wlan"][1]["SSID"]
        assert got["Device.WiFi.AccessPoint.1.Security.KeyPassphrase"] == ""
        assert got["Device.WiFi.Radio.2.Enable"] == "true"
        assert got["Device.WiFi.RadioNumberOfEntries"] == "2"
        assert got["Device.DHCPv4.Server.Pool.1.MinAddress"] == "192.168.178.20"
        assert got["Device.Hosts.HostNumberOfEntries"] == "3"
        assert got["Device.Hosts.Host.1.HostName"] == "laptop"
        assert got["Device.Time.NTPServer1"] == "ntp.fritz.box"
        assert got["Device.X_AVM-DE_ManagementServer.URL"].startswith("https://")
        missing = await rig.run(
            {"name": "GetParameterValues", "parameterNames": ["Device.WiFi.SSID.9.SSID"]}
        )
        assert missing["status"] == "fault" and missing["result"]["faultCode"] == 9005


async def test_spv_is_one_transaction_on_each_writable_object(tmp_path: Path) -> None:
    """Guide §9: one SPV = X_GenerateUUID, ConfigurationStarted, the Set actions,
    ConfigurationFinished; a single parameter of a multi-input action keeps the others."""
    async with tr064_rig(tmp_path) as rig:
        done = await rig.run(
            {
                "name": "SetParameterValues",
                "parameterKey": "k1",
                "parameterList": [
                    ["Device.WiFi.SSID.2.SSID", "proxied-5g", "xsd:string"],
                    [
                        "Device.WiFi.AccessPoint.2.Security.KeyPassphrase",
                        "new-passphrase-1",
                        "xsd:string",
                    ],
                    ["Device.WiFi.Radio.1.Enable", "false", "xsd:boolean"],
                    ["Device.DHCPv4.Server.Pool.1.MaxAddress", "192.168.178.150", "xsd:string"],
                    ["Device.Ethernet.Interface.1.Enable", "0", "xsd:boolean"],
                    ["Device.Time.NTPServer2", "ntp.example.org", "xsd:string"],
                    ["Device.DeviceInfo.ProvisioningCode", "ACME.1", "xsd:string"],
                ],
            }
        )
        assert done["status"] == "done" and done["result"]["status"] == 0, done
        state = await rig.lab_state()
        assert state["wlan"]["2"]["SSID"] == "proxied-5g"
        assert state["wlan"]["2"]["KeyPassphrase"] == "new-passphrase-1"
        assert state["wlan"]["1"]["Enable"] == "0"
        assert state["dhcp"]["MaxAddress"] == "192.168.178.150"
        assert state["dhcp"]["MinAddress"] == "192.168.178.20"  # kept by SetAddressRange
        assert state["eth_enable"] == "0" and state["ntp"][0] == "ntp.fritz.box"
        assert state["provisioning_code"] == "ACME.1" and not state["transaction"]
        readonly = await rig.run(
            {
                "name": "SetParameterValues",
                "parameterKey": "k2",
                "parameterList": [["Device.DeviceInfo.UpTime", "1", "xsd:unsignedInt"]],
            }
        )
        assert readonly["result"]["faultCode"] == 9003
        assert readonly["result"]["setParameterValuesFault"][0]["faultCode"] == 9008


async def test_write_transaction_failing_halfway_rolls_back(tmp_path: Path) -> None:
    """Issue 10 Writes: the second Set action fails → the first is written back with its
    old value and the fault says so; the transaction is finished either way."""
    async with tr064_rig(tmp_path) as rig:
        await rig.lab_post("faults", {"fail_actions": ["LANHostConfigManagement:SetSubnetMask"]})
        done = await rig.run(
            {
                "name": "SetParameterValues",
                "parameterKey": "k",
                "parameterList": [
                    ["Device.DHCPv4.Server.Pool.1.MinAddress", "192.168.178.50", "xsd:string"],
                    ["Device.DHCPv4.Server.Pool.1.SubnetMask", "255.255.0.0", "xsd:string"],
                ],
            }
        )
        assert done["status"] == "fault" and done["result"]["faultCode"] == 9002
        assert "rolled back" in done["result"]["faultString"]
        state = await rig.lab_state()
        assert state["dhcp"]["MinAddress"] == "192.168.178.20"
        assert state["dhcp"]["SubnetMask"] == "255.255.255.0" and not state["transaction"]


async def test_hosts_instances_stay_with_their_mac(tmp_path: Path) -> None:
    """Hosts.Host.{i}: stable instance numbers by MAC even when the device's list order
    changes (a new host listed first) or a host leaves."""
    async with tr064_rig(tmp_path) as rig:
        gpv = {"name": "GetParameterValues", "parameterNames": ["Device.Hosts."]}
        before = values(await rig.run(gpv))
        await rig.lab_post(
            "hosts", {"add": {"MACAddress": "02:AA:BB:CC:DD:EE", "HostName": "newcomer"}, "at": 0}
        )
        await rig.lab_post("hosts", {"remove": before["Device.Hosts.Host.2.PhysAddress"]})
        after = values(await rig.run(gpv))
        assert after["Device.Hosts.Host.1.HostName"] == "laptop"
        assert after["Device.Hosts.Host.3.HostName"] == "phone"
        assert after["Device.Hosts.Host.4.HostName"] == "newcomer"
        assert "Device.Hosts.Host.2.HostName" not in after
        assert after["Device.Hosts.HostNumberOfEntries"] == "3"


async def test_reboot_and_factory_reset_raise_table1_events(tmp_path: Path) -> None:
    """Reboot → DeviceConfig:Reboot, then "1 BOOT" + "M Reboot" when it is back; FactoryReset
    → DeviceConfig:FactoryReset, then "0 BOOTSTRAP" + "1 BOOT" (TR-330 Table 1)."""
    async with tr064_rig(tmp_path) as rig:
        await rig.run({"name": "Reboot", "commandKey": "rb-1"})
        informs = await rig.acs.wait_for(
            lambda: [i for i in rig.informs() if ["M Reboot", "rb-1"] in i["events"]], 20.0
        )
        assert informs and ["1 BOOT", ""] in informs[0]["events"]
        assert (await rig.lab_state())["reboots"] == 1
        await rig.run(
            {
                "name": "SetParameterValues",
                "parameterKey": "x",
                "parameterList": [["Device.WiFi.SSID.1.SSID", "before-reset", "xsd:string"]],
            }
        )
        count = len(rig.informs())
        await rig.run({"name": "FactoryReset"})
        after = await rig.acs.wait_for(
            lambda: [i for i in rig.informs()[count:] if ["1 BOOT", ""] in i["events"]], 20.0
        )
        assert after, "no 1 BOOT once the device came back"
        assert any(["0 BOOTSTRAP", ""] in i["events"] for i in rig.informs()[count:])
        state = await rig.lab_state()
        assert state["resets"] == 1 and state["wlan"]["1"]["SSID"] != "before-reset"


async def download_firmware(rig: Rig, key: str) -> None:
    """A TR-069 Download of a firmware image, answered Status 1, then its TransferComplete
    (TR-069 A.3.2.8) without fault."""
    rig.files.images["fw.image"] = b"FRITZ!OS image"
    task = {
        "name": "Download",
        "commandKey": key,
        "fileType": "1 Firmware Upgrade Image",
        "url": rig.files.base + "/files/fw.image",
    }
    done = await rig.run(task)
    assert done["status"] == "done" and done["result"]["status"] == 1
    tcs = await rig.acs.wait_for(
        lambda: [r for r in rig.acs.store.cpe_requests(rig.id) if r["name"] == "TransferComplete"],
        25.0,
    )
    assert tcs and tcs[0]["body"]["commandKey"] == key
    assert tcs[0]["body"]["faultStruct"]["faultCode"] == 0


async def test_download_firmware_and_upload_log(tmp_path: Path) -> None:
    """Download "1 Firmware Upgrade Image" → X_AVM-DE_DoManualUpdate with the URL, then
    TransferComplete once SoftwareVersion changed; Upload "4 Vendor Log File 1" PUTs
    DeviceInfo:GetDeviceLog."""
    async with tr064_rig(tmp_path) as rig:
        old = rig.lab.devices[0].software_version
        await download_firmware(rig, "fw-1")
        assert rig.lab.devices[0].software_version != old
        up = await rig.run(
            {
                "name": "Upload",
                "commandKey": "log-1",
                "fileType": "4 Vendor Log File 1",
                "url": rig.files.base + "/upload/log.txt",
            }
        )
        assert up["status"] == "done"
        await rig.backend.settled()
        assert b"Firmware updated" in rig.files.uploads["log.txt"]


async def test_download_falls_back_to_do_update_without_manual_update(tmp_path: Path) -> None:
    """AVM UserInterface (x_userifSCPD): a FRITZ!OS without X_AVM-DE_DoManualUpdate updates
    from its own source with X_AVM-DE_DoUpdate (the Download URL cannot be passed), and the
    TR-069 Download still ends in a TransferComplete without fault once SoftwareVersion
    changed (TR-069 A.3.2.8; the device reboots into the new version)."""
    async with tr064_rig(tmp_path) as rig:
        old = rig.lab.devices[0].software_version
        await rig.lab_post("faults", {"hidden_actions": ["UserInterface:X_AVM-DE_DoManualUpdate"]})
        await rig.client.attach()  # the SCPDs of this (older) firmware
        assert not rig.client.offers("UserInterface:1", "X_AVM-DE_DoManualUpdate")
        assert rig.client.offers("UserInterface:1", "X_AVM-DE_DoUpdate")
        await download_firmware(rig, "fw-auto")
        assert rig.lab.devices[0].software_version != old
        device = rig.lab.devices[0]
        assert "update_url" not in device.state  # DoManualUpdate (with the URL) never ran
        assert "Firmware update started" in device.log  # DoUpdate did


async def test_second_factor_fault_says_what_to_do(tmp_path: Path) -> None:
    """Guide §4.3 / §6.1: an action behind 2FA answers 866 → CWMP 9001 telling the user to
    confirm on the device; once confirmed there, the same SPV succeeds."""
    async with tr064_rig(tmp_path) as rig:
        await rig.lab_post("faults", {"second_factor": ["WLANConfiguration:SetSSID"]})
        spv = {
            "name": "SetParameterValues",
            "parameterKey": "k",
            "parameterList": [["Device.WiFi.SSID.1.SSID", "needs-2fa", "xsd:string"]],
        }
        done = await rig.run(spv)
        assert done["status"] == "fault" and done["result"]["faultCode"] == 9001
        assert "confirm on the device" in done["result"]["faultString"]
        await rig.lab_post("2fa", {"action": "WLANConfiguration:SetSSID", "state": "confirm"})
        assert (await rig.run(spv))["status"] == "done"


@pytest.mark.parametrize("auth", ["content", "digest"])
async def test_auth_schemes_end_to_end(tmp_path: Path, auth: str) -> None:
    """§4.1 digest and §4.1.2 content-level auth both carry a whole GPV."""
    async with tr064_rig(tmp_path, auth=auth) as rig:
        got = values(
            await rig.run(
                {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.SerialNumber"]}
            )
        )
        assert got["Device.DeviceInfo.SerialNumber"] == rig.lab.devices[0].mac


async def test_missing_right_606_fault(tmp_path: Path) -> None:
    """§6.1: a user without the configuration right gets 606 → a 9001 fault naming the
    right and [[tr064.login]]."""
    async with tr064_rig(tmp_path, user="app") as rig:
        done = await rig.run(
            {
                "name": "GetParameterValues",
                "parameterNames": ["Device.DHCPv4.Server.Pool.1.MinAddress"],
            }
        )
        assert done["status"] == "fault" and done["result"]["faultCode"] == 9001
        assert "right" in done["result"]["faultString"]
        assert "[[tr064.login]]" in done["result"]["faultString"]


async def test_wrong_password_backs_off_without_a_storm(tmp_path: Path) -> None:
    """§4.1.1: a refused login backs off; more ACS requests do not hammer the device
    (no request reaches it during the back-off) and the fault says why."""
    async with tr064_rig(tmp_path, password="wrong") as rig:
        sent = rig.client.requests
        for _ in range(3):
            done = await rig.run(
                {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.UpTime"]}
            )
            assert done["status"] == "fault" and done["result"]["faultCode"] == 9002
            assert "not asking again" in done["result"]["faultString"]
        assert rig.client.requests == sent
        assert rig.lab.server(0).throttle.refused == 0
