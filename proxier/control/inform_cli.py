"""`proxier inform ID [--event CODE]`: start a session now (like icwmp's ubus inform)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any
from urllib.parse import quote

from proxier.control.client import ApiError, Endpoint, add_arguments, call, check, endpoint


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("device", metavar="ID", help="DeviceId (OUI-Class-Serial) or instance")
    parser.add_argument(
        "--event",
        default="",
        help='event to raise, e.g. "2 PERIODIC" (default: a Connection '
        'Request, "6 CONNECTION REQUEST")',
    )
    parser.add_argument(
        "--wait", type=float, metavar="S", default=0, help="wait up to S seconds for the result"
    )
    add_arguments(parser)


async def _result(point: Endpoint, device: str, since: int, wait: float) -> dict[str, Any] | None:
    """The first session of `device` after activity `since`, polled for `wait` seconds."""
    path = f"/api/sessions?device={quote(device, safe='')}&since={since}"
    deadline = time.monotonic() + wait
    while True:
        sessions = check(*await call(point, "GET", path))
        if sessions:
            found: dict[str, Any] = sessions[0]
            return found
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(0.2)


async def _inform(args: argparse.Namespace) -> int:
    point = endpoint(args)
    path = f"/api/devices/{quote(args.device, safe='')}/inform"
    answer = check(*await call(point, "POST", path, {"event": args.event}))
    print(f"{answer['device']}: session requested ({answer['event']})")
    if not args.wait:
        return 0
    session = await _result(point, answer["device"], int(answer["since"]), args.wait)
    if session is None:
        print(f"{answer['device']}: no session ended within {args.wait:g} s", file=sys.stderr)
        return 1
    if not session["ok"]:
        print(f"{answer['device']}: session failed: {session['reason']}", file=sys.stderr)
        return 1
    events = ", ".join(session["events"])
    print(f"{answer['device']}: session ok (events {events}; {session['rpcs']} RPCs)")
    return 0


def main(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_inform(args))
    except ApiError as exc:
        print(f"proxier inform: {exc}", file=sys.stderr)
        return 1
