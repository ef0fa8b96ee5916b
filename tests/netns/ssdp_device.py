"""A scriptable SSDP-only DM device for namespace tests of announcements and leases.

    ip netns exec upnp-…-dev python -m tests.netns.ssdp_device --source 198.18.0.12

Announces a ManageableDevice:2 root device with CMS:2/BMS:2 (alive burst at start),
answers M-SEARCH for those targets, and obeys stdin commands:
  reboot   byebye with ANNOUNCEMENT.DM.UPNP.ORG: AboutToReboot, then alive with BOOTID+1
  reset    the same with AboutToBaselineReset
  vanish   go silent (no byebye, no answers): control points see the lease run out
  quit     plain byebye and exit
It serves no description: discovery over SSDP never fetches one.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys

from async_upnp_client.ssdp import get_ssdp_socket

from proxier.upnp import ssdp
from proxier.upnp.netns import in_private_netns

TYPES = (
    "upnp:rootdevice",
    "urn:schemas-upnp-org:device:ManageableDevice:2",
    "urn:schemas-upnp-org:service:ConfigurationManagement:2",
    "urn:schemas-upnp-org:service:BasicManagement:2",
)
GROUP = (ssdp.SSDP_GROUP_V4, ssdp.SSDP_PORT)


class Device(asyncio.DatagramProtocol):
    def __init__(self, udns: list[str], source: str, max_age: int) -> None:
        self.udns, self.source, self.max_age = udns, source, max_age
        self.boot_id = 1
        self.silent = False
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def location(self, udn: str) -> str:
        return f"http://{self.source}:8080/{udn[5:]}/description.xml"

    def notify(self, nts: str, announcement: str = "") -> None:
        assert self.transport is not None
        for udn in self.udns:
            self._notify(udn, nts, announcement)
        print(f"SENT {nts} {announcement} boot={self.boot_id}".rstrip(), flush=True)

    def _notify(self, udn: str, nts: str, announcement: str) -> None:
        assert self.transport is not None
        for nt in [*TYPES, udn]:
            packet = ssdp.build_notify(
                nts,  # type: ignore[arg-type]
                nt,
                udn,
                location=self.location(udn),
                max_age=self.max_age,
                boot_id=self.boot_id,
                config_id=1,
                announcement=announcement,
            )
            self.transport.sendto(packet, GROUP)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if self.silent or self.transport is None:
            return
        try:
            msg = ssdp.parse(data)
        except ssdp.SsdpError:
            return
        if msg.kind != "search":
            return
        for udn in self.udns:
            self._answer(udn, msg.target, (str(addr[0]), int(addr[1])))

    def _answer(self, udn: str, target: str, to: tuple[str, int]) -> None:
        assert self.transport is not None
        for st in [*TYPES, udn]:
            if target in (st, "ssdp:all"):
                answer = ssdp.build_search_response(
                    st,
                    udn,
                    location=self.location(udn),
                    max_age=self.max_age,
                    boot_id=self.boot_id,
                    config_id=1,
                )
                self.transport.sendto(answer, to)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--udn", default="uuid:6b0b1a52-9f59-4e0a-8c4e-00000000d001")
    parser.add_argument("--max-age", type=int, default=1800)
    parser.add_argument("--count", type=int, default=1, help="devices (UDN, UDN+1, …)")
    parser.add_argument("--quiet", action="store_true", help="no alive burst at start")
    args = parser.parse_args()
    if not in_private_netns():
        print("refusing to run in the host network namespace", file=sys.stderr)
        return 2
    head, tail = args.udn[:-4], int(args.udn[-4:], 16)
    udns = [args.udn] + [f"{head}{tail + i:04x}" for i in range(1, args.count)]
    device = Device(udns, args.source, args.max_age)
    sock, _, _ = get_ssdp_socket((args.source, 0), GROUP)
    sock.bind(("", ssdp.SSDP_PORT))
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: device, sock=sock)
    device.transport = transport
    if not args.quiet:
        device.notify("ssdp:alive")
    print("READY", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().strip():
        if line in ("reboot", "reset"):
            note = "AboutToReboot" if line == "reboot" else "AboutToBaselineReset"
            device.notify("ssdp:byebye", note)
            device.boot_id += 1
            device.notify("ssdp:alive")
        elif line == "vanish":
            device.silent = True
            print("SILENT", flush=True)
        elif line == "quit":
            device.notify("ssdp:byebye")
            break
    return 0


if __name__ == "__main__":
    socket.setdefaulttimeout(10)
    sys.exit(asyncio.run(main()))
