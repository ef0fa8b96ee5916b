"""GENA subscriptions (UDA §4, TR-330 §4.2.1): sans-IO core, then over loopback against
async-upnp-client's independent server-side GENA publisher."""

from __future__ import annotations

import asyncio
import math
import random
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any, cast

import aiohttp
import pytest
from async_upnp_client.client import UpnpRequester
from async_upnp_client.const import DeviceInfo, ServiceInfo
from async_upnp_client.server import (
    EventSubscriber,
    UpnpServer,
    UpnpServerDevice,
    UpnpServerService,
    create_event_var,
)

from proxier.upnp.device import DmEvent
from proxier.upnp.gena import (
    SEQ_MAX,
    GenaCore,
    GenaManager,
    Poll,
    Renew,
    Resync,
    Subscribe,
    parse_propertyset,
    parse_timeout,
)

PROPSET = (
    '<?xml version="1.0"?><e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0">'
    "<e:property><ConfigurationUpdate>{v}</ConfigurationUpdate></e:property>"
    "<e:property><CurrentConfigurationVersion>3</CurrentConfigurationVersion></e:property>"
    "</e:propertyset>"
)


def body(v: str = "1,/UPnP/DM/X") -> bytes:
    return PROPSET.format(v=v).encode()


def notify(core: GenaCore, sid: str, seq: str | None, data: bytes | None = None) -> Any:
    return core.handle_notify(
        sid=sid, seq=seq, nt="upnp:event", nts="upnp:propchange", body=data or body()
    )


# --- sans-IO core ------------------------------------------------------------------------


def test_timeout_header_forms() -> None:
    """UDA §4.1.2: TIMEOUT: Second-N / Second-infinite; lax publishers send a bare N."""
    assert parse_timeout("Second-1800") == 1800
    assert parse_timeout("1800") == 1800
    assert parse_timeout("second-infinite") == math.inf
    assert parse_timeout("soon") is None and parse_timeout(None) is None


def test_subscribe_then_renew_before_expiry() -> None:
    """UDA §4.1.2: renew before the subscription's duration ends."""
    core = GenaCore(renew_margin=60)
    core.add("d/CMS", "CMS", now=0.0)
    assert core.get_timer() == 0.0
    assert core.handle_timer(0.0) == [Subscribe("d/CMS")]
    assert core.get_timer() is None  # in flight
    assert core.subscribed("d/CMS", "uuid:s1", 300, now=1.0) == []
    assert core.state("d/CMS") == "subscribed"
    assert core.get_timer() == 241.0
    assert core.handle_timer(240.0) == []
    assert core.handle_timer(241.0) == [Renew("d/CMS", "uuid:s1")]
    assert core.subscribed("d/CMS", "uuid:s1", 300, now=242.0) == []  # same SID: no resync
    assert core.get_timer() == 482.0


def test_412_on_renew_resubscribes_and_resyncs() -> None:
    """UDA §4.1.2: 412 on renewal = the publisher forgot the SID: subscribe afresh at once;
    events in between are lost, so the device is re-read (TR-330 §4.2.1)."""
    core = GenaCore()
    core.add("k", "BMS", 0.0)
    core.handle_timer(0.0)
    core.subscribed("k", "uuid:old", 100, 0.0)
    core.expedite("k", 10.0)
    assert core.handle_timer(10.0) == [Renew("k", "uuid:old")]
    assert core.failed("k", 10.0, 412) == []
    assert core.handle_timer(10.0) == [Subscribe("k")]
    assert core.subscribed("k", "uuid:new", 100, 11.0) == [Resync("k")]
    assert notify(core, "uuid:old", "1").status == 412


def test_failures_back_off_then_poll_when_refused() -> None:
    """Polling fallback (issue 3): a device that keeps refusing SUBSCRIBE gets polled."""
    core = GenaCore(backoff_initial=2, backoff_max=300, refusals_before_polling=2, poll_interval=60)
    core.add("k", "SMS", 0.0)
    core.handle_timer(0.0)
    assert core.failed("k", 0.0, None) == []  # no answer: back off 2 s
    assert core.get_timer() == 2.0
    core.handle_timer(2.0)
    assert core.failed("k", 2.0, 501) == []  # refused once: 4 s
    assert core.get_timer() == 6.0
    core.handle_timer(6.0)
    assert core.failed("k", 6.0, 501) == [Poll("k")]
    assert core.state("k") == "polling" and core.get_timer() == 66.0
    assert core.handle_timer(66.0) == [Subscribe("k"), Poll("k")]
    core.failed("k", 66.0, 501)
    assert core.get_timer() == 126.0
    core.handle_timer(126.0)
    assert core.subscribed("k", "uuid:s", 1800, 127.0) == [Resync("k")]  # accepted at last
    assert core.state("k") == "subscribed"


