"""Issue 12 item 6 end to end: SSDP LOCATIONs on another host are never fetched.

SSDP alives go by unicast over loopback to the proxier's listener (no multicast); the
"other host" is an HTTP server on 127.0.0.2 that counts every request it gets.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web

from proxier.upnp import ssdp
from tests.virtual.rig import rig

MD2 = "urn:schemas-upnp-org:device:ManageableDevice:2"


@asynccontextmanager
async def counting_server(host: str, body: bytes = b"") -> AsyncIterator[tuple[str, list[str]]]:
    """An HTTP server on `host` recording each request path; serves `body` as XML."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(body=body, content_type="text/xml")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, 0).start()
    try:
        yield f"http://{host}:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


def announce(port: int, udn: str, location: str, times: int = 1) -> None:
    """ssdp:alive NOTIFYs from 127.0.0.1 to the proxier's unicast listener."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        for _ in range(times):
            packet = ssdp.build_notify("ssdp:alive", MD2, udn, location=location, boot_id=1)
            sock.sendto(packet, ("127.0.0.1", port))


async def test_location_on_another_host_is_never_fetched(tmp_path: Path) -> None:
    """Issue 12 item 6: 200 alives from 127.0.0.1 naming 127.0.0.2 cause zero requests
    there; a description on the sender whose CMS controlURL points to 127.0.0.2 is refused
    (no request there, no virtual device for it); the lab device announced at its own
    address becomes a virtual device (so the path is live, the zero is not vacuous)."""
    async with rig(tmp_path) as r:
        r.description_urls = []
        proxier = await r.start_proxier()
        assert proxier.discovery is not None
        port = await proxier.discovery.listen_unicast("127.0.0.1")
        async with counting_server("127.0.0.2") as (elsewhere, hits):
            for _ in range(10):  # 200 alives, in bursts the listener's buffer can hold
                announce(port, "uuid:ssrf-1", f"{elsewhere}/description.xml", times=20)
                await asyncio.sleep(0.05)
            lab = r.lab.devices[0]
            own = r.lab.description_urls[0]
            async with aiohttp.ClientSession() as client, client.get(own) as response:
                document = await response.read()
            hostile = document.replace(
                f"{lab.base_path}/cms/control".encode(), f"{elsewhere}/cms/control".encode()
            ).replace(lab.udn.encode(), b"uuid:ssrf-2")
            async with counting_server("127.0.0.1", hostile) as (sender, fetched):
                announce(port, "uuid:ssrf-2", f"{sender}/description.xml")
                announce(port, lab.udn, own)  # the real device, at its own address
                found = await r.devices(1)
                await asyncio.sleep(0.3)
            assert "/description.xml" in fetched  # read from the sender itself
            assert not [path for path in fetched if "cms" in path]  # CMS refused there
            assert hits == []  # nothing ever reached the other host
        assert [d["deviceId"]["serialNumber"] for d in found] == [lab.serial_number]
        assert proxier.manager is not None and len(proxier.manager.devices) == 1
