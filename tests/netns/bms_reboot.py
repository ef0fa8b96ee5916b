"""Ask a DM device to reboot through our BmsClient (used inside a test namespace).

    ip netns exec upnp-…-cp python -m tests.netns.bms_reboot URL UDN

Prints "OK Reboot -> <status>"; the device's SSDP byebye/alive are what the test watches.
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from proxier.upnp.client import BmsClient, SoapTransport
from proxier.upnp.http import bounded_request
from tests.netns.interop_cp import service_urls

BMS_PREFIX = "urn:schemas-upnp-org:service:BasicManagement:"


async def main(location: str, udn: str) -> int:
    async with aiohttp.ClientSession() as session:
        described = await bounded_request(session, "GET", location, max_bytes=1 << 20)
        control, _ = service_urls(described.body, described.url, udn, BMS_PREFIX)
        status = await BmsClient(SoapTransport(session), control).reboot()
        print(f"OK Reboot -> {status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