def test_notify_header_checks() -> None:
    """UDA §4.3.1: missing SID/NT/NTS → 400; unknown SID or wrong NT/NTS → 412."""
    core = GenaCore()
    assert core.handle_notify(sid=None, seq="0", nt="upnp:event", nts="upnp:propchange", body=b"")
    assert (
        core.handle_notify(sid="uuid:x", seq="0", nt=None, nts="upnp:propchange", body=b"").status
        == 400
    )
    assert (
        core.handle_notify(
            sid="uuid:x", seq="0", nt="upnp:x", nts="upnp:propchange", body=b""
        ).status
        == 412
    )
    assert notify(core, "uuid:unknown", "0").status == 412


def test_seq_tracking_gap_duplicate_and_wrap() -> None:
    """UDA §4.3.1: SEQ starts at 0 (initial event), +1 per event, wraps to 1; a gap means
    lost events → resync (TR-330 §4.2.1), a repeat is dropped."""
    core = GenaCore()
    core.add("k", "CMS", 0.0)
    core.handle_timer(0.0)
    core.subscribed("k", "5a1f", 1800, 0.0)  # bare SID as async-upnp-client sends it
    first = notify(core, "uuid:5a1f", "0")  # prefix differences do not matter
    assert first.status == 200 and not first.resync
    assert first.event == DmEvent(
        "CMS", {"ConfigurationUpdate": "1,/UPnP/DM/X", "CurrentConfigurationVersion": "3"}, 0
    )
    assert not notify(core, "5a1f", "1").resync
    gap = notify(core, "5a1f", "3")
    assert gap.resync and gap.event is not None and gap.event.seq == 3
    dup = notify(core, "5a1f", "2")
    assert dup.status == 200 and dup.event is None and not dup.resync
    core2 = GenaCore()
    core2.add("k", "CMS", 0.0)
    core2.handle_timer(0.0)
    core2.subscribed("k", "s", 1800, 0.0)
    core2._subs["k"].next_seq = SEQ_MAX
    assert not notify(core2, "s", str(SEQ_MAX)).resync
    wrapped = notify(core2, "s", "1")
    assert not wrapped.resync and wrapped.event is not None
    restarted = notify(core2, "s", "0")
    assert restarted.resync


@pytest.mark.parametrize("seq", ["²", "١", "9" * 5000, "-1"])
def test_non_ascii_or_huge_seq_is_a_gap_not_a_crash(seq: str) -> None:
    """Issue 12 (bad input that gets through): a SEQ header that is not ASCII digits or is
    too long is an unknown event key (a resync), never a ValueError and a 500."""
    core = GenaCore()
    core.add("k", "CMS", 0.0)
    core.handle_timer(0.0)
    core.subscribed("k", "s", 1800, 0.0)
    result = notify(core, "s", seq)
    assert result.status == 200 and result.resync


def test_notify_overtaking_subscribe_answer_is_kept() -> None:
    """UDA §4.2.1: the initial event may arrive before the SUBSCRIBE answer is processed."""
    core = GenaCore()
    core.add("k", "CMS", 0.0)
    core.handle_timer(0.0)
    assert notify(core, "uuid:early", "0").status == 200  # parked
    core.subscribed("k", "uuid:early", 1800, 0.0)
    (result,) = core.deliver_pending("k")
    assert result.event is not None and result.event.seq == 0 and not result.resync


def test_propertyset_values() -> None:
    """UDA §4.3.2: one variable per e:property; XML documents as values survive either
    escaped (as UDA wants) or raw."""
    escaped = parse_propertyset(body("&lt;a&gt;x&lt;/a&gt;"))
    assert escaped["ConfigurationUpdate"] == "<a>x</a>"
    raw = parse_propertyset(body("<a>x</a>"))
    assert raw["ConfigurationUpdate"] == "<a>x</a>"


