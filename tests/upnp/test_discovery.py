"""DM device tracker (sans-IO): TR-330 §4.1.1 discovery and Table 1 announcements."""

from __future__ import annotations

import ipaddress
import logging

import pytest

from proxier.upnp import ssdp
from proxier.upnp.discovery import (
    DM_SEARCH_TARGETS,
    DeviceTracker,
    ProbedDevice,
    devices_in_description,
)
from proxier.xmlsafe import XmlError

MD2 = "urn:schemas-upnp-org:device:ManageableDevice:2"
CMS2 = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
BMS1 = "urn:schemas-upnp-org:service:BasicManagement:1"
MEDIA = "urn:schemas-upnp-org:device:MediaServer:1"
ROOT = "uuid:00000000-0000-0000-0000-0000000000r0"
EMB = "uuid:00000000-0000-0000-0000-0000000000e1"
LOC = "http://198.18.0.12:8000/d.xml"
#: The test LAN's subnet: LOCATIONs on it are fetched whoever announces them (issue 12 item 6).
LAN = (ipaddress.ip_network("198.18.0.0/15"),)


def alive(nt: str, udn: str = ROOT, *, loc: str = LOC, max_age: int = 100, boot: int = 1) -> bytes:
    return ssdp.build_notify("ssdp:alive", nt, udn, location=loc, max_age=max_age, boot_id=boot)


def test_search_targets_cover_dm_v1_v2() -> None:
    """TR-330 §4.1.1: query for the supported DM services (BMS/CMS/SMS v1, v2) and devices."""
    assert len(DM_SEARCH_TARGETS) == 8
    assert CMS2 in DM_SEARCH_TARGETS and BMS1 in DM_SEARCH_TARGETS
    assert "urn:schemas-upnp-org:device:ManageableDevice:1" in DM_SEARCH_TARGETS


def test_alive_once_per_device_and_non_dm_ignored() -> None:
    """TR-330 §4.1.1 step 1: an advertisement of a DM service makes one candidate; the
    rest of the alive burst refreshes it silently; non-DM devices are not candidates."""
    t = DeviceTracker(lan=LAN)
    assert t.datagram(alive("upnp:rootdevice"), "198.18.0.12", 0.0) == []  # not DM (yet)
    events = t.datagram(alive(MD2), "198.18.0.12", 0.0)
    assert [(e.kind, e.udn, e.location, e.root) for e in events] == [("alive", ROOT, LOC, True)]
    assert MD2 in events[0].device_types and events[0].boot_id == 1
    assert t.datagram(alive(CMS2), "198.18.0.12", 0.1) == []
    assert t.datagram(alive(MEDIA, "uuid:media"), "198.18.0.30", 0.1) == []
    assert t.candidates() == [ROOT]


def test_embedded_device_is_separate_candidate() -> None:
    """TR-330 §4.1.1: root and embedded devices are each their own proxy candidate."""
    t = DeviceTracker(lan=LAN)
    t.datagram(alive(MEDIA), "h", 0.0)
    t.datagram(alive("upnp:rootdevice"), "h", 0.0)
    (event,) = t.datagram(alive(CMS2, EMB), "h", 0.0)
    assert (event.kind, event.udn, event.location) == ("alive", EMB, LOC)
    assert event.root is None and event.service_types == {CMS2}
    assert t.candidates() == [EMB]


def test_location_or_bootid_change_is_new_alive() -> None:
    """UDA 1.1 §1.2.2: a new BOOTID (or LOCATION) means the device must be re-read."""
    t = DeviceTracker(lan=LAN)
    t.datagram(alive(CMS2), "h", 0.0)
    assert t.datagram(alive(CMS2, boot=1), "h", 1.0) == []
    (e1,) = t.datagram(alive(CMS2, boot=2), "h", 2.0)
    assert (e1.kind, e1.boot_id) == ("alive", 2)
    (e2,) = t.datagram(alive(CMS2, boot=2, loc="http://198.18.0.12:9/d.xml"), "h", 3.0)
    assert (e2.kind, e2.location) == ("alive", "http://198.18.0.12:9/d.xml")


