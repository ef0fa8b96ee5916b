"""Issue 12 #16: `Device.DeviceInfo.VendorLogFile.{i}.Persistent` from what the device's logs
do across a reboot (TR-330 §4.4.1: "could use 0 initially, and observe if the log content is
purged after the device rebooted and update the value accordingly"), end to end: lab ACS ⇄
proxier ⇄ `proxier lab`, whose `syslog` survives a reboot and whose `boot` log is purged by
one (docs/lab.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.virtual.rig import Rig, rig
from tests.virtual.tasks import gpv, ok, started, values

LOGS = "Device.DeviceInfo.VendorLogFile."


async def persistent_by_log(r: Rig, dev_id: str) -> dict[str, str]:
    """Log name (the LogURI tail ending the internal Name) → Persistent."""
    got = {n: v for n, (v, _) in values(await r.rpc(dev_id, gpv(LOGS))).items()}
    return {
        got[name].rsplit("/", 1)[-1]: got[name[: -len("Name")] + "Persistent"]
        for name in got
        if name.endswith(".Name")
    }


async def test_rule16_persistent_follows_what_the_log_kept_across_a_reboot(
    tmp_path: Path,
) -> None:
    """Before any reboot both logs are Persistent 0; after the device rebooted ("1 BOOT"),
    the log that kept its content is 1 and the purged one 0; the verdicts are kept across a
    proxier restart."""
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        device = r.lab_device(dev_id)
        assert {n: rec.persistent for n, rec in device.bms.logs.items()} == {
            "syslog": True,
            "boot": False,
        }
        assert await persistent_by_log(r, dev_id) == {"syslog": "0", "boot": "0"}
        device.faults.reboot_delay = 0.5
        mark = r.last_inform_id(dev_id)
        ok(await r.rpc(dev_id, {"name": "Reboot", "commandKey": "logs"}))
        await r.inform_with(dev_id, "1 BOOT", after=mark)
        seen: dict[str, str] = {}
        for _ in range(5):  # each read is a Connection Request: few (TR-069 §3.2.2 limit)
            await asyncio.sleep(0.5)
            seen = await persistent_by_log(r, dev_id)
            if seen["syslog"] == "1":
                break
        assert seen == {"syslog": "1", "boot": "0"}
        await r.stop_proxier()
        await r.start_proxier()
        (kept,) = await r.session(dev_id, [gpv(LOGS)])
        by_name = {n: v for n, (v, _) in values(kept).items()}
        assert sorted(v for n, v in by_name.items() if n.endswith(".Persistent")) == ["0", "1"]