@pytest.mark.parametrize(
    "data",
    [
        b'<!DOCTYPE x [<!ENTITY a "b">]><e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0"/>',
        b"<propertyset/>",
        b"<e:propertyset xmlns:e='urn:schemas-upnp-org:event-1-0'><e:property>",
        b"<a/>" + b" " * (1024 * 1024 + 1),
    ],
)
def test_hostile_notify_body(data: bytes) -> None:
    """Bad input never crashes: a bad body is answered 400 and the device resynced."""
    core = GenaCore()
    core.add("k", "CMS", 0.0)
    core.handle_timer(0.0)
    core.subscribed("k", "s", 1800, 0.0)
    result = notify(core, "s", "0", data)
    assert result.status == 400 and result.event is None and result.resync


# --- over loopback against async-upnp-client's GENA publisher --------------------------------

CMS2 = "urn:schemas-upnp-org:service:ConfigurationManagement:2"


class _Cms(UpnpServerService):
    SERVICE_DEFINITION = ServiceInfo(
        service_id="urn:upnp-org:serviceId:ConfigurationManagement",
        service_type=CMS2,
        control_url="/cms/control",
        event_sub_url="/cms/event",
        scpd_url="/cms.xml",
        xml=ET.Element("server_service"),
    )
    STATE_VARIABLE_DEFINITIONS = {
        "ConfigurationUpdate": create_event_var("string", default="1,"),
        "CurrentConfigurationVersion": create_event_var("ui4", default="1"),
    }

    def __init__(self, requester: UpnpRequester) -> None:
        super().__init__(requester)
        self.has_subscriber = asyncio.Event()

    def add_subscriber(self, subscriber: EventSubscriber) -> None:
        super().add_subscriber(subscriber)
        self.has_subscriber.set()


class _Device(UpnpServerDevice):
    DEVICE_DEFINITION = DeviceInfo(
        device_type="urn:schemas-upnp-org:device:ManageableDevice:2",
        friendly_name="gena test peer",
        manufacturer="proxier tests",
        manufacturer_url=None,
        model_description=None,
        model_name="gena-peer",
        model_number=None,
        model_url=None,
        serial_number=None,
        udn="uuid:00000000-0000-0000-0000-00000000ge0a",
        upc=None,
        presentation_url=None,
        url="/device.xml",
        icons=[],
        xml=ET.Element("server_device"),
    )
    EMBEDDED_DEVICES = []
    SERVICES = [_Cms]


class Peer:
    """async-upnp-client's UpnpServer HTTP side only (no SSDP: loopback, host namespace)."""

    def __init__(self) -> None:
        self.server = UpnpServer(_Device, source=("127.0.0.1", 0), http_port=0)

    async def start(self) -> None:
        self.server._create_device()
        await self.server._async_start_http_server()
        site = self.server._site
        assert site is not None
        self.port = int(site._runner.addresses[0][1])
        self.url = f"http://127.0.0.1:{self.port}/cms/event"

    @property
    def cms(self) -> _Cms:
        assert self.server._device is not None
        return cast(_Cms, self.server._device.service(CMS2))

    async def wait_subscriber(self) -> None:
        """The peer registers a subscriber only after its initial NOTIFY was answered."""
        await asyncio.wait_for(self.cms.has_subscriber.wait(), 10)

    def change(self, version: int) -> None:
        self.cms.state_variable("CurrentConfigurationVersion").value = version
        self.cms.state_variable("ConfigurationUpdate").value = f"1,/UPnP/DM/V{version}"

    async def stop(self) -> None:
        await self.server._async_stop_http_server()


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    p = Peer()
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def next_event(queue: asyncio.Queue[DmEvent]) -> DmEvent:
    return await asyncio.wait_for(queue.get(), 10)


async def test_subscribe_receive_unsubscribe(peer: Peer, session: aiohttp.ClientSession) -> None:
    """TR-330 §4.2.1: keep a subscription; the initial event (SEQ 0) and each change arrive
    as DmEvents; closing UNSUBSCRIBEs (UDA §4.1.4)."""
    events: asyncio.Queue[DmEvent] = asyncio.Queue()
    async with GenaManager(session) as gena:
        assert gena.callback_url().startswith("http://127.0.0.1:")
        gena.add("dev1/CMS", "CMS", peer.url, events.put_nowait)
        initial = await next_event(events)
        assert (initial.service, initial.seq) == ("CMS", 0)
        assert initial.variables["CurrentConfigurationVersion"] == "1"
        assert gena.state("dev1/CMS") == "subscribed"
        await peer.wait_subscriber()
        peer.change(2)
        changed = await next_event(events)
        while changed.variables["CurrentConfigurationVersion"] != "2":
            changed = await next_event(events)
        assert changed.variables["ConfigurationUpdate"] == "1,/UPnP/DM/V2"
        assert changed.seq >= 1 and not changed.resync
        assert len(peer.cms._subscribers) == 1
    assert peer.cms._subscribers == []