def test_byebye_with_announcement() -> None:
    """TR-330 Table 1: ssdp:byebye with Announcement.dm.upnp.org AboutToReboot reaches the
    proxy layer once, with the announcement; later byebyes of the burst are ignored."""
    t = DeviceTracker(lan=LAN)
    t.datagram(alive(CMS2), "h", 0.0)
    bye = ssdp.build_notify("ssdp:byebye", CMS2, ROOT, announcement="aboutToReboot")
    (event,) = t.datagram(bye, "h", 1.0)
    assert (event.kind, event.udn, event.announcement) == ("byebye", ROOT, "AboutToReboot")
    assert t.datagram(ssdp.build_notify("ssdp:byebye", "upnp:rootdevice", ROOT), "h", 1.0) == []
    assert t.candidates() == []
    (again,) = t.datagram(alive(CMS2, boot=2), "h", 5.0)
    assert again.kind == "alive" and again.boot_id == 2


def test_byebye_of_unknown_device_ignored() -> None:
    """A byebye for a device we never saw alive produces nothing."""
    t = DeviceTracker(lan=LAN)
    bye = ssdp.build_notify("ssdp:byebye", CMS2, ROOT, announcement="AboutToBaselineReset")
    assert t.datagram(bye, "h", 0.0) == []


def test_lease_expiry() -> None:
    """UDA §1.2.2: a device that stops announcing is gone when CACHE-CONTROL max-age ends;
    each re-announcement extends the lease."""
    t = DeviceTracker(lan=LAN)
    t.datagram(alive(CMS2, max_age=10), "h", 0.0)
    assert t.get_timer() == 10.0
    t.datagram(alive(CMS2, max_age=10), "h", 5.0)
    assert t.get_timer() == 15.0
    assert t.handle_timer(14.9) == []
    (event,) = t.handle_timer(15.0)
    assert (event.kind, event.udn) == ("expired", ROOT)
    assert t.get_timer() is None and t.candidates() == []


def test_update_reported_once_and_not_mistaken_for_reboot() -> None:
    """UDA 1.1 §1.2.4: ssdp:update moves BOOTID to NEXTBOOTID; the following alive with that
    BOOTID is the same device, not a reboot."""
    t = DeviceTracker(lan=LAN)
    t.datagram(alive(CMS2, boot=1), "h", 0.0)
    upd = ssdp.build_notify("ssdp:update", CMS2, ROOT, location=LOC, boot_id=1, next_boot_id=2)
    (event,) = t.datagram(upd, "h", 1.0)
    assert (event.kind, event.boot_id) == ("update", 2)
    upd2 = ssdp.build_notify("ssdp:update", MD2, ROOT, location=LOC, boot_id=1, next_boot_id=2)
    assert t.datagram(upd2, "h", 1.0) == []
    assert t.datagram(alive(CMS2, boot=2), "h", 2.0) == []


def test_search_response_counts_as_alive_and_msearch_ignored() -> None:
    """UDA §1.3.3: search answers announce a device like ssdp:alive; other control
    points' M-SEARCHes are not devices."""
    t = DeviceTracker(lan=LAN)
    assert t.datagram(ssdp.build_msearch(CMS2), "198.18.0.20", 0.0) == []
    SECURE = "https://198.18.0.12:8443/d"
    resp = ssdp.build_search_response(CMS2, ROOT, location=LOC, secure_location=SECURE)
    (event,) = t.datagram(resp, "198.18.0.12", 0.0)
    assert (event.kind, event.secure_location, event.remote) == (
        "alive",
        SECURE,
        "198.18.0.12",
    )


def test_malformed_datagram_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """Bad input never crashes: the tracker drops it with a debug line."""
    caplog.set_level(logging.DEBUG, logger="proxier.upnp.discovery")
    t = DeviceTracker(lan=LAN)
    assert t.datagram(b"NOTIFY * HTTP/1.1\r\nNTS: ssdp:alive\r\n\r\n", "198.18.0.66", 0.0) == []
    assert "198.18.0.66" in caplog.text


