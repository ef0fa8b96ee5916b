"""`proxier demo`: lab UPnP DM devices + the proxier + the lab ACS, on loopback, embedded defaults.

It shows the main job end to end: three lab devices are discovered through description URLs
(no multicast), each becomes a Virtual CWMP Device that bootstraps to the lab ACS, and the ACS
then runs GetParameterValues, SetParameterValues and AddObject against one of them, each
delivered by a Connection Request. One more lab device runs DeviceProtection (`--dps`,
carrier flow: a development CA signed the proxier's certificate and the device trusts that
CA), reached over mutual TLS at its SECURELOCATION; the demo shows its role (Admin). A
FRITZ!-style TR-064 lab device (issue 10) joins them and answers a GetParameterValues of its
Wi-Fi and DHCP settings. A last DP device (retail flow, issue 9) trusts nobody: the proxier
introduces itself by WPS push button, the demo presses the simulated button
(`POST /_lab/<udn>/press`) when the device asks, and the device grants Admin. Everything logs
to stderr; a summary goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from proxier.api import Proxier
from proxier.config import from_dict
from proxier.dp import certs
from proxier.lab.dp import DpSettings
from proxier.lab.server import LabConfig, LabServer
from proxier.lab.tr064.server import Tr064LabServer
from proxier.labacs.client import LabAcsClient
from proxier.labacs.server import LabAcs, LabAcsConfig
from proxier.logsafe import get_logger
from proxier.logsetup import setup_logging

log = get_logger("proxier.demo")

#: The demo's ACS↔CPE Connection Request credentials (loopback only, lab use).
DEMO_CR = ("demo-cr", "demo-cr-secret")
#: The TR-064 lab device's login (loopback only, lab use).
DEMO_TR064 = ("admin", "demo-tr064-secret")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--devices", type=int, default=3, help="lab devices to start (1-50)")
    parser.add_argument(
        "--serve", action="store_true", help="keep everything running after the demo steps"
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])


def _show(title: str, result: dict[str, Any]) -> None:
    print(f"\n== {title}: {result.get('status')}")
    body = result.get("result") or result.get("fault") or {}
    print(json.dumps(body, indent=2)[:4000])


async def wait_devices(client: LabAcsClient, count: int, within: float) -> list[dict[str, Any]]:
    """The ACS's device list once `count` devices are there, or whatever is there by then."""
    devices: list[dict[str, Any]] = []
    for _ in range(int(within / 0.2)):  # the ACS is polled over its REST API, as a user would
        devices = await client.devices()
        if len(devices) >= count:
            break
        await asyncio.sleep(0.2)
    return devices


NEXT_STEPS = """
== next steps
  proxier demo --serve                 keep this demo running and explore it
  proxier status --api URL             the virtual devices (URL: the local API above)
  proxier labacs devices --url URL     the lab ACS's view (URL: the lab ACS above)
  docs/lab.md, docs/labacs.md          your own lab devices and lab ACS
  README.md "Connection Request credentials", then `proxier run --config FILE --check`
                                       to bridge your own ACS"""


async def press_when_asked(lab: LabServer, within: float = 30.0) -> None:
    """Play the user: when the retail device asks for its WPS button (it NACKed the
    proxier's M2D), press it through the lab's control surface."""
    device = lab.devices[0]
    intro = device.protection.introduction if device.protection else None
    if intro is None:
        return
    for _ in range(int(within / 0.05)):
        run = intro.run
        if run is not None and not run.ready and run.m2d_uuid_r:
            break
        await asyncio.sleep(0.05)
    else:
        print("demo: the WPS device never asked for a button press", file=sys.stderr)
        return
    url = f"{lab.base_url}/_lab/{device.udn}/press"
    print(f"\n== WPS: {device.friendly_name} asks for its button; pressing it (POST {url})")
    async with aiohttp.ClientSession() as session, session.post(url) as response:
        response.raise_for_status()


async def introduced(proxier: Proxier, udn: str, within: float = 15.0) -> None:
    """Wait until the WPS run after the press has ended (it runs in the background)."""
    for _ in range(int(within / 0.1)):
        status = proxier.introducer.status.get(udn, "")
        if status == "introduced" or status.startswith("failed"):
            return
        await asyncio.sleep(0.1)


async def run_demo(devices: int, serve: bool) -> int:
    """The demo in a temporary state dir that is removed however the demo ends."""
    with tempfile.TemporaryDirectory(prefix="proxier-demo-") as state:
        return await _run_demo(devices, serve, state)


