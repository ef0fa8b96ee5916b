"""Lab SSDP over real multicast, only inside private network namespaces the test makes.

UDA 1.1 §1.2 (ssdp:alive with CACHE-CONTROL, BOOTID/CONFIGID; ssdp:byebye on stop), §1.3
(M-SEARCH answers), TR-330 Table 1 (byebye with Announcement.dm.upnp.org AboutToReboot,
then alive with a new BOOTID). The control point is proxier's own discovery.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from proxier.upnp.netns import in_private_netns
from tests.netns.fixtures import MakeLan

REBOOT = """
import asyncio, aiohttp, sys
from proxier.upnp import soap
async def main():
    st = "urn:schemas-upnp-org:service:BasicManagement:2"
    headers, body = soap.build_request(st, "Reboot", [])
    async with aiohttp.ClientSession() as s:
        async with s.post(sys.argv[1], data=body, headers=headers) as r:
            print("REBOOT", r.status, flush=True)
asyncio.run(main())
"""


def event(kind: str, **want: Any) -> Any:
    def match(line: str) -> bool:
        if not line.startswith("{"):
            return False
        record = json.loads(line)
        return bool(record["kind"] == kind and all(record.get(k) == v for k, v in want.items()))

    return match


@pytest.mark.netns
async def test_lab_announces_answers_search_reboots_and_says_byebye(netns_lan: MakeLan) -> None:
    lan = netns_lan("cp", "dev")
    addr = lan.addr("dev")
    lab = await lan.python(
        "dev",
        "proxier",
        "lab",
        "--devices",
        "2",
        "--interface",
        "upnp0",  # a name: the lab serves HTTP on its address too
        "--reboot-delay",
        "0.3",
    )
    urls = [await lab.expect(lambda line: line.startswith("http://")) for _ in range(2)]
    assert all(url.startswith(f"http://{addr}:") for url in urls)
    udns = ["uuid:" + url.split("/dev/", 1)[1].split("/", 1)[0] for url in urls]
    # The CP starts after the lab's first alive burst: it finds both by M-SEARCH.
    cp = await lan.python("cp", "tests.netns.discovery_probe", "--source", lan.addr("cp"))
    await cp.expect(lambda line: line.startswith("READY"))
    for udn, url in zip(udns, urls, strict=True):
        found = json.loads(await cp.expect(event("alive", udn=udn)))
        assert found["location"] == url

    control = urls[0].replace("description.xml", "bms/control")
    caller = await lan.spawn("cp", sys.executable, "-c", REBOOT, control, name="reboot")
    await caller.expect(lambda line: line == "REBOOT 200")
    await cp.expect(event("byebye", udn=udns[0], announcement="AboutToReboot"))
    back = json.loads(await cp.expect(event("alive", udn=udns[0], boot_id=2)))
    assert back["location"] == urls[0]

    assert await lab.stop() == 0
    remaining = set(udns)
    while remaining:
        record = json.loads(await cp.expect(event("byebye")))
        remaining.discard(record["udn"])


@pytest.mark.skipif(in_private_netns(), reason="this test process runs in a private namespace")
def test_lab_refuses_multicast_in_the_host_namespace() -> None:
    """Network safety: `--interface` outside a private namespace is refused before any send."""
    done = subprocess.run(
        [sys.executable, "-m", "proxier", "lab", "--interface", "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "refusing SSDP multicast" in done.stderr
    assert done.stdout == ""
