"""Test helpers: a real SOAP POST and a real GENA callback server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from proxier.lab.device import LabDevice, SsdpHooks
from proxier.lab.scpd import BMS, CMS, SMS
from proxier.upnp import soap
from proxier.upnp.gena import parse_propertyset

SERVICES = {"BMS": BMS, "CMS": CMS, "SMS": SMS}


async def call(
    session: aiohttp.ClientSession,
    device: LabDevice,
    short: str,
    action: str,
    args: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    """POST one SOAP action to the device's control URL; UpnpError on a fault."""
    service = SERVICES[short]
    headers, body = soap.build_request(service.service_type, action, args)
    url = f"{device.base_url}{device.base_path}/{short.lower()}/control"
    async with session.post(url, data=body, headers=headers) as response:
        return dict(soap.parse_response(action, response.status, await response.read()))


@dataclass
class Notify:
    sid: str
    seq: int
    variables: dict[str, str]


@dataclass
class CallbackServer:
    """Collects GENA NOTIFYs sent to http://127.0.0.1:port/cb."""

    queue: asyncio.Queue[Notify] = field(default_factory=asyncio.Queue)
    runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("NOTIFY", "/cb", self._notify)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/cb"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _notify(self, request: web.Request) -> web.Response:
        variables = parse_propertyset(await request.read())
        await self.queue.put(Notify(request.headers["SID"], int(request.headers["SEQ"]), variables))
        return web.Response()

    async def next(self) -> Notify:
        """The next NOTIFY (fails the test after 5 s without one)."""
        return await asyncio.wait_for(self.queue.get(), 5.0)


class SsdpRecorder(SsdpHooks):
    """Records what a device asked its SSDP announcer to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.alive_event = asyncio.Event()
        self.byebye_event = asyncio.Event()

    def alive(self, device: LabDevice) -> None:
        self.sent.append(("alive", ""))
        self.alive_event.set()

    def byebye(self, device: LabDevice, announcement: str = "") -> None:
        self.sent.append(("byebye", announcement))
        self.byebye_event.set()

    def update(self, device: LabDevice, next_boot_id: int) -> None:
        self.sent.append(("update", str(next_boot_id)))
