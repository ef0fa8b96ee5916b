"""A multi-homed device over real SSDP (TR-330 §4.1.1), run inside a test namespace.

    ip netns exec upnp-…-cp python -m tests.netns.multihome_scenario --source A --second B

The namespace's LAN interface carries two addresses. The same lab device (same UUID and
Common Objects) announces on each with its own LOCATION, as a device with two interfaces
does; the proxier discovers by SSDP only. Steps, one JSON line each, then "DONE": both paths
seen (one virtual device, its first Inform), both keep announcing (nothing happens), the
address in use says ssdp:byebye (fail over, no Inform, a GPV still works), the other says
byebye too (offline: Connection Request refused with 503).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from proxier.api import Proxier
from proxier.config import from_dict
from proxier.lab.server import LabConfig, LabServer
from proxier.labacs.client import LabAcsClient
from proxier.labacs.server import LabAcs, LabAcsConfig
from proxier.upnp.netns import in_private_netns

CR = ("mh-cr", "mh-cr-secret")


def report(step: str, **data: Any) -> None:
    print(json.dumps({"step": step, **data}), flush=True)


async def until(check: Callable[[], bool], within: float = 20.0) -> bool:
    for _ in range(int(within / 0.05)):
        if check():
            return True
        await asyncio.sleep(0.05)
    return False


async def scenario(source: str, second: str) -> None:
    state = tempfile.mkdtemp(prefix="proxier-mh-")
    acs_config = LabAcsConfig(port=0, cr_username=CR[0], cr_password=CR[1])
    same = LabConfig(seed="multihome")  # same seed: same UUID and serial on both interfaces
    async with (
        LabAcs(acs_config) as acs,
        LabServer(1, host=source, interface=source, config=same) as lab_a,
        LabServer(1, host=second, interface=second, config=LabConfig(seed="multihome")) as lab_b,
        LabAcsClient(acs.base_url) as client,
    ):
        labs = {source: lab_a, second: lab_b}
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
            manager = proxier.manager
            assert manager is not None

            def paths() -> list[str]:
                return [p.via for d in manager for p in manager.paths(d).live]

            def row() -> dict[str, Any]:
                return proxier.virtual_devices()[0]

            devices: list[dict[str, Any]] = []
            for _ in range(150):
                devices = await client.devices()
                if devices:
                    break
                await asyncio.sleep(0.1)
            dev_id = devices[0]["id"]
            await until(lambda: len(paths()) == 2)
            first = await acs.wait_informs(dev_id, count=1, wait=10)
            report(
                "both-seen",
                paths=sorted(paths()),
                virtual_devices=len(proxier.virtual_devices()),
                acs_devices=len(await client.devices()),
                udns={lab.devices[0].udn for lab in labs.values()} == set(row()["udns"]),
                events=[i["events"] for i in first],
            )
            mark = int(first[-1]["id"])

            # Both interfaces keep announcing: leases refresh, nothing else happens.
            device = manager.devices[row()["instance"]]
            engine = device.engine
            for _ in range(3):
                for lab in labs.values():
                    lab.devices[0].ssdp.alive(lab.devices[0])
                await asyncio.sleep(0.2)
            report(
                "refreshes",
                same_engine=device.engine is engine,
                informs=[i["events"] for i in acs.store.informs(dev_id, after=mark)],
            )

            # The interface in use says goodbye: the other one takes over silently.
            location = row()["location"]
            gone = source if f"//{source}:" in location else second
            other = second if gone == source else source
            await labs[gone].stop()
            moved = await until(lambda: f"//{other}:" in row()["location"])
            quiet = [i["events"] for i in acs.store.informs(dev_id, after=mark)]
            gpv = await client.run_task(
                dev_id,
                {
                    "name": "GetParameterValues",
                    "parameterNames": ["Device.DeviceInfo.SerialNumber"],
                },
            )
            report(
                "failover",
                moved=moved,
                online=row()["online"],
                informs_before_gpv=quiet,
                informs=[i["events"] for i in acs.store.informs(dev_id, after=mark)],
                serial=((gpv.get("result") or {}).get("parameterList") or [{}])[0].get("value"),
                gpv=gpv,
                expected_serial=labs[other].devices[0].serial_number,
            )

            # The last interface says goodbye: offline.
            await labs[other].stop()
            offline = await until(lambda: not row()["online"])
            report("offline", offline=offline, cr=await client.connection_request(dev_id))
    print("DONE", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True, help="the namespace's LAN address")
    parser.add_argument("--second", required=True, help="a second address on the LAN")
    args = parser.parse_args()
    if not in_private_netns():
        print("refusing to run in the host network namespace", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(scenario(args.source, args.second))
    return 0


if __name__ == "__main__":
    sys.exit(main())
