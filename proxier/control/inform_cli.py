"""`proxier inform ID [--event CODE]`: start a session now (like icwmp's ubus inform)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from urllib.parse import quote

from proxier.control.client import ApiError, add_arguments, call, check, endpoint


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("device", metavar="ID", help="DeviceId (OUI-Class-Serial) or instance")
    parser.add_argument(
        "--event",
        default="",
        help='event to raise, e.g. "2 PERIODIC" (default: a Connection '
        'Request, "6 CONNECTION REQUEST")',
    )
    add_arguments(parser)


def main(args: argparse.Namespace) -> int:
    path = f"/api/devices/{quote(args.device, safe='')}/inform"
    try:
        answer = check(*asyncio.run(call(endpoint(args), "POST", path, {"event": args.event})))
    except ApiError as exc:
        print(f"proxier inform: {exc}", file=sys.stderr)
        return 1
    print(f"{answer['device']}: session requested ({answer['event']})")
    return 0