def test_record_flood_bounded() -> None:
    """A LAN flooding fake UDNs cannot grow the tracker without bound."""
    t = DeviceTracker(max_records=3, lan=LAN)
    for i in range(10):
        t.datagram(alive(CMS2, f"uuid:flood-{i}"), "h", 0.0)
    assert len(t.candidates()) == 3


def test_multi_homed_device_has_one_lease_per_interface() -> None:
    """TR-330 §4.1.1 / UDA 2.0 §1.2: a multi-homed device announces the same UUID on each
    interface with its own LOCATION; each path is tracked on its own (no flapping between
    locations), and a byebye or expiry on one interface leaves the other alive."""
    t = DeviceTracker(lan=LAN)
    loc2 = "http://198.19.0.12:8000/d.xml"
    (a,) = t.datagram(alive(CMS2, max_age=10), "198.18.0.12", 0.0)
    (b,) = t.datagram(alive(CMS2, loc=loc2, max_age=20), "198.19.0.12", 0.0)
    assert (a.via, a.location) == ("198.18.0.12", LOC)
    assert (b.via, b.location) == ("198.19.0.12", loc2)
    for now in (1.0, 2.0):  # both keep announcing: refreshes only
        assert t.datagram(alive(CMS2, max_age=10), "198.18.0.12", now) == []
        assert t.datagram(alive(CMS2, loc=loc2, max_age=20), "198.19.0.12", now) == []
    (gone,) = t.handle_timer(12.0)
    assert (gone.kind, gone.via) == ("expired", "198.18.0.12")
    assert t.candidates() == [ROOT]
    (bye,) = t.datagram(ssdp.build_notify("ssdp:byebye", CMS2, ROOT), "198.19.0.12", 13.0)
    assert (bye.kind, bye.via, bye.location) == ("byebye", "198.19.0.12", loc2)
    assert t.candidates() == []


def test_byebye_burst_on_one_interface_leaves_the_other() -> None:
    """TR-330 §4.1.1 multi-homed: a byebye burst (one per NT, each repeated) from one
    interface ends that path only; a DM announcement from an interface with no path left is
    still reported once (it is about the device, TR-330 Table 1)."""
    t = DeviceTracker(lan=LAN)
    loc2 = "http://198.19.0.12:8000/d.xml"
    t.datagram(alive(CMS2), "198.18.0.12", 0.0)
    t.datagram(alive(CMS2, loc=loc2), "198.19.0.12", 0.0)
    bye = ssdp.build_notify("ssdp:byebye", CMS2, ROOT)
    (first,) = t.datagram(bye, "198.18.0.12", 1.0)
    assert first.via == "198.18.0.12"
    for nt in (CMS2, "upnp:rootdevice", ROOT):
        assert t.datagram(ssdp.build_notify("ssdp:byebye", nt, ROOT), "198.18.0.12", 1.0) == []
    assert t.candidates() == [ROOT]
    reboot = ssdp.build_notify("ssdp:byebye", CMS2, ROOT, announcement="AboutToReboot")
    assert t.datagram(reboot, "198.18.0.12", 2.0) == []  # same burst source: already gone
    (other,) = t.datagram(reboot, "198.19.0.12", 2.0)
    assert (other.kind, other.via, other.announcement) == ("byebye", "198.19.0.12", "AboutToReboot")
    assert t.candidates() == []


def test_same_udn_in_two_description_urls_is_two_paths() -> None:
    """A device listed by two configured description URLs (two addresses of one device) is
    tracked per URL: one failing does not expire the other."""
    t = DeviceTracker(lan=LAN)
    url1 = "http://127.0.0.1:8000/dev/1/description.xml"
    url2 = "http://127.0.0.2:8000/dev/1/description.xml"
    devs = [ProbedDevice(ROOT, MD2, (CMS2,), True)]
    (e1,) = t.probe_ok(url1, devs, 0.0)
    (e2,) = t.probe_ok(url2, devs, 0.0)
    assert (e1.via, e2.via) == (url1, url2)
    assert t.probe_ok(url1, devs, 1.0) == [] and t.probe_ok(url2, devs, 1.0) == []
    (gone,) = t.probe_failed(url2, 2.0, limit=1)
    assert (gone.kind, gone.udn, gone.via) == ("expired", ROOT, url2)
    assert t.candidates() == [ROOT]


