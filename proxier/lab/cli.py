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
from importlib import resources
from pathlib import Path

from proxier.fdlimit import raise_nofile
from proxier.gcpolicy import GcFreezer
from proxier.lab.announcer import interface_address
from proxier.lab.datamodel import DEFAULT_MODEL, ModelError
from proxier.lab.device import LabDevice
from proxier.lab.dp import ADMINISTRATOR, DpSettings
from proxier.lab.server import LabConfig, LabServer, load_config
from proxier.lab.tr064.server import Tr064LabServer
from proxier.upnp.netns import MulticastRefused
from proxier.wsc.crypto import pin_valid

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
        "--print-model",
        action="store_true",
        help="print the shipped data model (JSON) and exit: the start of your own --model",
    )
    parser.add_argument(
        "--interface",
        help="IPv4 address or interface name for SSDP (only inside a network namespace)",
    )
    parser.add_argument(
        "--allow-lan-multicast",
        action="store_true",
        help="allow SSDP on the host's real network (you really mean a real LAN)",
    )
    dps = parser.add_argument_group("DeviceProtection (DP:1, TR-330 §4.8)")
    dps.add_argument("--dps", action="store_true", help="give each device DP over mutual TLS")
    dps.add_argument("--trust-ca", help="CA certificate (PEM) whose CP certificates get Admin")
    dps.add_argument("--admin", help="NAME:PASSWORD of the Admin user (default name Administrator)")
    dps.add_argument(
        "--acl-cp",
        action="append",
        default=[],
        metavar="ID:ROLES",
        help="preload a CP identity with roles (space or comma separated); repeatable",
    )
    dps.add_argument(
        "--action-roles",
        action="append",
        default=[],
        metavar="ACTION:ROLES",
        help="roles a DM action needs (default: reference §6.6 project choice); repeatable",
    )
    dps.add_argument(
        "--pin",
        help="WPS introduction by this 8-digit PIN (default: push button, POST /_lab/<udn>/press)",
    )
    dps.add_argument(
        "--intro-roles",
        default="Admin",
        help="roles a control point gets when introduced by WPS (default Admin, TR-330 §4.8.1.2)",
    )
    dps.add_argument(
        "--state-dir",
        default=str(Path.home() / ".local/state/proxier-lab"),
        help="where device identities and ACLs persist (default ~/.local/state/proxier-lab)",
    )
    parser.add_argument(
        "--services",
        default="bms,cms,sms",
        help="DM services each device offers, comma-separated (default bms,cms,sms; "
        "e.g. 'bms' or 'sms' for a device without ConfigurationManagement, TR-330 §3.1)",
    )
    parser.add_argument(
        "--reboot-delay", type=float, default=None, help="seconds a device stays down on Reboot"
    )
    parser.add_argument(
        "--tr064", action="store_true", help="run FRITZ!-style TR-064 devices instead"
    )
    parser.add_argument("--user", default="admin", help="TR-064 login user (with --tr064)")
    parser.add_argument(
        "--password", default=None, help="TR-064 login password (none: no login, as §4.1)"
    )


def dp_settings(args: argparse.Namespace) -> DpSettings | None:
    """The lab's DP options, or None without --dps; ValueError names a bad flag."""
    if not args.dps:
        return None
    name, password = ADMINISTRATOR, ""
    if args.admin:
        name, sep, password = args.admin.partition(":")
        if not sep or not name or not password:
            raise ValueError("--admin must be NAME:PASSWORD")
    trust = Path(args.trust_ca) if args.trust_ca else None
    if trust is not None and not trust.is_file():
        raise ValueError(f"--trust-ca: no such file: {trust}")

    def pairs(flag: str, items: list[str]) -> list[tuple[str, str]]:
        out = []
        for item in items:
            key, sep, roles = item.partition(":")
            if not sep or not key or not roles.strip():
                raise ValueError(f"{flag} must be KEY:ROLES, got {item!r}")
            out.append((key.strip(), " ".join(roles.replace(",", " ").split())))
        return out

    if args.pin is not None and not pin_valid(args.pin):
        raise ValueError("--pin must be 8 digits with a valid WPS checksum digit (or 4 digits)")
    return DpSettings(
        state_dir=Path(args.state_dir),
        pin=args.pin,
        intro_roles=tuple(args.intro_roles.replace(",", " ").split()) or ("Admin",),
        trust_ca=trust,
        admin_password=password,
        admin_name=name,
        acl_cps=tuple(pairs("--acl-cp", args.acl_cp)),
        action_roles={
            a: frozenset(r.split()) for a, r in pairs("--action-roles", args.action_roles)
        },
    )


def main(args: argparse.Namespace) -> int:
    if args.print_model:
        shipped = resources.files("proxier").joinpath("data", DEFAULT_MODEL)
        sys.stdout.write(shipped.read_text("utf-8"))
        return 0
    interface = None
    if args.interface:
        try:
            interface = interface_address(args.interface)
        except ValueError as exc:
            print(f"proxier lab: {exc}", file=sys.stderr)
            return 2
    if args.tr064:
        from proxier.lab.tr064.cli import main as tr064_main  # here: it imports serve()

        return tr064_main(args, interface)
    try:
        config = load_config(args.config) if args.config else LabConfig()
    except ModelError as exc:
        print(f"proxier lab: {exc}", file=sys.stderr)
        return 2
    if args.devices < 1 or args.devices > MAX_DEVICES:
        print(f"proxier lab: --devices must be between 1 and {MAX_DEVICES}", file=sys.stderr)
        return 2
    raise_nofile(args.devices, what="lab devices")
    try:
        dps = dp_settings(args)
    except ValueError as exc:
        print(f"proxier lab: {exc}", file=sys.stderr)
        return 2
    faults = {} if args.reboot_delay is None else {"reboot_delay": args.reboot_delay}
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
            dps=dps,
            services=args.services.split(","),
        )
    except (ModelError, ValueError) as exc:
        print(f"proxier lab: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(serve(lab))
    except (MulticastRefused, ModelError) as exc:
        print(f"proxier lab: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"proxier lab: cannot listen: {exc}", file=sys.stderr)
        return 1


async def serve(lab: LabServer | Tr064LabServer) -> int:
    """Run until SIGINT/SIGTERM, printing each device's description URL first."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with lab:
        for device in lab.devices:
            print(device.description_url)
            if isinstance(device, LabDevice) and device.protection is not None:
                # stderr: stdout stays one description URL per line for scripts
                print(
                    f"  {device.udn} DP identity {device.protection.device_id} "
                    f"SECURELOCATION {device.secure_location}",
                    file=sys.stderr,
                )
        sys.stdout.flush()
        freezer = GcFreezer()  # a big lab's full GC passes walk only what is new (issue 13)
        try:
            await stop.wait()
        finally:
            freezer.close()
    return 0
