"""TR-330 Table 1 over real SSDP, run inside a test namespace (never in the host's).

    ip netns exec upnp-…-cp python -m tests.netns.table1_scenario --source 198.18.0.11

One process holds the lab ACS (loopback of the namespace), one lab DM device announcing on
the namespace's LAN address and the proxier discovering it by SSDP only (no description
URLs). It drives each lifecycle path with the lab device's knobs and prints one JSON line per
step with the Inform events the ACS saw, then "DONE". The pytest side checks the events.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
from typing import Any

from proxier.api import Proxier
from proxier.config import from_dict
from proxier.lab.server import LabServer
from proxier.labacs.client import LabAcsClient
from proxier.labacs.server import LabAcs, LabAcsConfig
from proxier.upnp.netns import in_private_netns

CR = ("t1-cr", "t1-cr-secret")


def report(step: str, informs: list[dict[str, Any]], **extra: Any) -> None:
    print(json.dumps({"step": step, "events": [i["events"] for i in informs], **extra}), flush=True)


async def scenario(source: str) -> None:
    state = tempfile.mkdtemp(prefix="proxier-t1-")
    acs_config = LabAcsConfig(port=0, cr_username=CR[0], cr_password=CR[1])
    async with (
        LabAcs(acs_config) as acs,
        LabServer(1, host=source, interface=source) as lab,
        LabAcsClient(acs.base_url) as client,
    ):
        device = lab.devices[0]
        device.faults.reboot_delay = 1.0
        config = from_dict(
            {
                "acs": {"url": acs.url},
                "connection_request": {"port": 0, "username": CR[0], "password": CR[1]},
                "upnp": {"interfaces": [source], "search_interval": 5},
                "state": {"dir": state},
                "privacy": {"mode": "auto"},  # proxied at once (default: approve)
                "api": {"enable": False},
            }
        )
        async with Proxier(config) as proxier:
            for _ in range(150):
                devices = await client.devices()
                if devices:
                    break
                await asyncio.sleep(0.1)
            dev_id = devices[0]["id"]
            first = await acs.wait_informs(dev_id, count=1, wait=10)
            report("first-discovery", first[:1])

            async def after(step: str, mark: int, count: int, **extra: Any) -> int:
                got = await acs.wait_informs(dev_id, after=mark, count=count, wait=20)
                report(step, got, **extra)
                return int(got[-1]["id"]) if got else mark

            mark = int(first[-1]["id"])
            # Device-initiated reboot: byebye + AboutToReboot, then alive → "1 BOOT" only.
            await device.reboot("AboutToReboot")
            mark = await after("device-reboot", mark, 1)
            # ACS Reboot RPC → BMS::Reboot → "1 BOOT" + "M Reboot" with its CommandKey.
            task = await client.run_task(dev_id, {"name": "Reboot", "commandKey": "ck-reboot"})
            mark = await after("acs-reboot", mark, 2, rpc=task["status"])
            # Baseline reset by another control point: AboutToBaselineReset → "0 BOOTSTRAP".
            await device.reboot("AboutToBaselineReset")
            mark = await after("baseline-reset", mark, 1)
            # Comes back elsewhere: new port, announced by alive → same virtual device works.
            moved = await lab.move(device)
            for _ in range(100):
                rows = proxier.virtual_devices()
                if rows and rows[0]["location"] == moved:
                    break
                await asyncio.sleep(0.1)
            gpv = await client.run_task(
                dev_id,
                {
                    "name": "GetParameterValues",
                    "parameterNames": ["Device.DeviceInfo.SerialNumber"],
                },
            )
            value = gpv.get("result", {}).get("parameterList", [{}])[0].get("value")
            rows = proxier.virtual_devices()
            print(
                json.dumps(
                    {
                        "step": "relocated",
                        "location": rows[0]["location"],
                        "moved": moved,
                        "serial": value,
                        "expected_serial": device.serial_number,
                        "virtual_devices": len(rows),
                    }
                ),
                flush=True,
            )
    print("DONE", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True, help="the namespace's LAN address")
    args = parser.parse_args()
    if not in_private_netns():
        print("refusing to run in the host network namespace", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(scenario(args.source))
    return 0


if __name__ == "__main__":
    sys.exit(main())
