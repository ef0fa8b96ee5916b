"""Discovery of 100 DM devices (issue 3, make bench).

1. description_urls path on loopback: our Discovery probing the description URLs of 100
   lab devices (bounded GET + safe parse + tracker) against plain sequential aiohttp GETs
   of the same 100 descriptions, same lab server, same run.
2. SSDP path (root only, inside private network namespaces): our Discovery finding 100
   devices by M-SEARCH against a bare stdlib M-SEARCH that only counts distinct USNs.
Results are ratios against the baseline measured here, so they hold on any machine.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from proxier.lab.server import LabServer
from proxier.upnp.discovery import Discovery, DiscoveryConfig, DiscoveryEvent
from tests.netns.harness import NetnsLan, unavailable

N = 100
ROUNDS = 5


async def loopback() -> None:
    async with LabServer(N) as lab:
        urls = tuple(lab.description_urls)
        baseline, ours = [], []
        async with aiohttp.ClientSession() as session:
            for _ in range(ROUNDS):
                t0 = time.perf_counter()
                for url in urls:
                    async with session.get(url) as response:
                        await response.read()
                baseline.append(time.perf_counter() - t0)

                found: list[DiscoveryEvent] = []
                discovery = Discovery(
                    DiscoveryConfig(description_urls=urls), found.append, session=session
                )
                t0 = time.perf_counter()
                await discovery.probe_now()
                ours.append(time.perf_counter() - t0)
                assert len({e.udn for e in found if e.kind == "alive"}) == N, len(found)
    b, o = min(baseline), min(ours)
    print(f"description_urls on loopback, {N} lab devices (best of {ROUNDS})")
    print(f"  baseline sequential GETs  {b * 1e3:8.2f} ms")
    print(f"  Discovery.probe_now       {o * 1e3:8.2f} ms  = {o / b:5.2f}x baseline")


async def found_time(lan: NetnsLan, module: str, *args: str) -> float:
    proc = await lan.python("cp", module, "--source", lan.addr("cp"), "--expect", str(N), *args)
    line = await proc.expect(lambda text: text.startswith("FOUND"), within=30)
    await proc.stop()
    return float(line.split()[2])


async def ssdp_in_namespaces() -> None:
    reason = unavailable()
    if reason is not None:
        print(f"SSDP path skipped: {reason}")
        return
    lan = NetnsLan(("cp", "dev")).up()
    try:
        dev = await lan.python(
            "dev",
            "tests.netns.ssdp_device",
            "--source",
            lan.addr("dev"),
            "--count",
            str(N),
            "--quiet",
        )
        await dev.expect(lambda line: line == "READY")
        baseline, ours = [], []
        for _ in range(3):
            baseline.append(await found_time(lan, "tests.netns.raw_msearch"))
            ours.append(await found_time(lan, "tests.netns.discovery_probe", "--quiet"))
    finally:
        await lan.down()
    b, o = min(baseline), min(ours)
    print(f"SSDP M-SEARCH in namespaces, {N} devices (best of 3)")
    print(f"  baseline raw M-SEARCH     {b * 1e3:8.2f} ms")
    print(f"  Discovery (SSDP)          {o * 1e3:8.2f} ms  = {o / b:5.2f}x baseline")


async def main() -> None:
    await loopback()
    await ssdp_in_namespaces()


if __name__ == "__main__":
    asyncio.run(main())
