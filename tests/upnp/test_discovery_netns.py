"""Discovery over real SSDP multicast, inside private network namespaces (TR-330 §4.1.1,
§4.2.1 Table 1). Every process that speaks SSDP runs in a namespace the test made."""

from __future__ import annotations

import json
from typing import Any

import pytest

from proxier.upnp.netns import in_private_netns
from tests.netns.fixtures import MakeLan
from tests.netns.harness import Proc

pytestmark = pytest.mark.netns

UDN = "uuid:6b0b1a52-9f59-4e0a-8c4e-00000000d001"


def event(kind: str, **want: Any) -> Any:
    def match(line: str) -> bool:
        if not line.startswith("{"):
            return False
        record = json.loads(line)
        return record["kind"] == kind and all(record.get(k) == v for k, v in want.items())

    return match


async def start_cp(lan: Any, source: str = "") -> Proc:
    source = source or lan.addr("cp")
    cp = await lan.python("cp", "tests.netns.discovery_probe", "--source", source)
    await cp.expect(lambda line: line.startswith("READY"))
    return cp


async def test_finds_device_then_byebye_reboot_and_lease_expiry(netns_lan: MakeLan) -> None:
    """TR-330 §4.1.1: NOTIFY alive makes a candidate; Table 1: byebye with
    Announcement.dm.upnp.org AboutToReboot, then alive with a new BOOTID; UDA §1.2.2: a
    device that goes silent expires when its max-age runs out."""
    lan = netns_lan("cp", "dev")
    cp = await start_cp(lan, "upnp0")  # an interface name, as in the [upnp] config
    dev = await lan.python(
        "dev", "tests.netns.ssdp_device", "--source", lan.addr("dev"), "--max-age", "2"
    )
    await dev.expect(lambda line: line == "READY")
    found = json.loads(await cp.expect(event("alive", udn=UDN)))
    assert found["location"].startswith(f"http://{lan.addr('dev')}:8080/")
    assert found["root"] is True and found["remote"] == lan.addr("dev")
    assert "urn:schemas-upnp-org:device:ManageableDevice:2" in found["types"]

    await dev.send("reboot")
    await cp.expect(event("byebye", udn=UDN, announcement="AboutToReboot"))
    back = json.loads(await cp.expect(event("alive", udn=UDN)))
    assert back["boot_id"] == 2

    await dev.send("vanish")
    await cp.expect(event("expired", udn=UDN), within=8)


async def test_msearch_finds_device_that_announced_before_we_listened(
    netns_lan: MakeLan,
) -> None:
    """TR-330 §4.1.1: advertisements may be missed, so the proxier searches; a device that
    announced before the control point started is found by M-SEARCH."""
    lan = netns_lan("cp", "dev")
    dev = await lan.python("dev", "tests.netns.ssdp_device", "--source", lan.addr("dev"))
    await dev.expect(lambda line: line == "READY")
    cp = await start_cp(lan)
    await cp.expect(event("alive", udn=UDN))


@pytest.mark.skipif(
    in_private_netns(), reason="this test process already runs in a private namespace"
)
def test_helpers_refuse_host_namespace() -> None:
    """Network safety: the in-namespace helpers refuse to run in the host namespace."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "tests.netns.ssdp_device", "--source", "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=30,
        input="",
    )
    assert done.returncode == 2 and "refusing" in done.stderr


async def test_lab_devices_found_and_reboot_announced(netns_lan: MakeLan) -> None:
    """TR-330 §4.1.1 with our lab devices announcing over SSDP: each device is a candidate;
    BMS Reboot (called through BmsClient) shows as byebye with Announcement.dm.upnp.org
    AboutToReboot (TR-330 Table 1), then alive again with a higher BOOTID."""
    lan = netns_lan("cp", "dev")
    addr = lan.addr("dev")
    cp = await start_cp(lan)
    lab = await lan.python(
        "dev",
        "proxier",
        "lab",
        "--devices",
        "2",
        "--host",
        addr,
        "--interface",
        addr,
        "--reboot-delay",
        "0.3",
    )
    urls = [await lab.expect(lambda line: line.startswith("http://")) for _ in range(2)]
    seen = {}
    while len(seen) < 2:
        record = json.loads(await cp.expect(event("alive")))
        seen[record["udn"]] = record
    assert {r["location"] for r in seen.values()} == set(urls)
    udn, first = next(iter(seen.items()))
    reboot = await lan.python("cp", "tests.netns.bms_reboot", first["location"], udn)
    await reboot.expect(lambda line: line.startswith("OK Reboot"))
    await cp.expect(event("byebye", udn=udn, announcement="AboutToReboot"))
    back = json.loads(await cp.expect(event("alive", udn=udn)))
    assert back["boot_id"] > (first["boot_id"] or 0)
