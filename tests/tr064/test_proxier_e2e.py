"""The proxier daemon finds a TR-064 device by URL (`upnp.description_urls` accepting
tr64desc.xml) and serves it as a Virtual CWMP Device next to a UPnP DM one (issue 10)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from proxier.config import Config, Tr064Login
from proxier.lab.tr064.server import Tr064LabServer
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
