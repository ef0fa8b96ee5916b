"""Issue 12 item 7 end to end: lab devices over real sockets against low admission limits.

Lab ACS ⇄ proxier ⇄ `proxier lab` devices (found by description URL, probed every 0.2 s so
a kept-out device is seen again and again).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from tests.virtual.rig import rig


def kept_out_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "kept out" in r.getMessage()]


async def lab_process(devices: int) -> tuple[asyncio.subprocess.Process, list[str]]:
    """`proxier lab --devices N` as users run it; its description URLs (one per line)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxier",
        "lab",
        "--devices",
        str(devices),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    async with asyncio.timeout(30):
        urls = [(await process.stdout.readline()).decode().strip() for _ in range(devices)]
    assert all(url.startswith("http://127.0.0.1:") for url in urls), urls
    return process, urls


async def test_max_devices_keeps_the_rest_out_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 item 7: with upnp.max_devices = 2, two of four devices of
    `proxier lab --devices 4` become virtual devices; the other two are kept out, each
    logged once however often it is seen."""
    process, urls = await lab_process(4)
    try:
        async with rig(tmp_path) as r:
            r.description_urls = urls
            r.upnp = {"max_devices": 2}
            proxier = await r.start_proxier()
            assert len(await r.devices(2)) == 2
            await asyncio.sleep(1.5)  # ~7 more probes of every device
            assert len(await r.client.devices()) == 2
            assert proxier.manager is not None
            kept = proxier.manager.admission.kept_out
            assert len(kept) == 2
            assert all("upnp.max_devices (2)" in e.reason for e in kept.values())
            lines = kept_out_lines(caplog)
            assert len(lines) == 2 and set(kept) == {line.split()[2] for line in lines}
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 10)


async def test_new_devices_per_minute_rate_keeps_a_flood_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 item 7: with upnp.max_new_devices_per_minute = 2, a LAN showing four new
    devices at once gets two virtual devices; the rest wait, logged once each."""
    async with rig(tmp_path, devices=4) as r:
        r.upnp = {"max_new_devices_per_minute": 2}
        proxier = await r.start_proxier()
        assert len(await r.devices(2)) == 2
        await asyncio.sleep(1.0)
        assert len(await r.client.devices()) == 2
        assert proxier.manager is not None
        reasons = [e.reason for e in proxier.manager.admission.kept_out.values()]
        assert len(reasons) == 2 and all("max_new_devices_per_minute (2)" in x for x in reasons)
        assert len(kept_out_lines(caplog)) == 2


async def test_offline_past_prune_age_is_forgotten_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 item 7, pruning rule: a virtual device offline for longer than
    upnp.prune_offline_days loses its row and its state when the proxier starts; one
    offline for less stays."""
    caplog.set_level(logging.INFO)
    async with rig(tmp_path, devices=2) as r:
        await r.start_proxier()
        await r.devices(2)
        await r.stop_proxier()
        registry_db = r.state / "registry.sqlite"
        with sqlite3.connect(registry_db) as db:  # both were marked offline at stop/start
            db.execute("DELETE FROM offline_since")
            db.execute("INSERT INTO offline_since VALUES (1, ?)", (time.time() - 31 * 86400,))
            db.execute("INSERT INTO offline_since VALUES (2, ?)", (time.time() - 29 * 86400,))
            db.execute("UPDATE virtual_device SET online = 0")
        r.description_urls = []  # neither is on the LAN any more
        proxier = await r.start_proxier()
        assert [rec.instance for rec in proxier.registry] == [2]
        assert not (r.state / "devices" / "1").exists()
        assert (r.state / "devices" / "2").exists()
        pruned = [rec.getMessage() for rec in caplog.records if "pruned" in rec.getMessage()]
        assert len(pruned) == 1 and "upnp.prune_offline_days" in pruned[0]
