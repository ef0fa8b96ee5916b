"""`proxier labacs serve | devices | device ID | informs ID | task ID JSON [--wait S]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
from typing import Any

import aiohttp

from proxier import logsafe
from proxier.gcpolicy import GcFreezer
from proxier.labacs.client import LabAcsClient, LabAcsError
from proxier.labacs.server import LabAcs, LabAcsConfig
from proxier.labacs.tasks import TaskError, task_request

DEFAULT_URL = "http://127.0.0.1:7547"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="labacs_command", required=True)
    serve = sub.add_parser("serve", help="run the lab ACS (CWMP endpoint + REST)")
    serve.add_argument("--bind", default="127.0.0.1", help="address to listen on (loopback)")
    serve.add_argument("--port", type=int, default=7547)
    serve.add_argument("--db", default="labacs.sqlite", help="sqlite file (':memory:' allowed)")
    serve.add_argument("--path", default="/", help="CWMP endpoint path")
    serve.add_argument("--username", help="CPE username (enables authentication)")
    serve.add_argument(
        "--password",
        default=os.environ.get("PROXIER_LABACS_PASSWORD"),
        help="CPE password (or env PROXIER_LABACS_PASSWORD)",
    )
    serve.add_argument("--auth", choices=("digest", "basic", "none"), default="digest")
    serve.add_argument(
        "--digest-algorithm", action="append", choices=("MD5", "SHA-256"), dest="algorithms"
    )
    serve.add_argument("--cr-username", default="", help="default Connection Request username")
    serve.add_argument(
        "--cr-password",
        default=os.environ.get("PROXIER_LABACS_CR_PASSWORD", ""),
        help="default Connection Request password (or env PROXIER_LABACS_CR_PASSWORD)",
    )
    serve.add_argument("--cert", help="PEM certificate: serve HTTPS")
    serve.add_argument("--key", help="PEM private key for --cert")
    serve.add_argument(
        "--allow-remote-cr",
        action="store_true",
        help="send Connection Requests to non-loopback URLs too",
    )
    for name, help_text in (
        ("devices", "list devices"),
        ("device", "show one device (last Inform, parameters)"),
        ("informs", "show a device's Inform history"),
        ("tasks", "list a device's tasks"),
        ("task", 'queue an RPC task, e.g. \'{"name":"GetParameterValues",...}\''),
        ("cr", "send a Connection Request"),
    ):
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--url", default=DEFAULT_URL, help="lab ACS base URL")
        if name != "devices":
            command.add_argument("device_id", help="device id (OUI-ProductClass-Serial)")
        if name == "task":
            command.add_argument("task_json", help="the task as JSON")
            command.add_argument("--wait", type=float, default=0.0, help="seconds to wait")
            command.add_argument("--no-connection-request", action="store_true", help="queue only")


def main(args: argparse.Namespace) -> int:
    if args.labacs_command == "serve":
        return _serve(args)
    try:
        return asyncio.run(_remote(args))
    except LabAcsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (OSError, aiohttp.ClientError) as exc:
        print(f"error: cannot reach the lab ACS at {args.url}: {exc}", file=sys.stderr)
        return 1


def _serve(args: argparse.Namespace) -> int:
    if args.username and args.password is None and args.auth != "none":
        print("error: --username needs --password (or PROXIER_LABACS_PASSWORD)", file=sys.stderr)
        return 2
    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(args.cert, args.key)
        except (OSError, ssl.SSLError) as exc:
            print(f"error: --cert/--key: {exc}", file=sys.stderr)
            return 2
    config = LabAcsConfig(
        bind=args.bind,
        port=args.port,
        db=args.db,
        cwmp_path=args.path,
        username=args.username,
        password=args.password,
        auth=args.auth,
        digest_algorithms=tuple(args.algorithms or ("MD5",)),
        cr_username=args.cr_username,
        cr_password=args.cr_password,
        allow_remote_cr=args.allow_remote_cr,
        ssl_context=context,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logsafe.install()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)  # a clean stop, exit 0
        async with LabAcs(config) as acs:
            print(f"lab ACS: CWMP {acs.url}  REST {acs.base_url}/devices", flush=True)
            freezer = GcFreezer()  # a fleet's full GC passes walk only what is new (issue 13)
            try:
                await stop.wait()
            finally:
                freezer.close()

    try:
        asyncio.run(run())
    except OSError as exc:
        print(f"error: cannot listen on {args.bind}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


async def _remote(args: argparse.Namespace) -> int:
    async with LabAcsClient(args.url) as client:
        data: Any
        command = args.labacs_command
        if command == "devices":
            data = await client.devices()
        elif command == "device":
            data = await client.device(args.device_id)
        elif command == "informs":
            data = await client.informs(args.device_id)
        elif command == "tasks":
            data = await client.tasks(args.device_id)
        elif command == "cr":
            data = {"connectionRequest": await client.connection_request(args.device_id)}
        else:
            try:
                task = json.loads(args.task_json)
                task_request(task)
            except (ValueError, TaskError) as exc:
                print(f"error: bad task: {exc}", file=sys.stderr)
                return 2
            data = await client.add_task(
                args.device_id, task, connection_request=not args.no_connection_request
            )
            if args.wait:
                data = await client.task(args.device_id, int(data["id"]), wait=args.wait)
                print(json.dumps(data, indent=2))
                return _task_exit(data)
        print(json.dumps(data, indent=2))
    return 0


def _task_exit(task: dict[str, Any]) -> int:
    """`task --wait`: 0 only for a done task; a fault, an error or still pending/sent after
    the wait is 1, with the reason on stderr (scripts must not take a pending task for done)."""
    status = task.get("status")
    if status == "done":
        return 0
    if status in ("pending", "sent"):
        print(f"error: task {task.get('id')} still {status} after the wait", file=sys.stderr)
    else:
        print(f"error: task {task.get('id')} ended {status}", file=sys.stderr)
    return 1
