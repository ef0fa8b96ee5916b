"""The UNSUBSCRIBEs of a stopping proxier (proxier/upnp/leaving.py): UDA §4.1.3 says a
control point should cancel its subscriptions and names expiry as the fallback, so at stop
they go out together and bounded in time, over real sockets to the lab DM device and to a
device that never answers."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from proxier.lab.server import LabServer
from proxier.upnp.device import DmEvent
from proxier.upnp.gena import GenaManager
from proxier.upnp.leaving import Leaving


@pytest.fixture
async def lab() -> AsyncIterator[LabServer]:
    async with LabServer(2) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def test_stopping_gena_unsubscribes_every_service_together_uda_4_1_3(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    """UDA §4.1.3: once the proxier is stopping, removing a subscription sends nothing yet
    (a device closes without a round trip); `stop` then cancels every one at the device."""
    events: asyncio.Queue[DmEvent] = asyncio.Queue()
    publishers = []
    gena = GenaManager(session)
    await gena.start()
    keys = []
    for device in lab.devices:
        for svc in ("cms", "bms", "sms"):
            key = f"{device.udn}/{svc}"
            keys.append(key)
            gena.add(
                key,
                svc.upper(),
                f"{device.base_url}{device.base_path}/{svc}/event",
                events.put_nowait,
            )
            publishers.append(device.publishers[svc.upper()])
    for _ in keys:  # each subscribed: its initial event (SEQ 0) arrived
        async with asyncio.timeout(10):
            while (await events.get()).seq != 0:
                pass
    gena.begin_stop()
    for key in keys[:3]:
        await gena.remove(key)  # deferred: still subscribed at the device
    assert all(p.subscriptions for p in publishers)
    await gena.stop()
    assert [p.subscriptions for p in publishers] == [{}] * len(publishers)


async def test_unsubscribes_to_a_hung_device_end_within_the_bound_uda_4_1_3(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """UDA §4.1.3 (expiry is the fallback): a device that accepts the connection and never
    answers holds the stop for `within` seconds in all, not a request timeout per
    subscription; the log says how many were sent and what happens to the rest."""
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(200)  # the kernel completes the handshakes; nobody reads or answers
    port = hung.getsockname()[1]
    gena = GenaManager(session, request_timeout=30.0)
    leaving = Leaving(gena._unsubscribe, parallel=8, within=0.5)
    for i in range(40):
        leaving.add(f"k{i}", f"http://127.0.0.1:{port}/dev{i}/cms/event", f"uuid:{i}")
    caplog.set_level(logging.INFO, logger="proxier.upnp.leaving")
    start = time.monotonic()
    try:
        await leaving.finish()
    finally:
        hung.close()
    took = time.monotonic() - start
    assert 0.45 <= took < 5.0, took  # one request timeout alone would be 30 s
    assert leaving.sent == 0
    assert "stop: 0 of 40 UNSUBSCRIBEs sent within 0.5 s" in caplog.text
    assert "released at the next start" in caplog.text
