"""A TR-064 device found by SSDP search only, end to end, inside a test namespace.

    ip netns exec upnp-…-cp python -m tests.netns.tr064_scenario --source 198.18.0.11

One process holds the lab ACS, one lab TR-064 device answering M-SEARCH on the namespace's
LAN address (no NOTIFY, as FRITZ! devices) and the proxier with `upnp.interfaces` only (no
description URLs) and a `[[tr064.login]]`. Prints one JSON line with what the ACS saw, then
"DONE". Refuses to run in the host's network namespace.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile

from proxier.api import Proxier
from proxier.config import from_dict
from proxier.lab.tr064.server import Tr064LabServer
from proxier.labacs.client import LabAcsClient
from proxier.labacs.server import LabAcs, LabAcsConfig
from proxier.upnp.netns import in_private_netns

CR = ("t64-cr", "t64-cr-secret")
PASSWORD = "t64-secret"


async def scenario(source: str) -> None:
    state = tempfile.mkdtemp(prefix="proxier-t64-")
    acs_config = LabAcsConfig(port=0, cr_username=CR[0], cr_password=CR[1])
    async with (
        LabAcs(acs_config) as acs,
        Tr064LabServer(1, host=source, interface=source, password=PASSWORD) as lab,
        LabAcsClient(acs.base_url) as client,
    ):
        config = from_dict(
            {
                "acs": {"url": acs.url},
                "connection_request": {"port": 0, "username": CR[0], "password": CR[1]},
                "upnp": {"interfaces": [source], "search_interval": 5},
                "state": {"dir": state},
                "privacy": {"mode": "auto"},  # proxied at once (default: approve)
                "api": {"enable": False},
                "tr064": {"login": [{"match": "*", "user": "admin", "password": PASSWORD}]},
            }
        )
        async with Proxier(config):
            devices: list[dict[str, object]] = []
            for _ in range(300):
                devices = await client.devices()
                if devices:
                    break
                await asyncio.sleep(0.1)
            dev_id = str(devices[0]["id"]) if devices else ""
            gpv = await client.run_task(
                dev_id,
                {
                    "name": "GetParameterValues",
                    "parameterNames": ["Device.DeviceInfo.SerialNumber"],
                },
                wait=20,
            )
            informs = acs.store.informs(dev_id)
            print(
                json.dumps(
                    {
                        "id": dev_id,
                        "mac": lab.devices[0].mac,
                        "events": [i["events"] for i in informs],
                        "gpv": gpv.get("result"),
                    }
                ),
                flush=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    if not in_private_netns():
        print("refusing to run in the host network namespace", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(scenario(args.source))
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
