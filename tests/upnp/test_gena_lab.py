"""GENA against the lab DM device on loopback (TR-330 §4.2.1: the proxier keeps an active
subscription to BMS/CMS/SMS; UDA §4): real sockets, no SSDP needed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from proxier.lab.server import LabServer
from proxier.upnp.client import CmsClient, SoapTransport
from proxier.upnp.device import DmEvent, ParameterValue
from proxier.upnp.gena import GenaCore, GenaManager

HOSTNAME = "/UPnP/DM/Configuration/Network/HostName"


@pytest.fixture
async def lab() -> AsyncIterator[LabServer]:
    async with LabServer(2, faults={"reboot_delay": 0.05}) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def url(lab: LabServer, index: int, svc: str, what: str) -> str:
    return f"{lab.devices[index].base_url}{lab.devices[index].base_path}/{svc}/{what}"


async def until(queue: asyncio.Queue[DmEvent], check: object, within: float = 10) -> DmEvent:
    async with asyncio.timeout(within):
        while True:
            event = await queue.get()
            if callable(check) and check(event):
                return event


async def test_one_callback_server_for_all_devices_and_services(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    """TR-330 §4.2.1 + issue 3: one callback server carries CMS/BMS/SMS of several devices;
    each initial event (SEQ 0) reaches its own sink, and a SetValues made through our
    CmsClient comes back as a CMS ConfigurationUpdate event."""
    sinks: dict[str, asyncio.Queue[DmEvent]] = {}
    async with GenaManager(session) as gena:
        for i in range(2):
            for svc in ("cms", "bms", "sms"):
                key = f"{lab.devices[i].udn}/{svc.upper()}"
                sinks[key] = asyncio.Queue()
                gena.add(key, svc.upper(), url(lab, i, svc, "event"), sinks[key].put_nowait)
        for key, queue in sinks.items():
            first = await until(queue, lambda e: True)
            assert first.seq == 0 and first.service == key.rsplit("/", 1)[1]
        cms0 = sinks[f"{lab.devices[0].udn}/CMS"]
        client = CmsClient(SoapTransport(session), url(lab, 0, "cms", "control"))
        await client.set_values([ParameterValue(HOSTNAME, "renamed-by-proxier")])
        version = await client.get_current_configuration_version()
        changed = await until(cms0, lambda e: "ConfigurationUpdate" in e.variables)
        assert changed.variables["ConfigurationUpdate"].startswith(f"{version},")
        assert changed.seq >= 1 and not changed.resync
        assert sinks[f"{lab.devices[1].udn}/CMS"].empty()  # the other device saw nothing
    # closing unsubscribed everything: the lab holds no subscriber any more
    for device in lab.devices:
        for publisher in device.publishers.values():
            assert not publisher.subscriptions


async def test_reboot_loses_sid_then_412_resubscribe_and_resync(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    """UDA §4.1.2 + TR-330 §4.2.1: after the device rebooted it answers the renewal with 412;
    the manager subscribes afresh and asks for a resync (the device layer re-reads
    GetValues/GetDeviceStatus/GetOperationIDs)."""
    events: asyncio.Queue[DmEvent] = asyncio.Queue()
    resyncs: asyncio.Queue[str] = asyncio.Queue()

    async def resync() -> None:
        resyncs.put_nowait("resync")

    async with GenaManager(session) as gena:
        key = f"{lab.devices[0].udn}/BMS"
        gena.add(key, "BMS", url(lab, 0, "bms", "event"), events.put_nowait, resync=resync)
        await until(events, lambda e: e.seq == 0)
        old = gena.core.sid(key)
        await lab.devices[0].reboot()
        gena.refresh(key)  # what the device layer does on alive with a new BOOTID
        assert await asyncio.wait_for(resyncs.get(), 10) == "resync"
        await until(events, lambda e: e.seq == 0)
        assert gena.core.sid(key) not in ("", old)


async def test_refused_subscriptions_fall_back_to_polling(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    """Polling fallback (issue 3): the lab's refuse_subscriptions knob answers SUBSCRIBE
    with 503; the manager polls the evented variables through the CMS getters instead."""
    lab.devices[0].faults.refuse_subscriptions = True
    client = CmsClient(SoapTransport(session), url(lab, 0, "cms", "control"))

    async def poll() -> dict[str, str]:
        return {
            "CurrentConfigurationVersion": str(await client.get_current_configuration_version()),
            "ConfigurationUpdate": await client.get_configuration_update(),
        }

    events: asyncio.Queue[DmEvent] = asyncio.Queue()
    core = GenaCore(backoff_initial=0.01, refusals_before_polling=2, poll_interval=60)
    async with GenaManager(session, core=core) as gena:
        key = f"{lab.devices[0].udn}/CMS"
        gena.add(key, "CMS", url(lab, 0, "cms", "event"), events.put_nowait, poll=poll)
        polled = await until(events, lambda e: e.resync)
        assert polled.variables["CurrentConfigurationVersion"].isdigit()
        assert gena.state(key) == "polling"


async def test_subscription_left_by_a_dead_subscriber_is_released(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    """UDA §4.1.3 (UNSUBSCRIBE), issue 5 ("subscriptions re-established" after a restart): a
    killed proxier cannot unsubscribe, and its subscription holds one of the device's few
    slots until it expires. `on_sid` tells the owner every SID obtained (to keep in its
    store); `release` frees one left behind; a SID the device no longer knows (412) counts
    as released too."""
    event_url = url(lab, 0, "cms", "event")
    publisher = lab.devices[0].publishers["CMS"]
    async with session.request(
        "SUBSCRIBE",
        event_url,
        headers={"CALLBACK": "<http://127.0.0.1:9/gena>", "NT": "upnp:event"},
    ) as answer:
        assert answer.status == 200
        dead_sid = answer.headers["SID"]
    assert dead_sid in publisher.subscriptions
    sids: list[str] = []
    events: asyncio.Queue[DmEvent] = asyncio.Queue()
    async with GenaManager(session) as gena:
        assert await gena.release(event_url, dead_sid)
        assert dead_sid not in publisher.subscriptions
        assert await gena.release(event_url, dead_sid)  # 412: gone already
        gena.add("k", "CMS", event_url, events.put_nowait, on_sid=sids.append)
        await until(events, lambda e: e.seq == 0)
        assert sids == [gena.core.sid("k")]
        assert list(publisher.subscriptions) == sids
