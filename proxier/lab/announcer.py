"""SSDP for lab devices: NOTIFY alive/byebye/update and answers to M-SEARCH (UDA §1).

Only started when the user names an interface address, and only after
`proxier.upnp.netns.check_multicast_allowed` agreed (inside a private network namespace, or
with the explicit real-LAN flag). Packets come from the shared sans-IO builders in
`proxier.upnp.ssdp`. Every device announces `upnp:rootdevice`, its UDN, its device type and
its three service types; byebye before Reboot/BaselineReset carries
`ANNOUNCEMENT.DM.UPNP.ORG` (reference §5 PROJECT CHOICE, TR-330 Table 1).
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, Protocol

from proxier.lab.device import LabDevice, SsdpHooks
from proxier.lab.scpd import DEVICE_TYPE
from proxier.logsafe import get_logger
from proxier.upnp import ssdp
from proxier.upnp.netns import check_multicast_allowed

_LOG = get_logger(__name__)
SERVER = "Linux UPnP/2.0 proxier-lab/0.1"
REPEAT = 2  # UDP is lossy: each NOTIFY goes out twice (UDA §1.2.2 suggests resending)


class Announced(Protocol):
    """What SSDP needs of a lab device (a DM LabDevice, or a TR-064 one)."""

    @property
    def udn(self) -> str: ...
    @property
    def description_url(self) -> str: ...
    @property
    def available(self) -> bool: ...
    @property
    def boot_id(self) -> int | None: ...
    @property
    def config_id(self) -> int | None: ...
    @property
    def secure_location(self) -> str: ...


def _types(device: Announced) -> Sequence[str]:
    """The device and service types it answers for (a TR-064 device says its own; a DM lab
    device, the services it offers: `proxier lab --services`)."""
    own: Sequence[str] | None = getattr(device, "ssdp_types", None)
    if own is not None:
        return own
    assert isinstance(device, LabDevice)
    return [DEVICE_TYPE, *(s.service_type for s in device.services)]


def targets(device: Announced) -> list[str]:
    """NT values a root device with three services announces (UDA §1.2.2: 3 + k)."""
    return ["upnp:rootdevice", device.udn, *_types(device)]


def _version_match(offered: str, wanted: str) -> bool:
    """A search for version N is answered by a device/service of version ≥ N (UDA §1.3.2)."""
    base_o, _, ver_o = offered.rpartition(":")
    base_w, _, ver_w = wanted.rpartition(":")
    if base_o != base_w or not ver_o.isdigit() or not ver_w.isdigit():
        return offered == wanted
    return int(ver_w) <= int(ver_o)


def search_matches(device: Announced, st: str) -> list[str]:
    """ST values to answer with for a search target (empty: stay quiet)."""
    if st == "ssdp:all":
        return targets(device)
    if st in ("upnp:rootdevice", device.udn):
        return [st]
    for offered in _types(device):
        if _version_match(offered, st):
            return [st]
    return []


def interface_address(name_or_address: str) -> str:
    """An IPv4 address given directly, or the first IPv4 address of a network interface."""
    try:
        return str(ipaddress.IPv4Address(name_or_address))
    except ValueError:
        pass
    import fcntl
    import struct

    siocgifaddr = 0x8915
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(
                sock.fileno(), siocgifaddr, struct.pack("256s", name_or_address.encode()[:15])
            )
        except OSError as exc:
            raise ValueError(f"no IPv4 address on interface {name_or_address!r}: {exc}") from None
    return socket.inet_ntoa(packed[20:24])


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, on_data: Callable[[bytes, tuple[str, int]], None]) -> None:
        self.on_data = on_data

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.on_data(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        _LOG.debug("SSDP socket error: %s", exc)


class Announcer(SsdpHooks):
    """SSDP side of all lab devices on one IPv4 interface address."""

    def __init__(
        self,
        address: str,
        devices: Callable[[], Iterable[Announced]],
        *,
        max_age: int = 1800,
        allow_lan_multicast: bool = False,
        notify: bool = True,
    ) -> None:
        self.address = address
        self.devices = devices
        self.max_age = max_age
        self.allow_lan_multicast = allow_lan_multicast
        #: False: answer searches only, as FRITZ! devices do (TR-064 guide §2.1.1)
        self.notify = notify
        self._send: asyncio.DatagramTransport | None = None
        self._listen: asyncio.DatagramTransport | None = None
        self._repeat: asyncio.Task[None] | None = None
        self.group = (ssdp.SSDP_GROUP_V4, ssdp.SSDP_PORT)

    async def start(self) -> None:
        check_multicast_allowed(self.allow_lan_multicast)
        from async_upnp_client.ssdp import get_ssdp_socket

        loop = asyncio.get_running_loop()
        source = (self.address, 0)
        listen, _, _ = get_ssdp_socket(source, self.group)
        listen.bind(("", ssdp.SSDP_PORT))
        send, _, _ = get_ssdp_socket(source, self.group)
        send.bind(source)
        send.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        self._listen, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self._datagram), sock=listen
        )
        self._send, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(lambda _d, _a: None), sock=send
        )
        if self.notify:
            self._repeat = asyncio.create_task(self._repeat_alive())

    async def stop(self) -> None:
        if self._repeat is not None:
            self._repeat.cancel()
        for transport in (self._listen, self._send):
            if transport is not None:
                transport.close()
        self._listen = self._send = None

    async def _repeat_alive(self) -> None:
        """Re-announce well before CACHE-CONTROL max-age runs out (UDA: < max-age/2)."""
        while True:
            await asyncio.sleep(max(1.0, self.max_age / 3))
            for device in self.devices():
                if device.available:
                    self._notify(device, "ssdp:alive")

    def _notify(
        self,
        device: Announced,
        nts: Literal["ssdp:alive", "ssdp:byebye", "ssdp:update"],
        *,
        announcement: str = "",
        next_boot_id: int | None = None,
    ) -> None:
        if self._send is None or not self.notify:
            return
        for nt in targets(device):
            packet = ssdp.build_notify(
                nts,
                nt,
                device.udn,
                location=device.description_url,
                secure_location=device.secure_location,
                max_age=self.max_age,
                boot_id=device.boot_id,
                next_boot_id=next_boot_id,
                config_id=device.config_id,
                announcement=announcement,
                server=SERVER,
            )
            for _ in range(REPEAT):
                self._send.sendto(packet, self.group)

    def alive(self, device: LabDevice) -> None:
        self._notify(device, "ssdp:alive")

    def byebye(self, device: LabDevice, announcement: str = "") -> None:
        self._notify(device, "ssdp:byebye", announcement=announcement)

    def update(self, device: LabDevice, next_boot_id: int) -> None:
        self._notify(device, "ssdp:update", next_boot_id=next_boot_id)

    def _datagram(self, data: bytes, remote: tuple[str, int]) -> None:
        try:
            message = ssdp.parse(data)
        except ssdp.SsdpError:
            return
        if message.kind != "search" or message.header("man").strip('"') != "ssdp:discover":
            return
        answers: list[bytes] = []
        for device in self.devices():
            if not device.available:
                continue
            for st in search_matches(device, message.target):
                answers.append(
                    ssdp.build_search_response(
                        st,
                        device.udn,
                        location=device.description_url,
                        secure_location=device.secure_location,
                        max_age=self.max_age,
                        boot_id=device.boot_id,
                        config_id=device.config_id,
                        server=SERVER,
                    )
                )
        if not answers:
            return
        # Spread answers over part of MX (UDA §1.3.3), but keep lab runs quick.
        delay = random.uniform(0, min(max(message.mx or 1, 1), 5) * 0.1)
        asyncio.get_running_loop().call_later(delay, self._answer, answers, remote)

    def _answer(self, answers: list[bytes], remote: tuple[str, int]) -> None:
        if self._send is None:
            return
        for packet in answers:
            self._send.sendto(packet, remote)
