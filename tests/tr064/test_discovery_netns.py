"""TR-064 discovery by SSDP search inside private network namespaces (issue 10; FRITZ!
guide §2, §2.1.1, §10.1/10.2): the lab TR-064 device answers M-SEARCH for the dslforum
types but sends no NOTIFY, so the proxier's periodic search is what finds it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.netns.fixtures import MakeLan

pytestmark = pytest.mark.netns

DSLFORUM = "urn:dslforum-org:device:"


def alive_tr064(line: str) -> bool:
    if not line.startswith("{"):
        return False
    record: dict[str, Any] = json.loads(line)
    return record["kind"] == "alive" and any(t.startswith(DSLFORUM) for t in record["types"])


async def test_periodic_search_finds_a_device_that_never_notifies(netns_lan: MakeLan) -> None:
    """The device only answers searches (no NOTIFY); discovery's default search targets
    include the dslforum device types, and the answer's LOCATION is tr64desc.xml."""
    lan = netns_lan("cp", "dev")
    dev = await lan.python(
        "dev", "proxier", "lab", "--tr064", "--interface", lan.addr("dev"), "--password", "pw"
    )
    url = await dev.expect(lambda line: line.startswith("http://"))
    assert url.strip().endswith("/tr64desc.xml")
    cp = await lan.python(
        "cp", "tests.netns.discovery_probe", "--source", lan.addr("cp"), "--search-interval", "1"
    )
    await cp.expect(lambda line: line.startswith("READY"))
    found = json.loads(await cp.expect(alive_tr064, within=15))
    assert found["location"] == url.strip()
    assert found["remote"] == lan.addr("dev")
    assert found["udn"].startswith("uuid:")


async def test_proxier_finds_it_by_search_and_serves_it_to_the_acs(netns_lan: MakeLan) -> None:
    """Issue 10 end to end: the proxier with SSDP only (no description URLs) finds the TR-064
    device by its periodic search, identifies it (OUI-ProductClass-MAC), bootstraps it to
    the lab ACS (0 BOOTSTRAP + 1 BOOT) and answers a GPV from the device."""
    lan = netns_lan("cp")
    proc = await lan.python("cp", "tests.netns.tr064_scenario", "--source", lan.addr("cp"))
    line = await proc.expect(lambda s: s.startswith(("{", "DONE", "Traceback")), within=60)
    assert line.startswith("{"), proc.lines[-30:]
    seen = json.loads(line)
    assert seen["id"].endswith("-" + seen["mac"]) and seen["id"].startswith(seen["mac"][:6])
    assert ["0 BOOTSTRAP", ""] in seen["events"][0] and ["1 BOOT", ""] in seen["events"][0]
    assert seen["gpv"]["parameterList"][0]["value"] == seen["mac"]
