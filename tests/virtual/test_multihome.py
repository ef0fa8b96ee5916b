"""Multi-homed devices and several logical devices in one physical device (TR-330 §4.1,
§4.1.1, Figure 5), end to end over real sockets: lab ACS ⇄ proxier ⇄ lab DM devices.

The lab serves its devices on extra loopback addresses at the same port (a device on two
interfaces, same port in LOCATION), and the proxier's description URLs point at both.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from proxier.api import Proxier
from proxier.lab.server import DeviceConfig, LabConfig
from tests.netns.fixtures import MakeLan
from tests.virtual.rig import Rig, rig
from tests.virtual.tasks import spa

HOSTS = ("127.0.0.2", "127.0.0.3")
NAME = "Device.Time.NTPServer1"


async def until(check: Callable[[], bool], what: str, within: float = 20.0) -> None:
    for _ in range(int(within / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def live_paths(proxier: Proxier, instance: int = 1) -> int:
    assert proxier.manager is not None
    return len(proxier.manager.paths(proxier.manager.devices[instance]).live)


def only_row(proxier: Proxier) -> dict[str, Any]:
    (row,) = proxier.virtual_devices()
    return row


async def notify_on(r: Rig, dev_id: str) -> None:
    """Notification=2 on NAME (TR-330 §4.6.5.2.1), so device-side changes reach the ACS."""
    attrs = await r.rpc(
        dev_id,
        spa(NAME, 2),
    )
    assert attrs["status"] == "done", attrs


async def gpv_serial(r: Rig, dev_id: str) -> str:
    gpv = await r.rpc(
        dev_id, {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.SerialNumber"]}
    )
    assert gpv["status"] == "done", gpv
    return str(gpv["result"]["parameterList"][0]["value"])


def assert_never_offline(caplog: pytest.LogCaptureFixture) -> None:
    offline = [
        rec.getMessage()
        for rec in caplog.records
        if rec.name == "proxier.virtual.device" and ": offline (" in rec.getMessage()
    ]
    assert offline == []


async def test_device_on_two_addresses_is_one_virtual_device_that_fails_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """TR-330 §4.1.1: the same UUID on two interfaces (same port in LOCATION) is ONE Virtual
    CWMP Device: one "0 BOOTSTRAP", no flapping between the two locations. When the address
    in use goes, the proxier fails over to the other without going offline and without any
    Inform (no Table 1 event); Connection Requests and device events keep working through
    it. When both are gone the device is offline: its Connection Requests answer 503 (TR-069
    Annex J.2.3)."""
    caplog.set_level(logging.INFO)
    async with rig(tmp_path) as r:
        for host in HOSTS:
            await r.lab.add_host(host)
        r.description_urls = [u for h in HOSTS for u in r.lab.description_urls_on(h)]
        proxier = await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        await until(lambda: live_paths(proxier) == 2, "both addresses seen")
        assert len(proxier.virtual_devices()) == 1
        first = await r.informs(dev_id)
        assert {"0 BOOTSTRAP", "1 BOOT"} <= {c for c, _ in first[0]["events"]}
        await notify_on(r, dev_id)
        # Both addresses keep answering every 0.2 s probe: the device stays where it is.
        assert proxier.manager is not None
        device = proxier.manager.devices[1]
        engine = device.engine
        location = only_row(proxier)["location"]
        mark = r.last_inform_id(dev_id)
        await asyncio.sleep(1.0)  # five probe rounds on each address
        assert device.engine is engine and only_row(proxier)["location"] == location
        assert r.acs.store.informs(dev_id, after=mark) == []

        # The address in use goes away: fail over to the other one, silently.
        gone = next(h for h in HOSTS if f"//{h}:" in location)
        other = next(h for h in HOSTS if h != gone)
        await r.lab.remove_host(gone)
        await until(lambda: f"//{other}:" in only_row(proxier)["location"], "failover")
        assert only_row(proxier)["online"]
        assert r.acs.store.informs(dev_id, after=mark) == []
        assert await gpv_serial(r, dev_id) == r.lab.devices[0].serial_number
        codes = {c for i in r.acs.store.informs(dev_id, after=mark) for c, _ in i["events"]}
        assert codes == {"6 CONNECTION REQUEST"}
        # Device events arrive through the other address too (GENA re-subscribed there).
        mark = r.last_inform_id(dev_id)
        r.lab.devices[0].model.device_set({"/BBF/Time/NTPServer1": "via.other"})
        change = await r.inform_with(dev_id, "4 VALUE CHANGE", after=mark)
        assert change["parameters"][NAME][0] == "via.other"
        assert_never_offline(caplog)
        assert len(proxier.virtual_devices()) == 1

        # The last address goes: now the device is offline.
        await r.lab.remove_host(other)
        await until(lambda: not only_row(proxier)["online"], "offline")
        assert "503" in await r.client.connection_request(dev_id)

        # Back on one address: online again, same virtual device, no BOOTSTRAP.
        mark = r.last_inform_id(dev_id)
        await r.lab.add_host(gone)
        await until(lambda: only_row(proxier)["online"], "back online")
        assert await gpv_serial(r, dev_id) == r.lab.devices[0].serial_number
        codes = {c for i in r.acs.store.informs(dev_id, after=mark) for c, _ in i["events"]}
        assert "0 BOOTSTRAP" not in codes and "1 BOOT" not in codes


async def test_alternative_address_going_away_changes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """TR-330 §4.1.1: losing the address the proxier does not use is no event at all: same
    location, no Inform, still answering Connection Requests."""
    caplog.set_level(logging.INFO)
    async with rig(tmp_path) as r:
        for host in HOSTS:
            await r.lab.add_host(host)
        r.description_urls = [u for h in HOSTS for u in r.lab.description_urls_on(h)]
        proxier = await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        await until(lambda: live_paths(proxier) == 2, "both addresses seen")
        location = only_row(proxier)["location"]
        spare = next(h for h in HOSTS if f"//{h}:" not in location)
        mark = r.last_inform_id(dev_id)
        await r.lab.remove_host(spare)
        await until(lambda: live_paths(proxier) == 1, "spare address expired")
        assert only_row(proxier)["location"] == location and only_row(proxier)["online"]
        assert r.acs.store.informs(dev_id, after=mark) == []
        assert await gpv_serial(r, dev_id) == r.lab.devices[0].serial_number
        assert_never_offline(caplog)


async def test_two_logical_devices_with_same_common_objects_are_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """TR-330 §4.1.1: two UPnP devices (different UUIDs) with the same Common Objects
    (OUI/ProductClass/SerialNumber) on one physical device are ONE Virtual CWMP Device: one
    "0 BOOTSTRAP"; the second UDN is an alternative path it fails over to when the first one
    stops answering, without going offline."""
    caplog.set_level(logging.INFO)
    same = {"serial_number": "LABSAME0001", "manufacturer_oui": "00D0CA"}
    config = LabConfig(devices=[DeviceConfig(**same), DeviceConfig(**same)])
    async with rig(tmp_path, devices=2, config=config) as r:
        proxier = await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        await until(lambda: live_paths(proxier) == 2, "both logical devices seen")
        (row,) = proxier.virtual_devices()
        assert sorted(row["udns"]) == sorted(d.udn for d in r.lab.devices)
        assert len(await r.client.devices()) == 1
        first = await r.informs(dev_id)
        assert len(first) == 1 and "0 BOOTSTRAP" in {c for c, _ in first[0]["events"]}
        assert any("another logical device of it" in rec.getMessage() for rec in caplog.records)
        # The logical device in use stops answering: the other one takes over.
        assert proxier.manager is not None
        device = proxier.manager.devices[row["instance"]]
        assert device.dm is not None
        primary = r.lab.device(device.dm.udn)
        backup = next(d for d in r.lab.devices if d is not primary)
        mark = r.last_inform_id(dev_id)
        primary.set_silent(True)
        await until(lambda: device.dm is not None and device.dm.udn == backup.udn, "failover")
        assert only_row(proxier)["online"]
        assert await gpv_serial(r, dev_id) == "LABSAME0001"
        codes = {c for i in r.acs.store.informs(dev_id, after=mark) for c, _ in i["events"]}
        assert codes == {"6 CONNECTION REQUEST"}
        assert_never_offline(caplog)


async def test_embedded_manageable_devices_with_own_identities_are_separate(
    tmp_path: Path,
) -> None:
    """TR-330 §4.1 Figure 5 (right): one root device holding two embedded ManageableDevices
    with different serial numbers is two Virtual CWMP Devices, each bootstrapping once, each
    answering for itself and each with its own events (a change on one notifies only it)."""
    async with rig(tmp_path, devices=2) as r:
        r.description_urls = [r.lab.group_description_url]
        proxier = await r.start_proxier()
        found = await r.devices(2)
        assert {d["deviceId"]["serialNumber"] for d in found} == {
            d.serial_number for d in r.lab.devices
        }
        assert len(proxier.virtual_devices()) == 2
        ids = {d["deviceId"]["serialNumber"]: d["id"] for d in found}
        for lab_device in r.lab.devices:
            dev_id = ids[lab_device.serial_number]
            informs = await r.informs(dev_id)
            assert "0 BOOTSTRAP" in {c for c, _ in informs[0]["events"]}
            assert await gpv_serial(r, dev_id) == lab_device.serial_number
        one, two = r.lab.devices
        await notify_on(r, ids[one.serial_number])
        await notify_on(r, ids[two.serial_number])
        marks = {s: r.last_inform_id(i) for s, i in ids.items()}
        two.model.device_set({"/BBF/Time/NTPServer1": "only.two"})
        change = await r.inform_with(
            ids[two.serial_number], "4 VALUE CHANGE", after=marks[two.serial_number]
        )
        assert change["parameters"][NAME][0] == "only.two"
        assert r.acs.store.informs(ids[one.serial_number], after=marks[one.serial_number]) == []


NO_COMMON_OBJECTS = LabConfig(
    devices=[
        DeviceConfig(overrides={"/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/SerialNumber": ""})
    ]
)
MACS = {"127.0.0.2": "00:11:22:00:00:02", "127.0.0.3": "00:11:22:00:00:03"}


@pytest.mark.parametrize(
    ("same_port", "macs", "expected"),
    [
        (True, MACS, 1),  # the guideline's resolution: same port in LOCATION
        (False, MACS, 2),  # same UUID, different MAC and port: appears twice
        (False, {}, 1),  # MAC unknown (IPv6, routed): never split on missing data
    ],
)
async def test_same_uuid_without_common_objects_follows_the_mac_and_port_rule(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    same_port: bool,
    macs: dict[str, str],
    expected: int,
) -> None:
    """TR-330 §4.1.1: where OUI/PC/SN are not available, the same UUID advertised behind
    different MAC addresses is modelled as different Virtual CWMP Devices, unless the device
    uses the same port in LOCATION on each interface. Loopback has no link layer, so the
    gateway's neighbour table (ARP) is replaced by a fixed map of the two addresses."""
    monkeypatch.setattr("proxier.virtual.manager.mac_of", lambda host: macs.get(host))
    async with rig(tmp_path, config=NO_COMMON_OBJECTS) as r:
        for host in HOSTS:
            await r.lab.add_host(host, None if same_port else 0)
        r.description_urls = [u for h in HOSTS for u in r.lab.description_urls_on(h)]
        proxier = await r.start_proxier()
        found = await r.devices(expected)
        assert proxier.manager is not None
        manager = proxier.manager
        await until(
            lambda: sum(len(manager.paths(d).live) for d in manager) == 2, "both paths placed"
        )
        assert len(proxier.virtual_devices()) == expected
        assert len(await r.client.devices()) == expected
        serials = {d["deviceId"]["serialNumber"] for d in found}
        # Fallback identity: the description's serialNumber, else the UUID (upnp.identity).
        lab_serial = r.lab.devices[0].serial_number or r.lab.devices[0].udn.removeprefix("uuid:")
        if expected == 1:
            assert serials == {lab_serial}
        else:  # the second interface's device is told apart by its MAC
            assert serials == {lab_serial, lab_serial + "-001122000002"} or serials == {
                lab_serial,
                lab_serial + "-001122000003",
            }
        for dev in found:
            informs = await r.informs(dev["id"])
            assert "0 BOOTSTRAP" in {c for c, _ in informs[0]["events"]}


