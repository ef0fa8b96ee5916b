"""TR-330 §2.4 privacy: `[privacy] mode = "approve"` end to end (lab ACS ⇄ proxier ⇄ lab),
driven through the local API's device actions as `proxier devices ACTION ID` does."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import aiohttp

from proxier.api import Proxier
from tests.virtual.rig import rig


async def api(proxier: Proxier, method: str, path: str) -> tuple[int, Any]:
    base = f"http://127.0.0.1:{proxier.local_api.port}"
    headers = {"Authorization": f"Bearer {proxier.local_api.token}"}
    async with aiohttp.ClientSession() as s:
        async with s.request(method, base + path, headers=headers) as resp:
            return resp.status, await resp.json()


async def listed(proxier: Proxier) -> list[dict[str, Any]]:
    status, devices = await api(proxier, "GET", "/api/devices")
    assert status == 200
    return list(devices)


async def test_approve_mode_nothing_reaches_acs_before_approval_then_bootstrap_tr330_2_4(
    tmp_path: Path,
) -> None:
    """By default (an empty [privacy]: mode approve) a new device is listed as pending and
    sends nothing to the ACS; approving it (local API) brings its 0 BOOTSTRAP; forget
    removes it and all its state."""
    async with rig(tmp_path) as r:
        r.sections = {"privacy": {}, "api": {"enable": True, "port": 0}}  # the default mode
        proxier = await r.start_proxier()
        udn = r.lab.devices[0].udn
        for _ in range(50):
            if any(d.get("privacy") == "pending" for d in await listed(proxier)):
                break
            await asyncio.sleep(0.1)
        (pending,) = await listed(proxier)
        assert pending["privacy"] == "pending" and pending["id"] == udn, pending
        assert "nothing sent to the ACS" in pending["reason"]
        await asyncio.sleep(1.0)  # several probe rounds: still nothing at the ACS
        assert await r.client.devices() == []
        status, answer = await api(proxier, "POST", f"/api/devices/{udn}/approve")
        assert status == 200 and answer["privacy"] == "approved", answer
        dev_id: str = (await r.devices(1))[0]["id"]
        inform = (await r.informs(dev_id))[0]
        assert ("0 BOOTSTRAP", "") in {tuple(e) for e in inform["events"]}
        (row,) = await listed(proxier)
        assert row["id"] == dev_id and "privacy" not in row
        state_dir = str(proxier.registry.device_dir(1))
        assert await asyncio.to_thread(os.path.isdir, state_dir)
        status, answer = await api(proxier, "POST", f"/api/devices/{dev_id}/forget")
        assert status == 200 and answer["forgotten"] is True
        assert not await asyncio.to_thread(os.path.isdir, state_dir)
        assert len(proxier.registry) == 0
        # forgotten with its decision: seen again, it is pending again (not approved)
        for _ in range(50):
            if any(d.get("privacy") == "pending" for d in await listed(proxier)):
                break
            await asyncio.sleep(0.1)
        assert [d["id"] for d in await listed(proxier)] == [udn]


async def test_deny_keeps_device_out_across_restart_tr330_2_4(tmp_path: Path) -> None:
    """`proxier devices deny ID` keeps a pending device out for good: not even listed."""
    async with rig(tmp_path) as r:
        r.sections = {"privacy": {"mode": "approve"}, "api": {"enable": True, "port": 0}}
        proxier = await r.start_proxier()
        udn = r.lab.devices[0].udn
        for _ in range(50):
            if await listed(proxier):
                break
            await asyncio.sleep(0.1)
        status, answer = await api(proxier, "POST", f"/api/devices/{udn}/deny")
        assert status == 200 and answer == {"device": udn, "action": "deny", "privacy": "denied"}
        assert await listed(proxier) == []
        await r.stop_proxier()
        proxier = await r.start_proxier()
        await asyncio.sleep(1.0)
        assert await listed(proxier) == [], "denied stays denied, not even pending"
        assert await r.client.devices() == []