async def _run_demo(devices: int, serve: bool, state: str) -> int:
    cr_user, cr_pass = DEMO_CR
    acs_config = LabAcsConfig(port=0, cr_username=cr_user, cr_password=cr_pass)
    made = certs.init(Path(state) / "certs")  # carrier flow: dev CA + CA-signed proxier id
    dps = DpSettings(state_dir=Path(state) / "lab-dp", trust_ca=made["ca"])
    wps = DpSettings(state_dir=Path(state) / "lab-wps")  # retail: WPS push button
    tr064_user, tr064_pass = DEMO_TR064
    async with (
        LabAcs(acs_config) as acs,
        LabServer(devices) as lab,
        LabServer(1, dps=dps, config=LabConfig(seed="proxier-lab-dp")) as dp_lab,
        LabServer(1, dps=wps, config=LabConfig(seed="proxier-lab-wps")) as wps_lab,
        Tr064LabServer(1, user=tr064_user, password=tr064_pass) as tr064,
    ):
        print(f"lab ACS:      {acs.base_url}")
        for url in lab.description_urls:
            print(f"lab device:   {url}")
        secure = [d.secure_location for d in dp_lab.devices]
        for url in secure:
            print(f"lab DP device: {url} (DeviceProtection, mutual TLS)")
        retail = [d.secure_location for d in wps_lab.devices]
        for url in retail:
            print(f"lab DP device: {url} (DeviceProtection, WPS push button)")
        secure += retail
        devices += len(secure)
        for url in tr064.description_urls:
            print(f"TR-064 lab:   {url}")
        config = from_dict(
            {
                "acs": {"url": acs.url, "periodic_inform_interval": 3600},
                "connection_request": {"port": 0, "username": cr_user, "password": cr_pass},
                "upnp": {
                    "description_urls": [
                        *lab.description_urls,
                        *secure,
                        *tr064.description_urls,
                    ]
                },
                "state": {"dir": state},
                "api": {"port": 0, "console": serve, "lab_acs": acs.base_url if serve else ""},
                "tr064": {"login": [{"match": "*", "user": tr064_user, "password": tr064_pass}]},
                "dps": {
                    "certificate": str(made["certificate"]),
                    "key": str(made["key"]),
                    "introduction": "pbc",  # a DP device without Admin: WPS (issue 9)
                },
                "privacy": {"mode": "auto"},  # the demo proxies at once (default: approve, README)
            }
        )
        async with Proxier(config) as proxier, LabAcsClient(acs.base_url) as client:
            print(f"proxier:      state in {state}, local API port {proxier.local_api.port}")
            pressed = asyncio.create_task(press_when_asked(wps_lab))
            found = await wait_devices(client, devices + 1, within=30)
            await pressed
            await introduced(proxier, wps_lab.devices[0].udn)
            print(f"\n== {len(found)} virtual device(s) registered at the lab ACS")
            for dev in found:
                print(f"  {dev['id']}  CR {dev.get('connectionRequestUrl', '')}")
            if len(found) < devices + 1:
                print("demo: not every lab device appeared at the ACS", file=sys.stderr)
                return 1
            fritz = [d["id"] for d in found if d["id"].endswith(tr064.devices[0].mac)]
            first = next(d["id"] for d in found if d["id"] not in fritz)
            gpv = await client.run_task(
                first,
                {
                    "name": "GetParameterValues",
                    "parameterNames": [
                        "Device.DeviceInfo.SerialNumber",
                        "Device.DeviceInfo.SoftwareVersion",
                        "Device.DeviceInfo.ProxierInfo.",
                    ],
                },
            )
            _show(f"GetParameterValues on {first}", gpv)
            spv = await client.run_task(
                first,
                {
                    "name": "SetParameterValues",
                    "parameterList": [
                        ["Device.DeviceInfo.ProvisioningCode", "DEMO-1", "xsd:string"]
                    ],
                    "parameterKey": "demo-1",
                },
            )
            _show("SetParameterValues Device.DeviceInfo.ProvisioningCode", spv)
            add = await client.run_task(
                first,
                {
                    "name": "AddObject",
                    "objectName": "Device.NAT.PortMapping.",
                    "parameterKey": "demo-2",
                },
            )
            _show("AddObject Device.NAT.PortMapping.", add)
            fritz_gpv = await client.run_task(
                fritz[0],
                {
                    "name": "GetParameterValues",
                    "parameterNames": [
                        "Device.DeviceInfo.ModelName",
                        "Device.WiFi.SSID.",
                        "Device.DHCPv4.Server.Pool.1.MinAddress",
                    ],
                },
            )
            _show(f"GetParameterValues on the TR-064 device {fritz[0]}", fritz_gpv)
            table = proxier.virtual_devices()
            print(f"\n== proxier VirtualDevice table: {len(table)} row(s)")
            for row in table:
                state_word = "online" if row["online"] else "offline"
                sec = proxier.dp.status(row["udns"])
                roles = " ".join(sec.get("roles", [])) or "-"
                wps_text = proxier.introducer.status_for(row["udns"]).get("introduction")
                intro = f", WPS {wps_text}" if wps_text else ""
                print(
                    f"  {row['instance']}: {row['id']} ({state_word}) "
                    f"security {sec['state']} roles {roles}{intro}"
                )
            print(f"proxier DP identity: {proxier.dp.identity.identity}")
            ok = all(r.get("status") == "done" for r in (gpv, spv, add, fritz_gpv))
            print(NEXT_STEPS)
            if serve:
                print(f"\nconsole:      {console_url(proxier)}")
                print("serving; Ctrl-C to stop", flush=True)
                await asyncio.Event().wait()
            return 0 if ok else 1


def console_url(proxier: Proxier) -> str:
    """The lab console's address with the API token in the fragment (never sent to a
    server, never logged; the page keeps it for its API calls). Printed for the user only."""
    base = proxier.local_api.urls[0].removesuffix("/api/")
    return f"{base}/console/#token={proxier.local_api.token}"


def main(args: argparse.Namespace) -> int:
    setup_logging(args.log_level)
    if not 1 <= args.devices <= 50:
        print("proxier demo: --devices must be between 1 and 50", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run_demo(args.devices, args.serve))
    except KeyboardInterrupt:
        return 130
