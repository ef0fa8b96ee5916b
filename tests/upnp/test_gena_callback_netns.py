"""Issue 8, GENA callback address: a device reached through `description_urls` on a
non-loopback LAN address delivers its events (UDA §4.1.2: the CALLBACK must reach us), and
the callback names the LAN-side local address of the path, never loopback or a wildcard."""

from __future__ import annotations

import sys

from tests.netns.fixtures import MakeLan


async def test_events_from_a_lan_device_found_by_description_url_arrive(
    netns_lan: MakeLan,
) -> None:
    lan = netns_lan("cp", "dev")
    dev = lan.addr("dev")
    lab = await lan.spawn("dev", sys.executable, "-m", "proxier", "lab", "--host", dev)
    url = await lab.expect(lambda s: s.startswith("http://"), within=30)
    proc = await lan.python("cp", "tests.netns.gena_callback_scenario", "--url", url.strip())
    callback = await proc.expect(lambda s: s.startswith(("CALLBACK", "NO DEVICE", "Trace")), 60)
    assert callback.startswith(f"CALLBACK http://{lan.addr('cp')}:"), proc.lines[-20:]
    event = await proc.expect(lambda s: s.startswith(("EVENT", "DONE", "Trace")), within=30)
    assert event.startswith("EVENT") and "ConfigurationUpdate" in event, proc.lines[-20:]
