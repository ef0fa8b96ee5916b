"""`proxier lab --tr064` as users run it (issue 10): one tr64desc.xml URL per device on
stdout, each on its own port, loopback only, a clean stop on SIGTERM; and a device without
a password asks for no login (guide §4.1)."""

from __future__ import annotations

import asyncio
import signal
import sys

import aiohttp

from proxier.lab.tr064.server import Tr064LabServer
from proxier.tr064.client import Tr064Client


async def test_cli_prints_tr64desc_urls_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxier", "lab", "--tr064", "--devices", "2",
        "--user", "me", "--password", "pw",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    urls = []
    async with asyncio.timeout(30):
        while len(urls) < 2:
            line = (await process.stdout.readline()).decode().strip()
            assert line, "no output"
            urls.append(line)
    try:
        assert all(u.startswith("http://127.0.0.1:") and u.endswith("/tr64desc.xml") for u in urls)
        assert len(set(urls)) == 2
        async with aiohttp.ClientSession() as session, session.get(urls[0]) as response:
            assert response.status == 200
            assert b"urn:dslforum-org:device-1-0" in await response.read()
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0


async def test_no_password_configured_means_no_login() -> None:
    """Guide §4.1: "If no individual password is configured, TR-064 does not require a
    password or username": calls without credentials succeed."""
    async with Tr064LabServer(1) as lab, aiohttp.ClientSession() as session:
        client = Tr064Client(session, lab.description_urls[0], None)
        await client.attach()
        info = await client.call("DeviceInfo:1", "GetInfo")
        assert info["NewSerialNumber"] == lab.devices[0].mac
