"""The proxier daemon finds a TR-064 device by URL (`upnp.description_urls` accepting
tr64desc.xml) and serves it as a Virtual CWMP Device next to a UPnP DM one (issue 10)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

from proxier.config import Config, Tr064Login
from proxier.lab.server import DeviceConfig, LabConfig
from proxier.lab.tr064.server import Tr064LabServer, lab_mac
from tests.ports import free_port
from tests.virtual.rig import Rig, rig

PASSWORD = "lab-secret"


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