def test_probe_path_alive_and_expiry_after_failures() -> None:
    """No-multicast path: a reachable description URL makes its DM devices alive; N misses
    in a row expire them; a device that vanished from the description expires at once."""
    t = DeviceTracker(lan=LAN)
    url = "http://127.0.0.1:8000/dev/1/description.xml"
    devs = [ProbedDevice(ROOT, MD2, (CMS2, BMS1), True), ProbedDevice(EMB, MEDIA, (), False)]
    (event,) = t.probe_ok(url, devs, 0.0)
    assert (event.kind, event.udn, event.location, event.root) == ("alive", ROOT, url, True)
    assert t.get_timer() is None  # no lease on polled devices
    assert t.probe_ok(url, devs, 30.0) == []
    assert t.probe_failed(url, 60.0, limit=3) == []
    assert t.probe_failed(url, 90.0, limit=3) == []
    (gone,) = t.probe_failed(url, 120.0, limit=3)
    assert (gone.kind, gone.udn) == ("expired", ROOT)
    t.probe_ok(url, devs, 150.0)
    (vanished,) = t.probe_ok(url, [], 180.0)
    assert (vanished.kind, vanished.udn) == ("expired", ROOT)


DESCRIPTION = f"""<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major></specVersion>
<device><deviceType>{MEDIA}</deviceType><UDN>{ROOT}</UDN>
 <deviceList><device><deviceType>{MD2}</deviceType><UDN>{EMB}</UDN>
  <serviceList><service><serviceType>{CMS2}</serviceType></service></serviceList>
 </device></deviceList>
</device></root>""".encode()


def test_devices_in_description_root_and_embedded() -> None:
    """TR-330 §4.1.1 step 2: the DDD lists the root device and its embedded devices."""
    found = devices_in_description(DESCRIPTION, max_bytes=100_000)
    assert found == [
        ProbedDevice(ROOT, MEDIA, (), True),
        ProbedDevice(EMB, MD2, (CMS2,), False),
    ]


@pytest.mark.parametrize(
    "doc",
    [
        b'<!DOCTYPE r [<!ENTITY x "y">]><root/>',
        b"<notroot/>",
        b"<root><device>",
    ],
)
def test_hostile_description_rejected(doc: bytes) -> None:
    """Descriptions are parsed safely: DTDs, wrong roots and broken XML are errors."""
    with pytest.raises(XmlError):
        devices_in_description(doc, max_bytes=100_000)


# --- the description_urls driver path over loopback ----------------------------------------


async def test_description_urls_probe_over_loopback() -> None:
    """No-multicast discovery (issue 3): configured description URLs are fetched; a
    reachable one announces its DM devices, an oversized or broken one is skipped, and
    one that stops answering expires after `probe_failures` misses."""
    from aiohttp import web

    from proxier.upnp.discovery import Discovery, DiscoveryConfig, DiscoveryEvent

    async def description(request: web.Request) -> web.Response:
        return web.Response(body=DESCRIPTION, content_type="text/xml")

    async def huge(request: web.Request) -> web.Response:
        return web.Response(body=b"<root>" + b" " * 300_000 + b"</root>")

    app = web.Application()
    app.router.add_get("/d.xml", description)
    app.router.add_get("/huge.xml", huge)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    good = f"http://127.0.0.1:{port}/d.xml"
    config = DiscoveryConfig(
        description_urls=(good, f"http://127.0.0.1:{port}/huge.xml"),
        probe_interval=3600,
        probe_failures=2,
        max_description_bytes=200_000,
    )
    seen: list[DiscoveryEvent] = []
    async with Discovery(config, seen.append) as discovery:
        await discovery.probe_now()
        assert [(e.kind, e.udn, e.location) for e in seen] == [("alive", EMB, good)]
        await runner.cleanup()
        await discovery.probe_now()
        assert len(seen) == 1
        await discovery.probe_now()
        assert [(e.kind, e.udn) for e in seen[1:]] == [("expired", EMB)]


