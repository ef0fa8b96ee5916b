"""Issue 13 (bootstrap, "first Informs first"): work a device needs only after its
BOOTSTRAP Inform (the TR-330 §4.6.5 scan of parameters that already notify, the §4.4.1
listing of its logs) runs after that Inform reached the ACS, and still runs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tests.virtual.rig import rig

LATER = {"GetLogURIs", "GetInstances"}  # the log listing; the §4.6.5 scan's first step


async def test_bootstrap_inform_reaches_acs_before_notification_scan_and_log_listing(
    tmp_path: Path,
) -> None:
    """Every device's "0 BOOTSTRAP" Inform is recorded by the ACS before the proxier asks
    that device GetLogURIs or GetInstances; both are asked afterwards, within seconds."""
    async with rig(tmp_path, devices=3) as r:
        seen: dict[str, dict[str, float]] = {}
        for lab_device in r.lab.devices:
            calls = seen.setdefault(lab_device.serial_number, {})

            def record(original: Any, calls: dict[str, float] = calls) -> Any:
                async def call(service: Any, action: str, raw: dict[str, str]) -> Any:
                    calls.setdefault(action, time.time())
                    return await original(service, action, raw)

                return call

            lab_device.call = record(lab_device.call)
        await r.start_proxier()
        devices = await r.devices(3)
        for _ in range(100):
            if all(LATER <= set(calls) for calls in seen.values()):
                break
            await asyncio.sleep(0.1)
        for device in devices:
            calls = seen[device["deviceId"]["serialNumber"]]
            assert LATER <= set(calls), f"{device['id']}: {sorted(calls)}"
            first = r.acs.store.informs(device["id"])[0]
            assert ["0 BOOTSTRAP", ""] in first["events"]
            for action in LATER:
                assert calls[action] >= first["time"], (action, calls[action], first["time"])
