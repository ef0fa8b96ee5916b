"""The proxier daemon finds a TR-064 device by URL (`upnp.description_urls` accepting
tr64desc.xml) and serves it as a Virtual CWMP Device next to a UPnP DM one (issue 10)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import ssl
import stat
from pathlib import Path
from typing import Any

from proxier.api import Proxier
from proxier.config import Config, Tr064Login
from proxier.lab.server import DeviceConfig, LabConfig
from proxier.lab.tr064.server import Tr064LabServer, lab_mac
from proxier.upnp.tls import dp_identity
from tests.control.bench import cli
from tests.ports import free_port
from tests.virtual.rig import Rig, rig

PASSWORD = "lab-secret"


async def refused_detail(proxier: Proxier, dev_id: str, within: float = 20.0) -> dict[str, Any]:
    """The device's security detail once its changed certificate was refused."""
    for _ in range(int(within / 0.1)):
        detail = proxier.dp.status(proxier.device(dev_id).record.udns)  # type: ignore[union-attr]
        if "device certificate changed" in detail.get("error", ""):
            return detail
        await asyncio.sleep(0.1)
    raise AssertionError(f"{dev_id}: certificate change not seen: {detail}")


class _Tr064Rig(Rig):
    def config(self) -> Config:
        login = Tr064Login(match="*", user="admin", password=PASSWORD)
        return dataclasses.replace(super().config(), tr064_logins=(login,))


async def test_tr064_device_by_url_next_to_a_dm_device(tmp_path: Path) -> None:
    """Discovery by URL (guide §3.1: http://fritz.box:49000/tr64desc.xml), identity
    (OUI-ProductClass-MAC), a Table 1 first discovery (0 BOOTSTRAP + 1 BOOT) and a GPV
    answered from the device through digest auth, beside a DM lab device."""
    async with rig(tmp_path) as base, Tr064LabServer(1, password=PASSWORD) as tr064:
        r = _Tr064Rig(base.acs, base.lab, base.state)
        r.description_urls = [*base.lab.description_urls, *tr064.description_urls]
        try:
            await r.start_proxier()
            found = await r.devices(2)
            mac = tr064.devices[0].mac
            (dev,) = [d for d in found if d["id"].endswith(mac)]
            assert dev["id"] == f"{mac[:6]}-FRITZ%21Box%207590%20%28lab%29-{mac}"
            first = await r.inform_with(dev["id"], "0 BOOTSTRAP")
            assert ["1 BOOT", ""] in first["events"]
            done = await r.rpc(
                dev["id"],
                {"name": "GetParameterValues", "parameterNames": ["Device.WiFi.SSID.1.SSID"]},
            )
            assert done["status"] == "done", done
            ssid = done["result"]["parameterList"][0]["value"]
            assert ssid == tr064.devices[0].state["wlan"][1]["SSID"]
        finally:
            await r.stop_proxier()
            await r.client.close()


async def test_device_with_dm_and_tr064_is_one_virtual_device(tmp_path: Path) -> None:
    """Issue 10: a device offering UPnP DM and TR-064 (two UDNs, one MAC) is one virtual
    device. UPnP DM wins for the objects its model has (DeviceInfo); TR-064 serves the
    mapped objects it lacks (Device.WiFi., Device.Hosts.)."""
    port = free_port()
    mac = lab_mac("proxier-lab", 0)
    dm_config = LabConfig(devices=[DeviceConfig(serial_number=mac)])
    async with rig(tmp_path, config=dm_config) as base:
        r = _Tr064Rig(base.acs, base.lab, base.state)
        r.description_urls = [
            *base.lab.description_urls,
            f"http://127.0.0.1:{port}/tr64desc.xml",
        ]
        try:
            await r.start_proxier()
            (dev,) = await r.devices(1)  # the DM device, before the TR-064 side answers
            assert dev["id"].endswith(mac)
            async with Tr064LabServer(1, password=PASSWORD, ports=(port,)) as tr064:
                names = ["Device.WiFi.SSID.1.SSID", "Device.DeviceInfo.SerialNumber"]
                done: dict[str, Any] = {}
                for _ in range(50):  # until the probe found the TR-064 side
                    done = await r.rpc(
                        dev["id"], {"name": "GetParameterValues", "parameterNames": names}
                    )
                    if done["status"] == "done":
                        break
                    await asyncio.sleep(0.2)
                assert done["status"] == "done", done
                got = {p["name"]: p["value"] for p in done["result"]["parameterList"]}
                assert got["Device.WiFi.SSID.1.SSID"] == tr064.devices[0].state["wlan"][1]["SSID"]
                assert got["Device.DeviceInfo.SerialNumber"] == mac  # from UPnP DM
                assert len(await r.client.devices()) == 1
        finally:
            await r.stop_proxier()
            await r.client.close()


