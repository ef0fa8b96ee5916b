"""Fault knobs of the lab devices, set over the lab's HTTP control endpoint (loopback).

They let other helpers' tests provoke what real devices do: slow answers, UPnP errors,
refused or lost GENA events (a SEQ gap, UDA §4.3.2), silent disappearance without byebye,
and a device that comes back on another port (ssdp:update, UDA 1.1 §1.2.4).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from proxier.lab.server import LabServer
from proxier.upnp import cms_xml
from proxier.upnp.device import ParameterValue, UpnpError

from .helpers import CallbackServer, SsdpRecorder, call

HOSTNAME = "/UPnP/DM/Configuration/Network/HostName"


@pytest.fixture
async def lab() -> AsyncIterator[LabServer]:
    async with LabServer(1) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def set_faults(
    session: aiohttp.ClientSession, lab: LabServer, **faults: Any
) -> dict[str, Any]:
    udn = lab.devices[0].udn
    async with session.post(f"{lab.base_url}/_lab/{udn}/faults", json=faults) as r:
        assert r.status == 200, await r.text()
        result: dict[str, Any] = await r.json()
        return result


async def get_values(session: aiohttp.ClientSession, lab: LabServer) -> dict[str, str]:
    doc = cms_xml.build_content_path_list([HOSTNAME])
    return await call(session, lab.devices[0], "CMS", "GetValues", [("Parameters", doc)])


async def test_forced_error_and_busy(lab: LabServer, session: aiohttp.ClientSession) -> None:
    """A forced UPnP error comes back as that errorCode; `busy` is CMS 708."""
    await set_faults(session, lab, errors={"GetValues": [501, "boom"]})
    with pytest.raises(UpnpError) as exc:
        await get_values(session, lab)
    assert (exc.value.code, exc.value.description) == (501, "boom")
    await set_faults(session, lab, errors={}, busy=True)
    with pytest.raises(UpnpError) as exc:
        await get_values(session, lab)
    assert exc.value.code == 708
    await set_faults(session, lab, busy=False)
    assert "ParameterValueList" in await get_values(session, lab)


async def test_error_at_fails_only_the_nth_call(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    """`error_at` N: the action's forced error is answered once, by the Nth call, then the
    action works again (a failure in the middle of a sequence, then a working rollback)."""
    faults = await set_faults(
        session, lab, errors={"GetValues": [501, "second"]}, error_at={"GetValues": 2}
    )
    assert faults["error_at"] == {"GetValues": 2}
    assert "ParameterValueList" in await get_values(session, lab)
    with pytest.raises(UpnpError) as exc:
        await get_values(session, lab)
    assert (exc.value.code, exc.value.description) == (501, "second")
    assert "ParameterValueList" in await get_values(session, lab)
    assert lab.devices[0].faults.errors == {} and lab.devices[0].faults.error_at == {}
    udn = lab.devices[0].udn
    async with session.post(f"{lab.base_url}/_lab/{udn}/faults", json={"error_at": {"X": 0}}) as r:
        assert r.status == 400


async def test_latency_delays_answers(lab: LabServer, session: aiohttp.ClientSession) -> None:
    faults = await set_faults(session, lab, action_latency={"GetValues": 30})
    assert faults["action_latency"] == {"GetValues": 30.0}
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(get_values(session, lab), 0.3)
    await call(session, lab.devices[0], "CMS", "GetAlarmsEnabled")  # other actions unaffected


async def test_bad_fault_requests_are_400(lab: LabServer, session: aiohttp.ClientSession) -> None:
    udn = lab.devices[0].udn
    for body in ({"no_such_knob": 1}, {"busy": "yes"}, {"latency": -1}, [1, 2]):
        async with session.post(f"{lab.base_url}/_lab/{udn}/faults", json=body) as r:
            assert r.status == 400
    async with session.post(f"{lab.base_url}/_lab/uuid:nobody/faults", json={}) as r:
        assert r.status == 404


async def test_refused_and_lost_events(lab: LabServer, session: aiohttp.ClientSession) -> None:
    """Refused SUBSCRIBE → 503; lost NOTIFYs use up SEQ numbers (the CP sees a gap)."""
    d = lab.devices[0]
    cb = CallbackServer()
    await cb.start()
    url = f"{d.base_url}{d.base_path}/cms/event"
    headers = {"CALLBACK": f"<{cb.url}>", "NT": "upnp:event", "TIMEOUT": "Second-300"}
    try:
        await set_faults(session, lab, refuse_subscriptions=True)
        async with session.request("SUBSCRIBE", url, headers=headers) as r:
            assert r.status == 503
        await set_faults(session, lab, refuse_subscriptions=False, drop_events=True)
        async with session.request("SUBSCRIBE", url, headers=headers) as r:
            assert r.status == 200
        pvl = cms_xml.build_parameter_value_list([ParameterValue(HOSTNAME, "a")])
        await call(session, d, "CMS", "SetValues", [("ParameterValueList", pvl)])
        await set_faults(session, lab, drop_events=False)
        pvl = cms_xml.build_parameter_value_list([ParameterValue(HOSTNAME, "b")])
        await call(session, d, "CMS", "SetValues", [("ParameterValueList", pvl)])
        event = await cb.next()
        assert event.seq == 2
    finally:
        await cb.stop()


async def test_silent_disappearance_and_return(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    """Silent: no byebye, every URL 503; back: ssdp:alive again."""
    d = lab.devices[0]
    recorder = SsdpRecorder()
    d.ssdp = recorder
    await set_faults(session, lab, silent=True)
    async with session.get(d.description_url) as r:
        assert r.status == 503
    with pytest.raises(UpnpError):
        await get_values(session, lab)
    assert recorder.sent == []
    await set_faults(session, lab, silent=False)
    assert recorder.sent == [("alive", "")]
    async with session.get(d.description_url) as r:
        assert r.status == 200


async def test_move_to_another_port(lab: LabServer, session: aiohttp.ClientSession) -> None:
    d = lab.devices[0]
    recorder = SsdpRecorder()
    d.ssdp = recorder
    old = d.description_url
    async with session.post(f"{lab.base_url}/_lab/{d.udn}/move") as r:
        new = (await r.json())["description_url"]
    assert new != old and new == d.description_url
    async with session.get(old) as r:
        assert r.status == 404
    async with session.get(new) as r:
        assert r.status == 200
    assert [kind for kind, _ in recorder.sent] == ["update", "alive"]
    assert d.boot_id == 2