async def test_acs_reboot_of_a_multi_homed_device_reports_one_boot(tmp_path: Path) -> None:
    """TR-330 Table 1 row "1 BOOT" on a device reachable at two addresses: the Reboot RPC's
    BMS::Reboot takes the device (not one interface) down; when it is back the ACS gets one
    Inform with "1 BOOT" + "M Reboot" (CommandKey) and no "0 BOOTSTRAP"; still one virtual
    device, reachable through both addresses again."""
    async with rig(tmp_path) as r:
        for host in HOSTS:
            await r.lab.add_host(host)
        r.description_urls = [u for h in HOSTS for u in r.lab.description_urls_on(h)]
        proxier = await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        await until(lambda: live_paths(proxier) == 2, "both addresses seen")
        r.lab.devices[0].faults.reboot_delay = 1.0
        mark = r.last_inform_id(dev_id)
        result = await r.rpc(dev_id, {"name": "Reboot", "commandKey": "mh-reboot"})
        assert result["status"] == "done", result
        boot = await r.inform_with(dev_id, "1 BOOT", after=mark)
        assert ("M Reboot", "mh-reboot") in {(c, k) for c, k in boot["events"]}
        await until(lambda: live_paths(proxier) == 2, "both addresses back")
        assert await gpv_serial(r, dev_id) == r.lab.devices[0].serial_number
        informs = r.acs.store.informs(dev_id, after=mark)
        codes = [c for i in informs for c, _ in i["events"]]
        assert codes.count("1 BOOT") == 1 and codes.count("M Reboot") == 1, informs
        assert "0 BOOTSTRAP" not in codes
        assert len(proxier.virtual_devices()) == 1