async def test_restart_keeps_the_tr064_virtual_device(tmp_path: Path) -> None:
    """A proxier restart brings the TR-064 virtual device back as itself: same id, no
    second "0 BOOTSTRAP" (its store remembers), and it answers the ACS again."""
    async with rig(tmp_path, devices=0) as base, Tr064LabServer(1, password=PASSWORD) as tr064:
        r = _Tr064Rig(base.acs, base.lab, base.state)
        r.description_urls = list(tr064.description_urls)
        try:
            await r.start_proxier()
            (dev,) = await r.devices(1)
            await r.inform_with(dev["id"], "0 BOOTSTRAP")
            mark = r.last_inform_id(dev["id"])
            await r.stop_proxier()
            await r.start_proxier()
            gpv = {
                "name": "GetParameterValues",
                "parameterNames": ["Device.Hosts.HostNumberOfEntries"],
            }
            done: dict[str, Any] = {}
            for _ in range(50):  # until discovery re-attached it
                done = await r.rpc(dev["id"], gpv, wait=5)
                if done["status"] == "done":
                    break
                await asyncio.sleep(0.2)
            assert done["status"] == "done", done
            assert done["result"]["parameterList"][0]["value"] == "3"
            assert [d["id"] for d in await r.client.devices()] == [dev["id"]]
            later = r.acs.store.informs(dev["id"], after=mark)
            assert later and not any(["0 BOOTSTRAP", ""] in i["events"] for i in later)
        finally:
            await r.stop_proxier()
            await r.client.close()


async def test_one_pin_store_imports_tr064_pins_and_trust_repins(tmp_path: Path) -> None:
    """One pin store for DP and TR-064 devices: the old `state.dir/tr064-pins.json`
    (SHA-256 of the DER leaf) is imported once into `state.dir/dp/pins.json` (DP §2.3.2
    identities) and removed; the device whose imported pin matches comes online. Another
    certificate than the pinned one keeps it offline with the reason until `proxier devices
    trust ID`, which re-pins it and brings the device back (issue 10 trust on first use,
    issue 8 trust)."""
    async with rig(tmp_path, devices=0) as base, Tr064LabServer(1, password=PASSWORD) as tr064:
        r = _Tr064Rig(base.acs, base.lab, base.state)
        r.description_urls = list(tr064.description_urls)
        port = free_port()
        r.sections = {"api": {"enable": True, "port": port}}
        device = tr064.devices[0]
        pem = await asyncio.to_thread(
            ssl.get_server_certificate, ("127.0.0.1", device.security_port)
        )
        der = ssl.PEM_cert_to_DER_cert(pem)
        old = r.state / "tr064-pins.json"
        r.state.mkdir(mode=0o700, parents=True)
        old.write_text(json.dumps({device.udn: hashlib.sha256(der).hexdigest()}))
        pins_file = r.state / "dp" / "pins.json"
        try:
            await r.start_proxier()
            (dev,) = await r.devices(1)
            await r.inform_with(dev["id"], "0 BOOTSTRAP")
            assert not old.exists()
            assert json.loads(pins_file.read_text()) == {device.udn: dp_identity(der)}
            assert stat.S_IMODE(pins_file.stat().st_mode) == 0o600
            await r.stop_proxier()

            pins_file.write_text(json.dumps({device.udn: "1" * 8 + "-0000-5000-8000-" + "0" * 12}))
            proxier = await r.start_proxier()
            gpv = {
                "name": "GetParameterValues",
                "parameterNames": ["Device.Hosts.HostNumberOfEntries"],
            }
            (virtual,) = proxier.devices()
            detail = await refused_detail(proxier, virtual.id)
            assert not virtual.online and "run `proxier devices trust`" in detail["error"]
            token_file = r.state / "api-token"
            where = ("--api", f"http://127.0.0.1:{port}/api/", "--token-file", str(token_file))
            rc, out, err = await cli("devices", "trust", virtual.id, *where)
            assert rc == 0 and f'{virtual.id}: trust done {{"trusted": true}}' in out, err
            done = await r.rpc(dev["id"], gpv, wait=10)
            assert done["status"] == "done", done
            assert done["result"]["parameterList"][0]["value"] == "3"
            assert json.loads(pins_file.read_text()) == {device.udn: dp_identity(der)}
        finally:
            await r.stop_proxier()
            await r.client.close()


