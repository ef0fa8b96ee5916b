"""Interop with an independent UPnP stack: GUPnP 1.6 (C, via PyGObject), inside private
network namespaces (issue 3 "Done when"; recipe: ../shared/tools/upnp-peers)."""

from __future__ import annotations

import pytest

from tests.netns.fixtures import MakeLan
from tests.netns.harness import REPO

pytestmark = [pytest.mark.netns, pytest.mark.peers]

PEERS = REPO / "tests" / "peers"
GPY = "/usr/bin/python3"  # python3-gi is Debian's


async def test_our_control_point_drives_gupnp_device(netns_lan: MakeLan, gupnp: None) -> None:
    """TR-330 §4.1.1 + §4.2.1 against GUPnP: our control point discovers the GUPnP-hosted
    ManageableDevice by SSDP, reads its description, calls CMS GetValues/SetValues and holds
    a GENA subscription that delivers the initial and a change event."""
    lan = netns_lan("cp", "dev")
    device = await lan.spawn(
        "dev", GPY, str(PEERS / "gupnp_device.py"), "--iface", "upnp0", "--period", "1"
    )
    await device.expect(lambda line: line.startswith("READY"))
    cp = await lan.python("cp", "tests.netns.interop_cp", "--source", lan.addr("cp"))
    await cp.expect(lambda line: line.startswith("OK discovered uuid:5a1f6c2e"))
    await cp.expect(lambda line: line.startswith("OK GetValues -> "))
    await cp.expect(lambda line: line == "OK SetValues -> ChangesApplied")
    await device.expect(lambda line: "set-by-proxier" in line)
    await cp.expect(lambda line: line.startswith("OK event seq=0 "))
    await cp.expect(lambda line: line.startswith("OK event seq=1 "))
    await cp.expect(lambda line: line == "OK unsubscribed")
    assert await cp.exited() == 0


async def test_ipv6_global_address_with_gupnp_device(netns_lan: MakeLan, gupnp: None) -> None:
    """UDA Annex A IPv6: on a global address GUPnP uses the site-local group FF05::C; our
    control point searches there, calls SOAP on a bracketed IPv6 URL and receives GENA
    events on an IPv6 callback URL."""
    lan = netns_lan("cp", "dev", v6=True)
    device = await lan.spawn(
        "dev",
        GPY,
        str(PEERS / "gupnp_device.py"),
        "--iface",
        "upnp0",
        "--address",
        lan.addr6("dev"),
        "--period",
        "1",
    )
    await device.expect(lambda line: line.startswith("READY"))
    source = f"{lan.addr6('cp')}%upnp0"
    cp = await lan.python("cp", "tests.netns.interop_cp", "--source", source, "--events", "1")
    found = await cp.expect(lambda line: line.startswith("OK discovered"))
    assert f"http://[{lan.addr6('dev')}]:" in found
    await cp.expect(lambda line: line == "OK SetValues -> ChangesApplied")
    await cp.expect(lambda line: line.startswith("OK event seq=0 "))
    assert await cp.exited() == 0


async def test_gupnp_control_point_drives_lab_device(netns_lan: MakeLan, gupnp: None) -> None:
    """Issue 3 interop: a GUPnP control point finds our lab device by SSDP, reads its
    description and SCPD, calls CMS GetValues and SetValues, subscribes (our SID/TIMEOUT
    forms satisfy GUPnP, cf. the async-upnp-client server pitfall) and gets events."""
    lan = netns_lan("cp", "dev")
    addr = lan.addr("dev")
    lab = await lan.python(
        "dev", "proxier", "lab", "--devices", "1", "--host", addr, "--interface", addr
    )
    await lab.expect(lambda line: line.startswith(f"http://{addr}:"))
    cp = await lan.spawn(
        "cp",
        GPY,
        str(PEERS / "gupnp_cp.py"),
        "--iface",
        "upnp0",
        "--get-path",
        "/UPnP/DM/DeviceInfo/",
        "--set-path",
        "/UPnP/DM/Configuration/Network/HostName",
        "--set-value",
        "gupnp-was-here",
        "--notify",
        "ConfigurationUpdate",
        "--events",
        "1",
        "--timeout",
        "60",
    )
    await cp.expect(lambda line: line.startswith("OK service-proxy-available"))
    got = await cp.expect(lambda line: line.startswith("OK SOAP GetValues"))
    assert "/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/ManufacturerOUI" in got
    await cp.expect(lambda line: line.startswith("OK SOAP SetValues -> Status="))
    # the initial event after SUBSCRIBE already carries the version our SetValues made
    await cp.expect(lambda line: line.startswith("OK event #1 ConfigurationUpdate='2,"), within=55)
    await cp.expect(lambda line: line == "OK unsubscribed")
    assert await cp.exited(within=20) == 0, cp.lines
