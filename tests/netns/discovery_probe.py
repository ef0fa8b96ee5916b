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
import time

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
    parser.add_argument("--expect", type=int, default=0, help="stop after N alive devices")
    parser.add_argument("--quiet", action="store_true", help="print only READY/FOUND")
    args = parser.parse_args()
    if not in_private_netns():
        print("refusing to run in the host network namespace", file=sys.stderr)
        return 2
    config = DiscoveryConfig(interfaces=(args.source,), search_interval=args.search_interval, mx=1)
    if args.expect:  # a benchmark: one search for the device type, as the baseline does
        config = DiscoveryConfig(
            interfaces=(args.source,),
            search_interval=args.search_interval,
            mx=1,
            search_targets=("urn:schemas-upnp-org:device:ManageableDevice:2",),
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    alive: set[str] = set()
    started = time.perf_counter()

    def on_event(event: DiscoveryEvent) -> None:
        if not args.quiet:
            _print(event)
        if event.kind == "alive":
            alive.add(event.udn)
            if len(alive) == args.expect:
                print(f"FOUND {len(alive)} {time.perf_counter() - started:.6f}", flush=True)
                stop.set()

    async with Discovery(config, on_event):
        print(f"READY netns={current_netns_name()}", flush=True)
        try:
            await asyncio.wait_for(stop.wait(), args.seconds)
        except TimeoutError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
