"""`proxier lab --tr064`: run FRITZ!-style TR-064 lab devices, print their tr64desc.xml URLs."""

from __future__ import annotations

import argparse
import asyncio
import sys

from proxier.lab.cli import serve
from proxier.lab.tr064.server import Tr064LabServer
from proxier.upnp.netns import MulticastRefused


def main(args: argparse.Namespace, interface: str | None) -> int:
    """`interface` is the --interface address, already resolved by `proxier.lab.cli`."""
    if args.devices < 0 or args.devices > 200:
        print("proxier lab: --devices must be between 0 and 200 with --tr064", file=sys.stderr)
        return 2
    lab = Tr064LabServer(
        args.devices,
        host=args.host or interface or "127.0.0.1",
        interface=interface,
        allow_lan_multicast=args.allow_lan_multicast,
        user=args.user,
        password=args.password,
        reboot_delay=1.0 if args.reboot_delay is None else args.reboot_delay,
    )
    try:
        return asyncio.run(serve(lab))
    except MulticastRefused as exc:
        print(f"proxier lab: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"proxier lab: cannot listen: {exc}", file=sys.stderr)
        return 1
