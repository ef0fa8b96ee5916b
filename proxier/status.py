"""`proxier status`: list the virtual devices of a running proxier through its local API."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import aiohttp


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api", default="http://127.0.0.1:7549", help="local API base URL of the proxier"
    )
    parser.add_argument("--json", action="store_true", help="print raw JSON")


async def fetch(base: str) -> list[dict[str, Any]]:
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(base.rstrip("/") + "/api/virtual-devices") as resp:
            resp.raise_for_status()
            data: list[dict[str, Any]] = await resp.json()
            return data


def main(args: argparse.Namespace) -> int:
    try:
        devices = asyncio.run(fetch(args.api))
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(f"proxier: cannot reach the local API at {args.api}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(devices, indent=2))
        return 0
    print(f"{'#':>3} {'device id':<40} {'online':<7} {'security':<8} location")
    for d in devices:
        online = "pending" if d.get("privacy") == "pending" else "yes" if d["online"] else "no"
        security = d.get("security") or {}
        print(
            f"{d['instance']:>3} {d['id']:<40} {online:<7} "
            f"{security.get('state', '-'):<8} {d['location']}"
        )
        for key in ("roles", "login", "introduction", "missing", "error"):
            value = security.get(key)
            if value:
                shown = " ".join(value) if isinstance(value, list) else value
                print(f"    {key}: {shown}")
    identity = next((d["security"]["proxier_identity"] for d in devices if "security" in d), "")
    if identity:
        print(f"proxier DP identity: {identity}")
    return 0
