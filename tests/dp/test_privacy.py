"""TR-330 §2.4 privacy: `[privacy] mode = "approve"` end to end (lab ACS ⇄ proxier ⇄ lab)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp

from tests.virtual.rig import rig


async def test_approve_mode_nothing_reaches_acs_before_approval_then_bootstrap_tr330_2_4(
    tmp_path: Path,
) -> None:
    """A new device is pending and sends nothing to the ACS; approving it (local API, as
    `proxier devices approve` does) brings its 0 BOOTSTRAP; forget removes it and its state."""
    async with rig(tmp_path) as r:
        r.sections = {"privacy": {"mode": "approve"}, "api": {"enable": True, "port": 0}}
        proxier = await r.start_proxier()
        udn = r.lab.devices[0].udn
        for _ in range(50):
            if any(d.get("privacy") == "pending" for d in proxier.virtual_devices()):
                break
            await asyncio.sleep(0.1)
        (pending,) = proxier.virtual_devices()
        assert pending["privacy"] == "pending" and pending["id"] == udn
        await asyncio.sleep(1.0)  # several probe rounds: still nothing at the ACS
        assert await r.client.devices() == []
        base = f"http://127.0.0.1:{proxier.local_api.port}"
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{base}/api/devices/{udn}/approve") as resp:
                assert resp.status == 200
        dev_id: str = (await r.devices(1))[0]["id"]
        inform = (await r.informs(dev_id))[0]
        assert ("0 BOOTSTRAP", "") in {tuple(e) for e in inform["events"]}
        state_dir = str(proxier.registry.device_dir(1))
        assert await asyncio.to_thread(os.path.isdir, state_dir)
        assert await proxier.forget(dev_id)
        assert not await asyncio.to_thread(os.path.isdir, state_dir)
        assert all(d.get("privacy") != "approved" for d in proxier.virtual_devices())
        assert len(proxier.registry) == 0


async def test_deny_keeps_device_out_across_restart_tr330_2_4(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.sections = {"privacy": {"mode": "approve"}}
        proxier = await r.start_proxier()
        udn = r.lab.devices[0].udn
        for _ in range(50):
            if proxier.virtual_devices():
                break
            await asyncio.sleep(0.1)
        assert proxier.deny(udn)
        assert proxier.virtual_devices() == []
        await r.stop_proxier()
        proxier = await r.start_proxier()
        await asyncio.sleep(1.0)
        assert proxier.virtual_devices() == [], "denied stays denied, not even pending"
        assert await r.client.devices() == []
