"""`proxier lab`: run N lab UPnP DM devices and print their description URLs, one per line.

By default everything stays on 127.0.0.1 and no SSDP is sent: point a proxier at the printed
URLs (`description_urls`). `--interface ADDR` adds SSDP on that IPv4 address, which is
refused outside a private network namespace unless `--allow-lan-multicast` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from proxier.fdlimit import raise_nofile
from proxier.lab.announcer import interface_address
from proxier.lab.datamodel import ModelError
from proxier.lab.server import LabConfig, LabServer, load_config
from proxier.upnp.netns import MulticastRefused

#: A load-testing fleet (issue 13 measures 2,000 in one process).
MAX_DEVICES = 10_000


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--devices", type=int, default=1, help="number of devices (default 1)")
    parser.add_argument(
        "--host",
        default=None,
        help="HTTP listen address (default 127.0.0.1, or the --interface address)",
    )
    parser.add_argument("--port", type=int, default=0, help="HTTP port (default: any free)")
    parser.add_argument("--config", help="TOML/JSON file with [[device]] tables")
    parser.add_argument("--model", help="data model file (default: the shipped lab model)")
    parser.add_argument(
        "--interface",
        help="IPv4 address or interface name for SSDP (only inside a network namespace)",
    )
    parser.add_argument(
        "--allow-lan-multicast",
        action="store_true",
        help="allow SSDP on the host's real network (you really mean a real LAN)",
    )
    parser.add_argument(
        "--reboot-delay", type=float, default=None, help="seconds a device stays down on Reboot"
    )


def main(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config) if args.config else LabConfig()
    except ModelError as exc:
        print(f"proxier lab: {exc}", file=sys.stderr)
        return 2
    if args.devices < 0 or args.devices > MAX_DEVICES:
        print(f"proxier lab: --devices must be between 0 and {MAX_DEVICES}", file=sys.stderr)
        return 2
    raise_nofile(args.devices, what="lab devices")
    faults = {} if args.reboot_delay is None else {"reboot_delay": args.reboot_delay}
    interface = None
    if args.interface:
        try:
            interface = interface_address(args.interface)
        except ValueError as exc:
            print(f"proxier lab: {exc}", file=sys.stderr)
            return 2
    try:
        lab = LabServer(
            args.devices,
            host=args.host or interface or "127.0.0.1",
            port=args.port,
            model=args.model,
            config=config,
            interface=interface,
            allow_lan_multicast=args.allow_lan_multicast,
            faults=faults,
        )
    except ModelError as exc:
        print(f"proxier lab: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(lab))
    except (MulticastRefused, ModelError) as exc:
        print(f"proxier lab: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"proxier lab: cannot listen: {exc}", file=sys.stderr)
        return 1


async def _serve(lab: LabServer) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with lab:
        for url in lab.description_urls:
            print(url)
        sys.stdout.flush()
        await stop.wait()
    return 0
