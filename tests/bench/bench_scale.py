"""500 virtual devices bootstrapping in one process (issue 4): time and RSS per device.

A LabServer with 500 DM devices and the lab ACS run in this process, on loopback; then one
Proxier discovers all of them through description URLs and each virtual device bootstraps.
Measured in the same run:
- RSS of the idle process (Python + proxier + deps imported), the baseline (≈ 53 MB reference)
- time from Proxier start until the ACS has an Inform from all 500 devices; per device
- RSS added by the proxier (after − before starting it, lab and ACS already up) / 500, as a
  ratio of the idle-process baseline
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tempfile
import time

from proxier.api import Proxier
from proxier.config import from_dict
from proxier.lab.server import LabServer
from proxier.labacs.server import LabAcs, LabAcsConfig

DEVICES = 500
WITHIN = 110.0  # seconds


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


async def main() -> int:
    gc.collect()
    idle = rss_kib()
    async with LabAcs(LabAcsConfig(port=0)) as acs, LabServer(DEVICES) as lab:
        config = from_dict(
            {
                "acs": {"url": acs.url, "periodic_inform_interval": 3600},
                "connection_request": {"port": 0},
                "upnp": {
                    "description_urls": list(lab.description_urls),
                    # issue 12's admission limits (128, 32 new a minute) sized to the bench
                    "max_devices": DEVICES,
                    "max_new_devices_per_minute": DEVICES,
                },
                "state": {"dir": tempfile.mkdtemp(prefix="proxier-bench-scale-")},
                "privacy": {"mode": "auto"},  # proxied at once (default: approve)
                "api": {"enable": False},
            }
        )
        gc.collect()
        before = rss_kib()
        start = time.perf_counter()
        async with Proxier(config) as proxier:
            count = 0
            marks: dict[int, float] = {}
            while time.perf_counter() - start < WITHIN:
                count = len(acs.store.devices())
                for step in (1, 100, 250, DEVICES):
                    if count >= step and step not in marks:
                        marks[step] = time.perf_counter() - start
                if count >= DEVICES:
                    break
                await asyncio.sleep(0.1)
            elapsed = time.perf_counter() - start
            gc.collect()
            after = rss_kib()
            online = sum(1 for row in proxier.virtual_devices() if row["online"])
    print(f"{DEVICES} lab devices; {count} informed the ACS, {online} online in the proxier")
    for step, at in sorted(marks.items()):
        print(f"  {step:4d} device(s) informed after {at:7.2f} s")
    per_device = (after - before) / max(count, 1)
    print(f"bootstrap of {count}: {elapsed:.2f} s, {elapsed / max(count, 1) * 1e3:.1f} ms/device")
    print(f"idle process RSS (baseline):   {idle / 1024:8.1f} MiB")
    print(f"RSS with lab + ACS up:         {before / 1024:8.1f} MiB")
    print(f"RSS after {count} virtual devices: {after / 1024:8.1f} MiB")
    print(
        f"RSS per virtual device:        {per_device:8.1f} KiB "
        f"(×{per_device / idle:.4f} of the idle process; "
        f"{count} devices = ×{(after - before) / idle:.2f})"
    )
    if count < DEVICES:
        print(f"FAILED: only {count} of {DEVICES} devices bootstrapped within {WITHIN:.0f} s")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
