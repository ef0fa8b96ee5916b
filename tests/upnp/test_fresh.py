"""Issue 13 (bootstrap): a description discovery has just read is described without a
second fetch (`proxier.upnp.fresh`), and only while it is fresh."""

from __future__ import annotations

import asyncio
import collections
import types

import aiohttp

from proxier.lab.server import LabServer
from proxier.upnp.description import describe
from proxier.upnp.discovery import Discovery, DiscoveryConfig, DiscoveryEvent
from proxier.upnp.fresh import FreshDocuments
from proxier.upnp.http import HttpResult


def _doc(body: bytes = b"<root/>") -> HttpResult:
    return HttpResult(200, body, "http://127.0.0.1:1/d.xml", {"content-type": "text/xml"})


def test_fresh_document_is_taken_once_and_only_within_ttl() -> None:
    docs = FreshDocuments(ttl=10.0)
    docs.keep("u1", _doc(), now=0.0)
    assert docs.take("u1", now=5.0) == _doc()
    assert docs.take("u1", now=5.0) is None  # taken: the next describe fetches again
    docs.keep("u2", _doc(), now=0.0)
    assert docs.take("u2", now=10.5) is None  # too old: fetched again


def test_fresh_documents_are_bounded_oldest_first() -> None:
    docs = FreshDocuments(ttl=100.0, max_entries=2)
    for n, url in enumerate(("a", "b", "c")):
        docs.keep(url, _doc(), now=float(n))
    assert len(docs) == 2
    assert docs.take("a", now=3.0) is None
    assert docs.take("c", now=3.0) is not None
    docs.keep("d", _doc(), now=200.0)  # "b" (kept at 1.0) expired on the way
    assert len(docs) == 1


async def test_probed_description_is_described_without_a_second_get() -> None:
    """Issue 13: the probe that finds a lab device leaves its description for the describe
    step; over real sockets the device serves its description once, SCPDs as before."""
    gets: collections.Counter[str] = collections.Counter()

    async def on_start(
        session: aiohttp.ClientSession,
        ctx: types.SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        gets[params.url.path.rsplit("/", 1)[-1]] += 1

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with LabServer(1) as lab, aiohttp.ClientSession(trace_configs=[trace]) as session:
        url = lab.description_urls[0]
        docs = FreshDocuments()
        seen: list[DiscoveryEvent] = []
        found = asyncio.Event()

        def on_event(event: DiscoveryEvent) -> None:
            seen.append(event)
            found.set()

        config = DiscoveryConfig(description_urls=(url,), probe_interval=3600)
        async with Discovery(config, on_event, session=session, documents=docs) as disc:
            async with asyncio.timeout(5):
                await found.wait()  # the first probe round starts with discovery
            assert [e.kind for e in seen] == ["alive"]
            result = await describe(session, url, fetched=docs.take(url, disc._clock()))
        assert [d.candidate.udn for d in result.devices] == [lab.devices[0].udn]
        described_once = gets["description.xml"]
        again = await describe(session, url, fetched=docs.take(url, disc._clock()))
        assert [d.candidate.udn for d in again.devices] == [lab.devices[0].udn]
    assert described_once == 1  # the probe's GET only
    assert gets["description.xml"] == 2  # nothing fresh left: the second describe fetched
    assert gets["cms.xml"] == 2
