"""A lab device over real loopback sockets, as the proxier sees it: `LabServer` (SOAP, GENA,
logs, files) ⇄ `describe` ⇄ `NetworkDmDevice` with GENA subscriptions delivering events.

Used by the operations tests (diagnostics, firmware, logs), which need the lab's BMS/SMS
behaviour and its HTTP side."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from proxier.lab.device import LabDevice
from proxier.lab.server import LabServer
from proxier.upnp.client import NetworkDmDevice, SoapTransport
from proxier.upnp.description import describe
from proxier.upnp.device import DmEvent
from proxier.upnp.gena import GenaManager


@dataclass
class Rig:
    lab: LabServer
    lab_device: LabDevice
    device: NetworkDmDevice
    session: aiohttp.ClientSession
    gena: GenaManager
    sinks: list[Callable[[DmEvent], None]] = field(default_factory=list)
    seen: list[DmEvent] = field(default_factory=list)
    subscribed: dict[str, asyncio.Event] = field(default_factory=dict)
    waiters: list[tuple[Callable[[DmEvent], bool], asyncio.Future[DmEvent]]] = field(
        default_factory=list
    )

    async def event(self, match: Callable[[DmEvent], bool]) -> DmEvent:
        """The first event (already seen or coming within 5 s) that `match`es."""
        for seen in self.seen:
            if match(seen):
                return seen
        future: asyncio.Future[DmEvent] = asyncio.get_running_loop().create_future()
        self.waiters.append((match, future))
        return await asyncio.wait_for(future, 5)

    def deliver(self, event: DmEvent) -> None:
        self.seen.append(event)
        for match, future in list(self.waiters):
            if not future.done() and match(event):
                future.set_result(event)
                self.waiters.remove((match, future))
        gate = self.subscribed.get(event.service)
        if gate is not None:
            gate.set()
        for sink in self.sinks:
            sink(event)


@contextlib.asynccontextmanager
async def lab_rig(
    *, services: tuple[str, ...] = ("BMS", "SMS"), **faults: Any
) -> AsyncIterator[Rig]:
    """One lab device reached over loopback; events of `services` go to `rig.sinks` once
    each subscription's initial event arrived (so no later change is missed)."""
    async with (
        LabServer(1, faults=faults) as lab,
        aiohttp.ClientSession() as session,
        GenaManager(session) as gena,
    ):
        result = await describe(session, lab.description_urls[0])
        assert result.devices, result.skipped
        described = result.devices[0]
        device = NetworkDmDevice.from_description(described, SoapTransport(session, timeout=5))
        rig = Rig(lab, lab.devices[0], device, session, gena)
        for kind in services:
            svc = described.candidate.service(kind)
            assert svc is not None
            rig.subscribed[kind] = asyncio.Event()
            gena.add(f"{device.udn}/{kind}", kind, svc.event_sub_url, rig.deliver)
        for gate in rig.subscribed.values():
            await asyncio.wait_for(gate.wait(), 5)
        try:
            yield rig
        finally:
            device.close()