async def test_dropped_subscription_resubscribes_and_resyncs(
    peer: Peer, session: aiohttp.ClientSession
) -> None:
    """UDA §4.1.2: the publisher lost our SID → renewal gets 412 → new SUBSCRIBE, and the
    device is re-read (TR-330 §4.2.1)."""
    events: asyncio.Queue[DmEvent] = asyncio.Queue()
    resyncs: asyncio.Queue[str] = asyncio.Queue()

    async def resync() -> None:
        resyncs.put_nowait("resync")

    async with GenaManager(session) as gena:
        gena.add("d/CMS", "CMS", peer.url, events.put_nowait, resync=resync)
        await next_event(events)
        await peer.wait_subscriber()
        old_sid = gena.core.sid("d/CMS")
        assert peer.cms.del_subscriber(peer.cms._subscribers[0].uuid)
        gena.refresh("d/CMS")
        assert await asyncio.wait_for(resyncs.get(), 10) == "resync"
        again = await next_event(events)
        assert again.seq == 0
        assert gena.core.sid("d/CMS") not in ("", old_sid)


async def test_seq_gap_triggers_resync(peer: Peer, session: aiohttp.ClientSession) -> None:
    """UDA §4.3.1 SEQ: a skipped event number makes the manager re-read the device."""
    events: asyncio.Queue[DmEvent] = asyncio.Queue()
    resyncs: asyncio.Queue[str] = asyncio.Queue()

    async def resync() -> None:
        resyncs.put_nowait("resync")

    async with GenaManager(session) as gena:
        gena.add("d/CMS", "CMS", peer.url, events.put_nowait, resync=resync)
        await next_event(events)
        await peer.wait_subscriber()
        peer.cms._subscribers[0].get_next_seq()  # the publisher loses one event
        await peer.cms.async_send_events()
        gapped = await next_event(events)
        assert gapped.seq == 2
        assert await asyncio.wait_for(resyncs.get(), 10) == "resync"


async def test_refusing_device_is_polled(peer: Peer, session: aiohttp.ClientSession) -> None:
    """Polling fallback (issue 3): SUBSCRIBE refused (405 here) → evented variables are read
    through the poll hook and delivered as resync events."""
    events: asyncio.Queue[DmEvent] = asyncio.Queue()
    polled = 0

    async def poll() -> dict[str, str]:
        nonlocal polled
        polled += 1
        return {"CurrentConfigurationVersion": "7"}

    core = GenaCore(backoff_initial=0.01, refusals_before_polling=2, poll_interval=30)
    async with GenaManager(session, core=core) as gena:
        refusing_url = f"http://127.0.0.1:{peer.port}/cms/control"
        gena.add("d/CMS", "CMS", refusing_url, events.put_nowait, poll=poll)
        event = await next_event(events)
        assert event == DmEvent("CMS", {"CurrentConfigurationVersion": "7"}, 0, resync=True)
        assert gena.state("d/CMS") == "polling" and polled == 1


async def test_callback_server_answers_412_to_unknown_sid(session: aiohttp.ClientSession) -> None:
    """UDA §4.3.1: a NOTIFY for a SID we do not hold is answered 412; a hostile body is
    answered with an error, never a crash."""
    async with GenaManager(session) as gena:
        url = gena.callback_url()
        headers = {"NT": "upnp:event", "NTS": "upnp:propchange", "SID": "uuid:nope", "SEQ": "0"}
        async with session.request("NOTIFY", url, headers=headers, data=body()) as r:
            assert r.status == 412
        async with session.request("NOTIFY", url, headers={"SID": "uuid:x"}, data=b"") as r:
            assert r.status == 400
        async with session.request("NOTIFY", url, headers=headers, data=b"x" * 2_000_000) as r:
            assert r.status == 413
        async with session.get(url) as r:
            assert r.status == 405