async def test_restarted_with_a_new_certificate_shows_offline_with_the_trust_hint(
    tmp_path: Path,
) -> None:
    """Issue 10 trust on first use, shown as DP:1 pinning shows it (issue 8): the lab TR-064
    device comes back on the same URL with a new certificate. Its description is plain HTTP,
    yet the virtual device stays offline; `proxier status`, the API and the console's data
    say "device certificate changed" with the `proxier devices trust` hint; nothing is sent
    to the ACS for it; `trust` (by the ACS's id) re-pins and brings it back online."""
    port, api_port = free_port(), free_port()
    async with rig(tmp_path, devices=0) as base:
        r = _Tr064Rig(base.acs, base.lab, base.state)
        r.description_urls = [f"http://127.0.0.1:{port}/tr64desc.xml"]
        r.sections = {"api": {"enable": True, "port": api_port}}
        where = (
            "--api",
            f"http://127.0.0.1:{api_port}/api/",
            "--token-file",
            str(r.state / "api-token"),
        )
        try:
            proxier = await r.start_proxier()
            async with Tr064LabServer(1, password=PASSWORD, ports=(port,)) as first:
                (dev,) = await r.devices(1)
                await r.inform_with(dev["id"], "0 BOOTSTRAP")
                udn = first.devices[0].udn
                assert udn in json.loads((r.state / "dp" / "pins.json").read_text())
            (virtual,) = proxier.devices()
            for _ in range(100):  # the old one went away: probes fail
                if not virtual.online:
                    break
                await asyncio.sleep(0.1)
            assert not virtual.online
            async with Tr064LabServer(1, password=PASSWORD, ports=(port,)) as second:
                assert second.devices[0].udn == udn  # the same device, a new certificate
                detail = await refused_detail(proxier, virtual.id)
                assert "device certificate changed: pinned" in detail["error"]
                assert "run `proxier devices trust` to accept it" in detail["error"]
                assert not virtual.online
                mark = r.last_inform_id(dev["id"])
                rc, out, err = await cli("status", *where)
                assert rc == 0, err
                assert "offline (device certificate changed: run `proxier devices trust ID`)" in out
                assert "error: device certificate changed: pinned" in out
                assert r.acs.store.informs(dev["id"], after=mark) == []  # nothing while refused
                rc, out, err = await cli("devices", "trust", dev["id"], *where)
                assert rc == 0 and "trust done" in out, (out, err)
                for _ in range(100):
                    if virtual.online:
                        break
                    await asyncio.sleep(0.1)
                assert virtual.online and proxier.dp.status(virtual.record.udns)["error"] == ""
                gpv = {
                    "name": "GetParameterValues",
                    "parameterNames": ["Device.Hosts.HostNumberOfEntries"],
                }
                done = await r.rpc(dev["id"], gpv, wait=10)
                assert done["status"] == "done", done
        finally:
            await r.stop_proxier()
            await r.client.close()
