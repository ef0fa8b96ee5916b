"""GENA callback address on a real LAN path, run inside a test namespace (issue 8).

    ip netns exec upnp-…-cp python -m tests.netns.gena_callback_scenario --url http://198.18.0.12:…

A lab ACS (namespace loopback) and a proxier that knows one lab device only by its
description URL on another namespace's address (no SSDP). It prints the CALLBACK URL the
proxier advertises, then changes a value on the device through CMS SetValues and prints
"EVENT <variables>" when the device's GENA NOTIFY arrives, then "DONE".
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile

from proxier.api import Proxier
from proxier.config import from_dict
from proxier.labacs.server import LabAcs, LabAcsConfig
from proxier.upnp.device import ParameterValue
from proxier.upnp.netns import in_private_netns


async def scenario(url: str) -> None:
    state = tempfile.mkdtemp(prefix="proxier-gena-")
    async with LabAcs(LabAcsConfig(port=0)) as acs:
        config = from_dict(
            {
                "acs": {"url": acs.url},
                "connection_request": {"port": 0},
                "upnp": {"description_urls": [url], "probe_interval": 0.5},
                "state": {"dir": state},
                "privacy": {"mode": "auto"},  # proxied at once (default: approve)
                "api": {"enable": False},
            }
        )
        async with Proxier(config) as proxier:
            for _ in range(200):
                devices = [d for d in proxier.devices() if d.online and d.dm is not None]
                if devices:
                    break
                await asyncio.sleep(0.1)
            else:
                print("NO DEVICE", flush=True)
                return
            dm = devices[0].dm
            assert dm is not None and proxier.gena is not None
            print(f"CALLBACK {proxier.gena.callback_url(url)}", flush=True)
            events = dm.events()
            await asyncio.sleep(1.0)  # the subscription is made
            await dm.cms.set_values(
                [ParameterValue("/UPnP/DM/DeviceInfo/FriendlyName", "renamed over the LAN")]
            )
            async with asyncio.timeout(15):
                async for event in events:
                    if event.service == "CMS" and not event.resync:
                        print(f"EVENT {sorted(event.variables)}", flush=True)
                        break
    print("DONE", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    args = parser.parse_args()
    if not in_private_netns():
        print("refusing: not inside a private network namespace", file=sys.stderr)
        return 2
    asyncio.run(scenario(args.url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
