"""`proxier status`: the virtual devices of a running proxier, through its local API."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from proxier.control.client import ApiError, add_arguments, call, check, endpoint


def configure(parser: argparse.ArgumentParser) -> None:
    add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print raw JSON")
    parser.add_argument(
        "--show-secrets", action="store_true", help="show Connection Request URLs unmasked"
    )


def _when(t: float | None, now: float) -> str:
    if t is None:
        return "-"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
    delta = int(t - now)
    return f"{stamp} ({'in ' + str(delta) if delta >= 0 else str(-delta) + ' ago'} s)"


def render(devices: list[dict[str, Any]], now: float) -> str:
    if not devices:
        return "no virtual devices yet"
    lines = []
    for d in devices:
        state = "online" if d["online"] else "offline"
        if d.get("privacy") == "pending":
            state = "pending"
        if d.get("reason"):
            state += f" ({d['reason']})"
        last = d.get("last_session")
        if last:
            result = "ok" if last["ok"] else f"failed: {last['reason']}"
            session = f"{_when(last['time'], now)} {result}"
        else:
            session = "none since start"
        lines += [
            f"{d['instance']}: {d['id']}",
            f"    manufacturer   {d['manufacturer']}  location {d['location']}",
            f"    state          {state}",
            f"    security       {d['security']}",
            *_security_lines(d.get("security_detail") or {}),
            f"    last session   {session}",
            f"    next periodic  {_when(d.get('next_periodic_inform'), now)}",
            f"    pending events {', '.join(d['pending_events']) or 'none'}",
            f"    CR URL         {d['connection_request_url'] or '-'}",
        ]
    identity = next(
        (i for d in devices if (i := (d.get("security_detail") or {}).get("proxier_identity"))),
        "",
    )
    if identity:
        lines.append(f"proxier DP identity: {identity}")
    return "\n".join(lines)


def _security_lines(detail: dict[str, Any]) -> list[str]:
    """Device Protection: roles held, the login, which step would give Admin, a refusal."""
    out = []
    for key in ("roles", "login", "introduction", "missing", "error"):
        value = detail.get(key)
        if value:
            shown = " ".join(value) if isinstance(value, list) else value
            out.append(f"      {key}: {shown}")
    return out


def main(args: argparse.Namespace) -> int:
    query = "?secrets=1" if args.show_secrets else ""
    try:
        point = endpoint(args)
        devices = check(*asyncio.run(call(point, "GET", "/api/devices" + query)))
    except ApiError as exc:
        print(f"proxier status: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(devices, indent=2) if args.json else render(devices, time.time()))
    return 0