async def test_multi_homed_device_over_real_ssdp(netns_lan: MakeLan) -> None:
    """TR-330 §4.1.1 with real SSDP in a private namespace LAN: one device announcing the
    same UUID from two addresses (each its own LOCATION and lease) is one Virtual CWMP
    Device with one "0 BOOTSTRAP"; repeated alives on both change nothing; an ssdp:byebye
    (no announcement) from the address in use fails over without any Inform and a GPV
    still works; byebye from the last address → offline, Connection Request 503."""
    lan = netns_lan("cp")
    second = lan.addr("cp").rsplit(".", 1)[0] + ".21"
    await asyncio.to_thread(
        subprocess.run,
        ["ip", "-n", lan.ns("cp"), "addr", "add", f"{second}/24", "dev", "upnp0"],
        check=True,
        capture_output=True,
        timeout=20,
    )
    proc = await lan.python(
        "cp", "tests.netns.multihome_scenario", "--source", lan.addr("cp"), "--second", second
    )
    steps: dict[str, dict[str, Any]] = {}
    while True:
        line = await proc.expect(lambda s: s.startswith(("{", "DONE", "Traceback")), within=90)
        if not line.startswith("{"):
            if line != "DONE":
                await proc.stop()
            assert line == "DONE", "\n".join(proc.lines[-40:])
            break
        step = json.loads(line)
        steps[step["step"]] = step
    seen = steps["both-seen"]
    assert seen["paths"] == sorted([lan.addr("cp"), second])
    assert (seen["virtual_devices"], seen["acs_devices"], seen["udns"]) == (1, 1, True)
    assert len(seen["events"]) == 1
    assert {"0 BOOTSTRAP", "1 BOOT"} <= {code for code, _ in seen["events"][0]}
    assert steps["refreshes"] == {"step": "refreshes", "same_engine": True, "informs": []}
    failover = steps["failover"]
    assert failover["moved"] and failover["online"]
    assert failover["informs_before_gpv"] == []
    assert {code for events in failover["informs"] for code, _ in events} == {
        "6 CONNECTION REQUEST"
    }
    assert failover["serial"] == failover["expected_serial"]
    assert steps["offline"]["offline"] and "503" in steps["offline"]["cr"]
