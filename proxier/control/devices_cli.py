"""`proxier devices ACTION ID`: approve, deny, forget, trust or introduce a virtual device."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from urllib.parse import quote

from proxier.control.actions import ACTIONS
from proxier.control.client import ApiError, add_arguments, call, check, endpoint


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("device", metavar="ID", help="DeviceId (OUI-Class-Serial) or instance")
    parser.add_argument("--pin", help="introduce: the device's WPS PIN (else push button)")
    add_arguments(parser)


def main(args: argparse.Namespace) -> int:
    path = f"/api/devices/{quote(args.device, safe='')}/{args.action}"
    try:
        pin = getattr(args, "pin", None)
        body = {"pin": pin} if pin and args.action == "introduce" else {}
        answer = check(*asyncio.run(call(endpoint(args), "POST", path, body)))
    except ApiError as exc:
        print(f"proxier devices {args.action}: {exc}", file=sys.stderr)
        return 1
    extra = {k: v for k, v in answer.items() if k not in ("device", "action")}
    print(f"{answer['device']}: {args.action} done {json.dumps(extra) if extra else ''}".rstrip())
    return 0