async def test_wildcard_callback_host_uses_the_route_to_the_device(
    session: aiohttp.ClientSession,
) -> None:
    """UDA §4.1.2 CALLBACK must be reachable by the device: a wildcard listener names the
    local address that routes to the device's eventSubURL."""
    gena = GenaManager(session, host="0.0.0.0")
    assert gena.callback_url("http://127.0.0.1:9/evt").startswith("http://127.0.0.1:")


def test_renewals_of_a_burst_of_subscriptions_are_spread() -> None:
    """Issue 13 (idle): 1,000 subscriptions made in the same second must not all renew in
    the same second, every TIMEOUT: with renew_jitter they spread over that fraction of
    the lead time, and every renewal still comes before expiry (UDA §4.1.2)."""
    core = GenaCore(renew_margin=60, renew_jitter=0.25, rng=random.Random(13))
    for i in range(1000):
        core.add(f"d{i}/CMS", "CMS", now=0.0)
    core.handle_timer(0.0)
    for i in range(1000):
        core.subscribed(f"d{i}/CMS", f"uuid:s{i}", 1800, now=0.0)
    dues = []
    while (due := core.get_timer()) is not None:
        renewed = core.handle_timer(due)
        dues.append(due)
        for action in renewed:
            core.remove(action.key)
    assert len(dues) == 1000
    assert min(dues) >= 1740 * 0.75 and max(dues) <= 1740
    # no single second carries more than 1 % of them
    per_second: dict[int, int] = {}
    for due in dues:
        per_second[int(due)] = per_second.get(int(due), 0) + 1
    assert max(per_second.values()) <= 10


def test_timers_of_many_subscriptions_are_kept_in_due_order() -> None:
    """Issue 13: with thousands of subscriptions the core finds the next due one without
    scanning them all; expedite, failures and renewals reschedule exactly (UDA §4.1.2)."""
    core = GenaCore(renew_margin=60)
    for i in range(3000):
        core.add(f"d{i}", "CMS", now=0.0)
    assert len(core.handle_timer(0.0)) == 3000
    for i in range(3000):
        core.subscribed(f"d{i}", f"uuid:s{i}", 300 + i, now=0.0)
    assert core.get_timer() == 240.0
    core.expedite("d2999", 5.0)
    assert core.get_timer() == 5.0
    assert core.handle_timer(5.0) == [Renew("d2999", "uuid:s2999")]
    assert core.failed("d2999", 6.0, None) == []
    assert core.get_timer() == 8.0  # backoff_initial after the first failure
    assert core.handle_timer(239.0) == [Subscribe("d2999")]
    assert core.handle_timer(240.0) == [Renew("d0", "uuid:s0")]


async def test_dtd_in_notify_is_a_clean_400_with_one_log_line(
    peer: Peer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 item 2 rule "refuse DTDs from the parser's own view": a NOTIFY for a live
    subscription whose body is UTF-16LE (with BOM) carrying a DOCTYPE/ENTITY gets 400, not
    500; one log line says why; the entity never reaches an event."""
    events: asyncio.Queue[DmEvent] = asyncio.Queue()
    secret = "ENTITY-WAS-EXPANDED"
    hostile = b"\xff\xfe" + (
        '<?xml version="1.0" encoding="UTF-16"?>'
        f'<!DOCTYPE e:propertyset [<!ENTITY x "{secret}">]>'
        '<e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0">'
        "<e:property><ConfigurationUpdate>&x;</ConfigurationUpdate></e:property>"
        "</e:propertyset>"
    ).encode("utf-16-le")
    async with GenaManager(session) as gena:
        gena.add("d/CMS", "CMS", peer.url, events.put_nowait)
        await next_event(events)
        sid = gena.core.sid("d/CMS")
        headers = {"NT": "upnp:event", "NTS": "upnp:propchange", "SID": sid, "SEQ": "1"}
        caplog.clear()
        with caplog.at_level("DEBUG", logger="proxier"):
            async with session.request(
                "NOTIFY", gena.callback_url(), headers=headers, data=hostile
            ) as r:
                assert r.status == 400
        lines = [rec for rec in caplog.records if rec.name.startswith("proxier.upnp.gena")]
        assert len(lines) == 1 and "DTD" in lines[0].getMessage(), lines
        assert not [rec for rec in caplog.records if rec.levelname in ("ERROR", "CRITICAL")]
        while not events.empty():
            assert secret not in str(events.get_nowait().variables)
