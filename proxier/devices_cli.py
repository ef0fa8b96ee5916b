"""`proxier devices approve|deny|forget|trust|introduce ID`: act on a device through the
local API (`introduce [--pin PIN]` starts a WPS introduction, issue 9)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from urllib.parse import quote

import aiohttp

from proxier.localapi import DEVICE_ACTIONS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=(*DEVICE_ACTIONS, "introduce"))
    parser.add_argument("id", help="virtual device id, instance number, or UDN (pending)")
    parser.add_argument("--pin", help="introduce: the device's WPS PIN (else push button)")
    parser.add_argument(
        "--api", default="http://127.0.0.1:7549", help="local API base URL of the proxier"
    )


async def _post(base: str, device_id: str, action: str, pin: str | None = None) -> tuple[int, str]:
    url = f"{base.rstrip('/')}/api/devices/{quote(device_id, safe='')}/{action}"
    body = {"pin": pin} if pin else None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        async with session.post(url, json=body) as response:
            return response.status, await response.text()


def main(args: argparse.Namespace) -> int:
    try:
        pin = getattr(args, "pin", None) if args.action == "introduce" else None
        status, text = asyncio.run(_post(args.api, args.id, args.action, pin))
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(f"proxier: cannot reach the local API at {args.api}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"proxier devices {args.action}: {text}", file=sys.stderr)
        return 1
    print(f"{args.action}: {args.id}")
    return 0
