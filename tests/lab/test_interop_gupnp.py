"""An independent UPnP stack (GUPnP 1.6) discovers, calls and subscribes to our lab device.

Issue 3 "Done when" (interop); UDA §1 (SSDP), §3 (SOAP), §4 (GENA: GUPnP rejects NOTIFYs
whose SID lacks `uuid:` and ignores TIMEOUT without `Second-`, so this also checks our GENA
headers). Runs only inside private namespaces with GUPnP installed.
"""

from __future__ import annotations

import sys

import pytest

from tests.netns.fixtures import MakeLan

pytestmark = pytest.mark.netns

CHANGE = """
import asyncio, aiohttp, sys
async def main():
    async with aiohttp.ClientSession() as s:
        async with s.post(sys.argv[1], json={sys.argv[2]: "changed-by-device"}) as r:
            print("SET", r.status, flush=True)
asyncio.run(main())
"""


async def test_gupnp_control_point_drives_the_lab(netns_lan: MakeLan, gupnp: None) -> None:
    lan = netns_lan("cp", "dev")
    lab = await lan.python("dev", "proxier", "lab", "--devices", "1", "--interface", "upnp0")
    url = await lab.expect(lambda line: line.startswith("http://"))
    udn = url.split("/dev/", 1)[1].split("/", 1)[0]
    cp = await lan.spawn(
        "cp",
        "/usr/bin/python3",
        "tests/peers/gupnp_cp.py",
        "--iface",
        "upnp0",
        "--events",
        "1",
        "--get-path",
        "/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/",
        "--set-path",
        "/UPnP/DM/Configuration/Network/HostName",
        "--timeout",
        "60",
        name="gupnp-cp",
    )
    await cp.expect(lambda line: line.startswith("OK SOAP GetValues") and "SerialNumber" in line)
    await cp.expect(lambda line: line == "OK SOAP SetValues -> Status='ChangesApplied'")
    await cp.expect(lambda line: line.startswith("OK event #1 ConfigurationUpdate"), within=55)
    # Subscribed: now the device changes an EventOnChange parameter by itself.
    control = url.split("/dev/", 1)[0] + f"/_lab/{udn}/set"
    path = "/UPnP/DM/DeviceInfo/FriendlyName"
    setter = await lan.spawn("dev", sys.executable, "-c", CHANGE, control, path, name="set")
    await setter.expect(lambda line: line == "SET 200")
    await cp.expect(lambda line: line.startswith("OK event #2 ConfigurationUpdate"), within=20)
    assert await cp.exited(20) == 0