async def test_many_description_urls_are_fetched_a_bounded_number_at_a_time() -> None:
    """Issue 13: 120 description URLs on a slow server: at most `max_parallel_fetches`
    GETs are in flight at once, so none waits its turn past `fetch_timeout`; all 120 are
    found. Later rounds probe one URL per probe_interval / len(urls)."""
    import asyncio

    from aiohttp import web

    from proxier.upnp.discovery import Discovery, DiscoveryConfig, DiscoveryEvent

    in_flight = peak = 0

    async def description(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        n = int(request.match_info["n"])
        body = DESCRIPTION.replace(EMB.encode(), f"uuid:00000000-0000-0000-0000-{n:012d}".encode())
        return web.Response(body=body, content_type="text/xml")

    app = web.Application()
    app.router.add_get("/{n}/d.xml", description)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    urls = tuple(f"http://127.0.0.1:{port}/{n}/d.xml" for n in range(120))
    config = DiscoveryConfig(
        description_urls=urls, probe_interval=60, fetch_timeout=1.0, max_parallel_fetches=8
    )
    seen: list[DiscoveryEvent] = []
    try:
        async with Discovery(config, seen.append) as discovery:
            await discovery.probe_now()
            assert discovery.probe_gap() == 0.5
    finally:
        await runner.cleanup()
    assert peak <= 8
    assert len({e.udn for e in seen if e.kind == "alive"}) == 120


def test_configured_description_urls_always_fit_the_tracker() -> None:
    """Issue 13: the SSDP flood guard (max_records) must not ignore a fleet the operator
    listed: 2,000 description URLs leave room for 4 leases each."""
    from proxier.upnp.discovery import Discovery, DiscoveryConfig, ProbedDevice

    urls = tuple(f"http://127.0.0.1:1/{n}/d.xml" for n in range(2000))
    tracker = Discovery(DiscoveryConfig(description_urls=urls), lambda event: None).tracker
    for n in range(2000):
        udn = f"uuid:00000000-0000-0000-0000-{n:012d}"
        tracker.probe_ok(urls[n], [ProbedDevice(udn, MD2, (CMS2,), True)], now=0.0)
    assert len(tracker.candidates()) == 2000


def test_location_host_only_sender_or_lan_subnet(caplog: pytest.LogCaptureFixture) -> None:
    """Issue 12 item 6: an alive/update/search answer whose LOCATION (or SECURELOCATION)
    names a host other than the sender and off the LAN interfaces' subnets is dropped, with
    one log line per sender and URL however often it repeats; host names are refused too."""
    t = DeviceTracker()  # no LAN subnet known: only the sender's own address
    assert len(t.datagram(alive(CMS2), "198.18.0.12", 0.0)) == 1  # its own address
    for _ in range(5):
        assert (
            t.datagram(alive(CMS2, "uuid:x", loc="http://10.1.2.3/d.xml"), "198.18.0.66", 0) == []
        )
    for other in ("http://gateway.example/d.xml", "http://[::1]:80/d.xml"):
        assert t.datagram(alive(CMS2, "uuid:y", loc=other), "198.18.0.66", 0.0) == []
    secure = ssdp.build_search_response(
        CMS2, "uuid:z", location="http://198.18.0.66/d", secure_location="https://10.1.2.3/d"
    )
    assert t.datagram(secure, "198.18.0.66", 0.0) == []
    assert t.candidates() == [ROOT]
    assert caplog.text.count("10.1.2.3/d.xml") == 1
    lan = DeviceTracker(lan=LAN)  # a LOCATION on the LAN subnet is fetched, whoever sent it
    assert len(lan.datagram(alive(CMS2, loc="http://198.19.7.7/d.xml"), "198.18.0.66", 0)) == 1
