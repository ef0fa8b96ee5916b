"""Turns discovery into Virtual CWMP Devices (TR-330 §4.1.1, §4.2.1 Table 1).

For each DM candidate that discovery reports alive it fetches and checks the description,
reads the device's identity (OUI/ProductClass/SerialNumber from the DM Common Objects),
finds or creates the VirtualDevice row keyed by that identity (so one physical device seen
under several UUIDs or interfaces is one virtual device), builds the translation and CWMP
engine for it, and maps every lifecycle change to the Table 1 events the ACS must see.
Events for one UDN are handled one at a time, in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import aiohttp

from proxier.translate.backend import ProxierIdentity, UpnpBackend
from proxier.translate.tables import Tables, default_tables
from proxier.upnp.client import NetworkDmDevice, SoapTransport
from proxier.upnp.description import describe
from proxier.upnp.device import UpnpError
from proxier.upnp.discovery import DiscoveryEvent
from proxier.upnp.identity import read_identity
from proxier.virtual.device import Shared, VirtualDevice
from proxier.virtual.lifecycle import Transition
from proxier.virtual.registry import DeviceKey

log = logging.getLogger(__name__)

#: Devices described and attached at the same time (the rest wait their turn).
ATTACH_CONCURRENCY = 16


def table1_events(tables: Tables, transition: Transition) -> tuple[str, ...]:
    """The Inform events TR-330 Table 1 (mappings/table1_events.toml) attaches to a lifecycle
    transition: the rows whose `on` is the trigger and any of whose `when` conditions hold.
    The DM-event rows (7, 8, 10) are raised by the firmware and diagnostics trackers."""
    if not transition.trigger:
        return ()
    return tuple(
        row.event
        for row in tables.events.rows
        if row.on == transition.trigger and any(c in transition.conditions for c in row.when)
    )


class VirtualDeviceManager:
    """Owns every VirtualDevice of one proxier."""

    def __init__(
        self,
        shared: Shared,
        session: aiohttp.ClientSession,
        soap: SoapTransport,
        *,
        tables: Tables | None = None,
    ) -> None:
        self.shared = shared
        self.session = session
        self.soap = soap
        self.tables = tables or default_tables()
        self.devices: dict[int, VirtualDevice] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._attach_limit = asyncio.Semaphore(ATTACH_CONCURRENCY)
        self.changed = asyncio.Event()  # set whenever the VirtualDevice table changes
        me = shared.config.proxier
        self._proxier_info = ProxierIdentity(me.oui, me.product_class, me.serial_number)

    def restore(self) -> None:
        """Recreate every known virtual device, offline until discovery sees it again
        (a restart sends no spurious "0 BOOTSTRAP": each device's store remembers)."""
        for record in self.shared.registry:
            record = self.shared.registry.update(record, online=False)
            self.devices[record.instance] = VirtualDevice(record, self.shared)

    def __iter__(self) -> Iterator[VirtualDevice]:
        return iter(sorted(self.devices.values(), key=lambda d: d.record.instance))

    def by_udn(self, udn: str) -> VirtualDevice | None:
        for device in self.devices.values():
            if udn in device.record.udns:
                return device
        return None

    def on_discovery(self, event: DiscoveryEvent) -> None:
        """Discovery callback (sync): queue the event for its UDN."""
        task = asyncio.get_running_loop().create_task(self._handle(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, event: DiscoveryEvent) -> None:
        lock = self._locks.setdefault(event.udn, asyncio.Lock())
        async with lock:
            try:
                await self.handle(event)
            except Exception:
                log.exception("%s: discovery event %s failed", event.udn, event.kind)

    async def handle(self, event: DiscoveryEvent) -> None:
        device = self.by_udn(event.udn)
        if event.kind == "byebye":
            if device is not None:
                self._apply(device, device.lifecycle.byebye(event.announcement))
            return
        if event.kind == "expired":
            if device is not None:
                self._apply(device, device.lifecycle.expired())
            return
        if (
            device is not None
            and device.online
            and device.dm is not None
            and event.location == device.lifecycle.location
            and (event.boot_id is None or event.boot_id == device.lifecycle.boot_id)
        ):
            return  # a lease refresh: nothing changed
        await self._alive(event, device)

    async def _alive(self, event: DiscoveryEvent, device: VirtualDevice | None) -> None:
        # Hundreds of devices may appear at once (start-up, a LAN coming back): describing
        # them all in parallel starves the shared HTTP pool and times out; a bounded number
        # at a time finishes sooner.
        async with self._attach_limit:
            await self._attach(event, device)

    async def _attach(self, event: DiscoveryEvent, device: VirtualDevice | None) -> None:
        result = await describe(self.session, event.location)
        described = next((d for d in result.devices if d.candidate.udn == event.udn), None)
        if described is None:
            log.info("%s: no usable DM device at %s", event.udn, event.location)
            return
        if "CMS" not in described.actions:
            log.warning("%s: no usable ConfigurationManagement service; skipped", event.udn)
            return
        dm = NetworkDmDevice.from_description(described, self.soap)
        try:
            identity = await read_identity(dm.cms, udn=event.udn, candidate=described.candidate)
        except UpnpError as exc:
            log.warning("%s: cannot read its identity: %s", event.udn, exc)
            dm.close()
            return
        key = DeviceKey(identity.manufacturer_oui, identity.product_class, identity.serial_number)
        manufacturer = identity.manufacturer or described.candidate.manufacturer
        registry = self.shared.registry
        if device is None:
            record, created = registry.add(key, manufacturer, (event.udn,), event.location)
            device = self.devices.get(record.instance)
            if device is None:
                device = VirtualDevice(record, self.shared)
                self.devices[record.instance] = device
                self.changed.set()
            if created:
                log.info(
                    "%s: new virtual device %s (instance %d)", event.udn, key.id, record.instance
                )
        else:
            created = False
        backend = UpnpBackend(
            dm,
            instance_store=device.instances,
            proxier_info=self._proxier_info,
            timeout=self.shared.config.upnp.action_timeout,
            tables=self.tables,
            manufacturer=manufacturer,
            session=self.session,
            state=device.store,
        )
        await device.attach(dm, backend)
        if created:
            transition = device.lifecycle.discovered(event.location, event.boot_id)
        else:
            transition = device.lifecycle.alive(event.location, event.boot_id)
        self._apply(device, transition)

    def _apply(self, device: VirtualDevice, transition: Transition) -> None:
        events = table1_events(self.tables, transition)
        if transition.changed:
            self.changed.set()
        device.apply(transition, events)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for device in self.devices.values():
            await device.close()
