"""Turns discovery into Virtual CWMP Devices (TR-330 §4.1.1, §4.2.1 Table 1).

For each DM candidate that discovery reports alive it fetches and checks the description,
reads the device's identity (OUI/ProductClass/SerialNumber from the DM Common Objects),
finds or creates the VirtualDevice row keyed by that identity (so one physical device seen
under several UUIDs or interfaces is one virtual device), builds the translation and CWMP
engine for it, and maps every lifecycle change to the Table 1 events the ACS must see.
Events for one UDN are handled one at a time, in order.

Every sighting of a device is a path (`proxier.virtual.paths`): each interface of a
multi-homed device (discovery tracks a UDN per remote address or description URL) and each
logical device with the same Common Objects (TR-330 §4.1.1, Figure 5). The virtual device
uses one path and keeps the others: a new path or a lease refresh changes nothing, losing the
path in use fails over silently, and only losing them all takes it offline. An announced
byebye (AboutToReboot/AboutToBaselineReset) concerns the device, so it applies whatever
paths remain. Without Common Objects the same UUID behind another MAC and LOCATION port is
another virtual device (`_place`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import aiohttp

from proxier.dp.manager import DpManager
from proxier.dp.privacy import PrivacyGate
from proxier.logsafe import get_logger
from proxier.tr064.virtual import Tr064Devices, is_tr064_event
from proxier.translate.backend import ProxierIdentity, UpnpBackend
from proxier.translate.tables import Tables, default_tables
from proxier.upnp.client import NetworkDmDevice, SoapTransport
from proxier.upnp.description import DescribedDevice, describe
from proxier.upnp.device import UpnpError
from proxier.upnp.discovery import DiscoveryEvent
from proxier.upnp.fresh import FreshDocuments
from proxier.upnp.identity import DESCRIPTION, read_identity
from proxier.upnp.nocms import DescriptionCms
from proxier.virtual.admission import Admission, AdmissionLimits, remove_record
from proxier.virtual.device import Shared, VirtualDevice
from proxier.virtual.lifecycle import (
    ABOUT_TO_BASELINE_RESET,
    ABOUT_TO_REBOOT,
    CERTIFICATE_CHANGED,
    Transition,
)
from proxier.virtual.neighbours import mac_of, path_host
from proxier.virtual.paths import Action, Decision, PathKey, Paths, joins_without_common_objects
from proxier.virtual.redescribe import Redescriber
from proxier.virtual.registry import DeviceKey, VirtualDeviceRecord

log = get_logger(__name__)

#: Where a device's store remembers how its identity was found (TR-330 §4.1.1 merge rules).
IDENTITY_SOURCE = "identity.source"
IDENTITY_MAC = "identity.mac"

#: Devices described and attached at the same time (the rest wait their turn).
ATTACH_CONCURRENCY = 16
#: Virtual devices closed at once when the proxier stops (`close`).
CLOSE_CONCURRENCY = 64


def table1_events(tables: Tables, transition: Transition) -> tuple[str, ...]:
    """The Inform events TR-330 Table 1 (mappings/table1_events.toml) attaches to a lifecycle
    transition (`EventTable.raised`). The DM-event rows (4, 7, 8, 10) go through
    `proxier.translate.dmevents` the same way."""
    return tuple(
        row.event for row in tables.events.raised(transition.trigger, transition.conditions)
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
        neighbours: Callable[[str], str | None] | None = None,
        dp: DpManager | None = None,
        privacy: PrivacyGate | None = None,
    ) -> None:
        self.dp = dp  # DeviceProtection (issue 8): TLS, pins, roles, login
        self.privacy = privacy  # TR-330 §2.4: pending/denied devices never reach the ACS
        self.last_alive: dict[str, DiscoveryEvent] = {}  # replayed after approve/trust
        if dp is not None:
            dp.on_refused = self._certificate_refused
        self.shared = shared
        self.session = session
        self.soap = soap
        self.tables = tables or default_tables()
        self.devices: dict[int, VirtualDevice] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._device_locks: dict[int, asyncio.Lock] = {}
        self._paths: dict[int, Paths] = {}
        self._fresh: set[int] = set()  # created, not yet attached: first discovery pending
        self._owners: dict[PathKey, int] = {}  # which virtual device each path feeds
        self._neighbours = neighbours or (lambda host: mac_of(host))
        self._tasks: set[asyncio.Task[None]] = set()
        self._attach_limit = asyncio.Semaphore(ATTACH_CONCURRENCY)
        self.changed = asyncio.Event()  # set whenever the VirtualDevice table changes
        me = shared.config.proxier
        self._proxier_info = ProxierIdentity(me.oui, me.product_class, me.serial_number)
        up = shared.config.upnp
        self.admission = Admission(
            AdmissionLimits(up.max_devices, up.max_new_devices_per_minute, up.prune_offline_days)
        )
        #: Discovery forgets a kept-out path so its next sighting is tried again (api.py).
        self.forget_path: Callable[[str], None] = lambda udn: None
        self.tr064 = Tr064Devices(self)
        #: Descriptions discovery has just read (its probes): described without a re-fetch.
        self.documents = FreshDocuments()
        #: Transient description failures are read again with back-off (issue 13).
        self.redescribe = Redescriber(self.on_discovery)

    def restore(self) -> None:
        """Recreate every known virtual device, offline until discovery sees it again
        (a restart sends no spurious "0 BOOTSTRAP": each device's store remembers)."""
        registry = self.shared.registry
        for record in self.admission.stale(registry, registry, time.time()):
            log.info("%s: offline too long (upnp.prune_offline_days): pruned", record.key.id)
            remove_record(registry, record)  # the pruning rule, at start
        for record in registry:
            record = registry.update(record, online=False)
            self.devices[record.instance] = self._new_device(record)

    def __iter__(self) -> Iterator[VirtualDevice]:
        return iter(sorted(self.devices.values(), key=lambda d: d.record.instance))

    def by_udn(self, udn: str) -> VirtualDevice | None:
        for device in self.devices.values():
            if udn in device.record.udns:
                return device
        return None

    def paths(self, device: VirtualDevice) -> Paths:
        """The live paths of `device` (TR-330 §4.1.1 multi-homed / several logical devices)."""
        return self._paths.setdefault(device.record.instance, Paths())

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
            self.redescribe.settle(event)

    def _device_lock(self, device: VirtualDevice) -> asyncio.Lock:
        # Several UDNs (logical devices) may feed one virtual device: their events are
        # serialised per virtual device too (always taken after the UDN's lock).
        return self._device_locks.setdefault(device.record.instance, asyncio.Lock())

    def _owner(self, udn: str, via: str) -> VirtualDevice | None:
        instance = self._owners.get((udn, via))
        return None if instance is None else self.devices.get(instance)

    async def handle(self, event: DiscoveryEvent) -> None:
        if event.kind == "alive":
            self.last_alive[event.udn] = event
        if self.dp is not None:
            self.dp.note_secure_location(event.location, event.secure_location)
        known = self.by_udn(event.udn) is not None
        if self.privacy is not None and event.kind in ("alive", "update"):
            if not self.privacy.admit(event.udn, event.location, known=known):
                return
        if is_tr064_event(event):
            await self.tr064.handle(event)  # TR-064 devices (issue 10): proxier.tr064.virtual
            return
        device = self._owner(event.udn, event.via)
        if event.kind in ("byebye", "expired"):
            device = device or self.by_udn(event.udn)
            if device is not None:
                async with self._device_lock(device):
                    await self._gone(device, event)
                self._owners.pop((event.udn, event.via), None)
            return
        reader: _Reader | None = None
        if device is None:
            async with self._attach_limit:
                found = await self._place(event)
            if found is None:
                return
            device, reader = found
            self._owners[(event.udn, event.via)] = device.record.instance
        try:
            async with self._device_lock(device):
                if event.kind == "update" and event.boot_id is not None:
                    device.lifecycle.boot_id_updated(event.boot_id)
                    self.paths(device).boot_id_updated(event.boot_id)
                decision = self.paths(device).seen(
                    event.udn,
                    event.via,
                    event.location,
                    event.boot_id,
                    online=device.online and device.dm is not None,
                    mac=reader.mac if reader is not None else None,
                )
                if decision.action is Action.NOTHING:
                    if decision.reason == "alternative path":
                        log.info(
                            "%s: %s also reachable at %s via %s (TR-330 §4.1.1: same virtual "
                            "device, kept as an alternative path)",
                            device.id,
                            event.udn,
                            event.location,
                            event.via or "-",
                        )
                    return
                await self._act(device, decision, reader)
        finally:
            if reader is not None:
                reader.close()

    async def _gone(self, device: VirtualDevice, event: DiscoveryEvent) -> None:
        """A path left. An announced byebye (AboutToReboot/AboutToBaselineReset) is about the
        device, not the interface: it goes offline whatever other paths remain (TR-330 Table
        1); otherwise it goes offline only when no path is left (TR-330 §4.1.1)."""
        decision = self.paths(device).gone(event.udn, event.via)
        if event.kind == "byebye" and event.announcement in (
            ABOUT_TO_REBOOT,
            ABOUT_TO_BASELINE_RESET,
        ):
            self._apply(device, device.lifecycle.byebye(event.announcement))
            return
        if decision.action is Action.NOTHING:
            if decision.path is not None:
                log.info(
                    "%s: alternative path %s via %s gone (%s); still using %s",
                    device.id,
                    event.udn,
                    event.via or "-",
                    event.kind,
                    device.lifecycle.location,
                )
            return
        if decision.action is Action.OFFLINE:
            if event.kind == "byebye":
                transition = device.lifecycle.byebye(event.announcement)
            else:
                transition = device.lifecycle.expired()
            self._apply(device, transition)
            return
        await self._act(device, decision, None)

    async def _act(self, device: VirtualDevice, decision: Decision, reader: _Reader | None) -> None:
        """Attach at the decided path (failing over while paths fail to answer), then run the
        lifecycle: ATTACH → alive/first discovery (Table 1), FAILOVER → no event."""
        paths = self.paths(device)
        attach = decision.action is Action.ATTACH
        while decision.action in (Action.ATTACH, Action.FAILOVER):
            path = decision.path
            assert path is not None
            if reader is None or (reader.udn, reader.location) != (path.udn, path.location):
                async with self._attach_limit:
                    reader = await _Reader.read(self, path.udn, path.location)
            if reader is not None and await self._attach(device, reader):
                reader = None  # the device owns it now
                break
            log.info("%s: cannot use %s at %s; trying another path", device.id, path.udn, path.via)
            reader = None
            decision = paths.attach_failed(path)
        else:
            if decision.action is Action.OFFLINE and device.online:
                self._apply(device, device.lifecycle.expired())
            return
        location = path.location
        if not attach:
            log.info(
                "%s: failed over to %s at %s (%s)", device.id, path.udn, location, decision.reason
            )
            self._apply(device, device.lifecycle.failed_over(location))
        elif device.record.instance in self._fresh:
            self._fresh.discard(device.record.instance)
            self._apply(device, device.lifecycle.discovered(location, path.boot_id))
        else:
            self._apply(device, device.lifecycle.alive(location, path.boot_id))

    async def _place(self, event: DiscoveryEvent) -> tuple[VirtualDevice, _Reader | None] | None:
        """A path not seen before: which virtual device does it belong to?

        A known UUID whose identity came from the DM Common Objects is that device (the
        Common Objects decide, TR-330 §4.1.1). Without them (fallback identity) the
        guideline's rule applies: the same UUID behind another MAC address is another
        Virtual CWMP Device unless LOCATION uses the same port (`paths.joins_without_common_
        objects`); the description is fetched first so the gateway knows the MAC behind
        the path. A new UUID is identified (`_identify`)."""
        # instance order, without sorting the whole fleet for every new device (issue 13)
        known = sorted(
            (d for d in self.devices.values() if event.udn in d.record.udns),
            key=lambda d: d.record.instance,
        )
        if not known:
            return await self._identify(event)
        if all(d.store.kv_get(IDENTITY_SOURCE) != DESCRIPTION for d in known):
            return known[0], None
        reader = await _Reader.read(self, event.udn, event.location)
        if reader is None:
            return None
        reader.mac = self._mac(event.via, event.location)
        for device in known:
            if device.store.kv_get(IDENTITY_SOURCE) != DESCRIPTION:
                return device, reader
            seen = [(p.location, p.mac) for p in self.paths(device).live if p.udn == event.udn]
            if not seen:  # offline or just restarted: what it was last seen as
                seen = [(device.record.location, device.store.kv_get(IDENTITY_MAC) or None)]
            if joins_without_common_objects(event.udn, event.location, reader.mac, seen):
                return device, reader
        log.info(
            "%s at %s behind %s: same UUID, another MAC and port, no Common Objects: another "
            "virtual device (TR-330 §4.1.1)",
            event.udn,
            event.location,
            reader.mac,
        )
        return await self._identify(event, reader, split=True)

    def _certificate_refused(self, udn: str, reason: str) -> None:
        """A DP or TR-064 device presented a certificate we refuse: offline until `trust`
        (the pin store's words are in its security state)."""
        device = self.by_udn(udn)
        if device is None:
            return
        if not device.online:  # away before, back with another certificate: say why it stays
            activity = self.shared.activity
            if activity is not None and activity.reason.get(device.id) != CERTIFICATE_CHANGED:
                activity.emit("offline", device.id, reason=CERTIFICATE_CHANGED)
            return
        log.warning("%s: offline: %s", device.id, reason)
        task = asyncio.get_running_loop().create_task(self._take_offline(device))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _take_offline(self, device: VirtualDevice) -> None:
        async with self._device_lock(device):
            if device.online:
                self._apply(device, device.lifecycle.certificate_refused())

    def replay(self, udn: str) -> bool:
        """Handle the last sighting of `udn` again (after approve / trust)."""
        event = self.last_alive.get(udn)
        if event is not None:
            self._owners.pop((event.udn, event.via), None)
            self.on_discovery(event)
        return event is not None

    def _mac(self, via: str, location: str) -> str | None:
        return self._neighbours(path_host(via, location))

    async def _identify(
        self, event: DiscoveryEvent, reader: _Reader | None = None, *, split: bool = False
    ) -> tuple[VirtualDevice, _Reader | None] | None:
        """A UDN never seen before (or, with `split`, seen behind another MAC): read its
        description and identity and find or create its virtual device. Same Common Objects
        as a known device → that device (TR-330 §4.1.1: several logical devices of one
        physical device are one CWMP Device); the new UDN is one more path to it."""
        if reader is None:
            reader = await _Reader.read(self, event.udn, event.location)
            if reader is None:
                return None
            reader.mac = self._mac(event.via, event.location)
        try:
            identity = await read_identity(
                reader.dm.cms,
                udn=event.udn,
                candidate=reader.described.candidate,
                mac=reader.mac if split else None,
            )
        except UpnpError as exc:
            log.warning("%s: cannot read its identity: %s", event.udn, exc)
            reader.close()
            return None
        key = DeviceKey(identity.manufacturer_oui, identity.product_class, identity.serial_number)
        registry = self.shared.registry
        existing = registry.get(key)
        if split and reader.mac and existing is not None and event.udn in existing.udns:
            # Another interface of a device without Common Objects (TR-330 §4.1.1): its own
            # TR-181 key, told apart by the MAC (the description's serial is the same).
            mac = reader.mac.replace(":", "")
            key = DeviceKey(key.oui, key.product_class, f"{key.serial_number[:51]}-{mac}")
            existing = registry.get(key)
        manufacturer = identity.manufacturer or reader.described.candidate.manufacturer
        if existing is not None:
            record = existing
            if event.udn not in existing.udns:
                record = registry.update(existing, udns=(*existing.udns, event.udn))
                log.info(
                    "%s: same identity %s as %s: one virtual device (instance %d), "
                    "another logical device of it (TR-330 §4.1.1)",
                    event.udn,
                    key.id,
                    ", ".join(existing.udns) or "a known device",
                    record.instance,
                )
            device = self.devices.get(record.instance)
            if device is None:
                device = self._new_device(record)
                self.devices[record.instance] = device
                self.changed.set()
            else:
                device.record = record
            return device, reader
        if not await self._admit(key.id, event):
            reader.close()
            return None
        record, _ = registry.add(key, manufacturer, (event.udn,), event.location)
        device = self._new_device(record)
        with device.store.transaction():
            device.store.kv_set(IDENTITY_SOURCE, identity.source)
            device.store.kv_set(IDENTITY_MAC, reader.mac or "")
        self.devices[record.instance] = device
        self._fresh.add(record.instance)
        self.changed.set()
        log.info("%s: new virtual device %s (instance %d)", event.udn, key.id, record.instance)
        return device, reader

    async def _admit(self, identity: str, event: DiscoveryEvent) -> bool:
        """Issue 12 item 7: room and rate for one more virtual device? Offline ones past
        the pruning age make room first; a device kept out is tried at its next sighting."""
        registry = self.shared.registry
        if len(registry) >= self.admission.limits.max_devices:
            for record in self.admission.stale(registry, registry, time.time()):
                stale = self.devices.get(record.instance)
                log.info("%s: offline too long (upnp.prune_offline_days): pruned", record.key.id)
                if stale is not None:
                    await self.forget(stale)
                else:
                    remove_record(registry, record)
        if self.admission.admit(
            identity, event.udn, event.location, len(registry), self.shared.clock()
        ):
            return True
        self.forget_path(event.udn)
        return False

    async def _attach(self, device: VirtualDevice, reader: _Reader) -> bool:
        dm = reader.hand_over()
        if isinstance(dm.cms, DescriptionCms):  # BMS/SMS only (TR-330 §3.1): its DeviceId
            key = device.record.key
            dm.cms.identify(key.oui, key.product_class, key.serial_number)
        backend = UpnpBackend(
            dm,
            instance_store=device.instances,
            proxier_info=self._proxier_info,
            timeout=self.shared.config.upnp.action_timeout,
            tables=self.tables,
            manufacturer=device.record.manufacturer or reader.described.candidate.manufacturer,
            session=self.session,
            state=device.store,
        )
        await device.attach(dm, backend)
        await self.tr064.mount_twin(device)  # a TR-064 twin's objects (issue 10)
        return True

    def _new_device(self, record: VirtualDeviceRecord) -> VirtualDevice:
        device = VirtualDevice(record, self.shared)
        device.on_returned = self.returned
        if self.shared.activity is not None:
            self.shared.activity.emit("device_added", device.id, instance=record.instance)
        return device

    async def returned(self, device: VirtualDevice) -> None:
        """A device the ACS rebooted or reset is back where it was, seen by its UpTime or
        by answering at the end of the wait, not by discovery (no SSDP): re-read it there
        and run its alive ("1 BOOT" + "M Reboot" / "0 BOOTSTRAP", TR-330 Table 1)."""
        async with self._device_lock(device):
            path = self.paths(device).current
            if path is None or device.lifecycle.return_deadline is None:
                return  # discovery got there first
            await self._act(device, Decision(Action.ATTACH, path, "back after reboot"), None)

    def _apply(self, device: VirtualDevice, transition: Transition) -> None:
        events = table1_events(self.tables, transition)
        if transition.changed:
            self.changed.set()
        device.apply(transition, events)

    async def forget(self, device: VirtualDevice) -> None:
        """Drop a virtual device with its CWMP state: seen again, it is new ("0 BOOTSTRAP")."""
        instance = device.record.instance
        async with self._device_lock(device):
            await device.close()
            self.devices.pop(instance, None)
            self._paths.pop(instance, None)
            self._fresh.discard(instance)
            for path in [p for p, owner in self._owners.items() if owner == instance]:
                del self._owners[path]
            remove_record(self.shared.registry, device.record)
        for udn in device.record.udns:
            self.redescribe.forget(udn)
        self._device_locks.pop(instance, None)
        self.changed.set()
        log.info("%s: forgotten (instance %d), with its CWMP state", device.id, instance)
        if self.shared.activity is not None:
            self.shared.activity.emit("device_removed", device.id, instance=instance)

    async def close(self) -> None:
        """Close every virtual device, CLOSE_CONCURRENCY at a time: one after the other,
        each one's few awaits made a 2,000-device proxier slow to stop on SIGTERM."""
        self.redescribe.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        limit = asyncio.Semaphore(CLOSE_CONCURRENCY)

        async def close(device: VirtualDevice) -> None:
            async with limit:
                await device.close()

        await asyncio.gather(*(close(device) for device in list(self.devices.values())))


class _Reader:
    """One logical device read at one location: its checked description and DM client."""

    def __init__(self, udn: str, location: str, described: DescribedDevice, dm: NetworkDmDevice):
        self.udn = udn
        self.location = location
        self.described = described
        self.dm = dm
        self.mac: str | None = None  # MAC behind the path it was read over, when known
        self._owned = True

    @classmethod
    async def read(cls, manager: VirtualDeviceManager, udn: str, location: str) -> _Reader | None:
        link = manager.dp.link(udn, location) if manager.dp is not None else None
        if link is not None:
            result = await link.describe()
        else:
            fetched = manager.documents.take(location, time.monotonic())
            result = await describe(manager.session, location, fetched=fetched)
        described = next((d for d in result.devices if d.candidate.udn == udn), None)
        if result.transient:
            manager.redescribe.failed(udn, result.skipped[0][1] if result.skipped else "")
            return None
        if described is None:
            manager.redescribe.forget(udn)  # unusable as it is: not read again
            log.info("%s: no usable DM device at %s", udn, location)
            return None
        manager.redescribe.recovered(udn)
        transport = manager.soap
        if link is not None:  # DP: TLS only, roles and login first (proxier.dp.manager)
            described = await link.attach(described)
            if described is None:
                return None
            transport = link.transport
        return cls(udn, location, described, NetworkDmDevice.from_description(described, transport))

    def hand_over(self) -> NetworkDmDevice:
        """The DM client now belongs to a virtual device: `close` leaves it open."""
        self._owned = False
        return self.dm

    def close(self) -> None:
        if self._owned:
            self._owned = False
            self.dm.close()
