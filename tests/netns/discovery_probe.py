"""Run proxier's discovery inside a test namespace and print what it finds.

    ip netns exec upnp-…-cp python -m tests.netns.discovery_probe --source 198.18.0.11

Prints "READY" once listening, then one JSON object per DiscoveryEvent. Refuses to run
in the host's network namespace (the driver would refuse to multicast anyway).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from proxier.upnp.discovery import Discovery, DiscoveryConfig, DiscoveryEvent
from proxier.upnp.netns import current_netns_name, in_private_netns


def _print(event: DiscoveryEvent) -> None:
    record = {
        "kind": event.kind,
        "udn": event.udn,
        "location": event.location,
        "types": sorted(event.types),
        "root": event.root,
        "boot_id": event.boot_id,
        "announcement": event.announcement,
        "secure_location": event.secure_location,
        "remote": event.remote,
    }
    print(json.dumps(record), flush=True)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True, help="local address to search/listen on")
    parser.add_argument("--search-interval", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    if not in_private_netns():
        print("refusing to run in the host network namespace", file=sys.stderr)
        return 2
    config = DiscoveryConfig(interfaces=(args.source,), search_interval=args.search_interval, mx=1)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Discovery(config, _print):
        print(f"READY netns={current_netns_name()}", flush=True)
        try:
            await asyncio.wait_for(stop.wait(), args.seconds)
        except TimeoutError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
