"""One Virtual CWMP Device (TR-069 Annex J.2): a proxied UPnP DM device seen by the ACS.

It composes the layers for one device: the network DM device (`NetworkDmDevice`), the TR-330
translation (`UpnpBackend`) with the engine's own `Device.ManagementServer.` mounted beside it,
the CWMP engine and its asyncio runner, GENA subscriptions and the Connection Request
registration. All CWMP state is in the device's store, so the in-memory parts can be rebuilt
whenever the device comes back from a reboot, a reset or a new address.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from proxier.config import Config
from proxier.control.activity import ActivityLog, Kind
from proxier.cwmp.backend import DataModelBackend
from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.cwmp.engine import AcsSettings, CpeEngine, EngineConfig, SessionResult
from proxier.cwmp.memory import MemoryBackend, add_management_server
from proxier.cwmp.mount import MountedBackend
from proxier.cwmp.rpc import CpeRequest, CpeResponse, DeviceIdStruct, Fault
from proxier.cwmp.runner import DeviceRunner
from proxier.cwmp.store import DeviceStore
from proxier.cwmp.transport import AcsTransport
from proxier.logsafe import get_logger
from proxier.translate.backend import UpnpBackend
from proxier.translate.instances import InstanceStore
from proxier.upnp.client import NetworkDmDevice
from proxier.upnp.device import DmEvent, UpnpError
from proxier.upnp.gena import GenaManager
from proxier.virtual.eventfeed import EventFeed
from proxier.virtual.firstinforms import FirstInforms
from proxier.virtual.lifecycle import Lifecycle, Transition
from proxier.virtual.registry import Registry, VirtualDeviceRecord
from proxier.virtual.storeseed import seed

log = get_logger(__name__)

MS = "Device.ManagementServer."
#: DM Common Object: seconds since the device booted (tells a restart when SSDP cannot).
UPTIME = "/UPnP/DM/DeviceInfo/UpTime"
LIFECYCLE_KEY = "lifecycle."
#: GENA subscriptions (event URL, SID) this device may still hold for us (JSON list).
GENA_SIDS_KEY = "gena.sids"
MAX_SAVED_SIDS = 48
#: Where older versions kept the instance map, in a second sqlite file.
LEGACY_INSTANCES = "instances.sqlite"

TransportFactory = Callable[[AcsSettings], AcsTransport]


@dataclass(slots=True)
class Shared:
    """What every virtual device of one proxier shares (one of each per process)."""

    config: Config
    registry: Registry
    connreq: ConnectionRequestServer
    gena: GenaManager
    transport_factory: TransportFactory
    clock: Callable[[], float] = time.time
    on_session: Callable[[VirtualDevice, SessionResult], None] | None = None
    #: The operator's feed (status, API, console, embedding callbacks).
    activity: ActivityLog | None = None
    #: Every ACS request of a device with its answer (metrics, values last read).
    on_answer: Callable[[VirtualDevice, CpeRequest, CpeResponse | Fault], None] | None = None
    #: First Informs first: later work of a device waits while others wait for theirs.
    first_informs: FirstInforms = field(default_factory=FirstInforms)


class _Attached:
    """The parts that exist only while the device is reachable at a known description."""

    __slots__ = ("backend", "dm", "engine", "events", "resume", "runner")

    def __init__(
        self,
        dm: NetworkDmDevice,
        backend: UpnpBackend,
        engine: CpeEngine,
        runner: DeviceRunner,
        events: EventFeed[DmEvent],
        resume: asyncio.Handle,
    ) -> None:
        self.dm = dm
        self.backend = backend
        self.engine = engine
        self.runner = runner
        self.events = events
        self.resume = resume


class _DeviceBackend(MountedBackend):
    """The engine's backend: translation + ManagementServer, and it tells the lifecycle when
    the ACS's Reboot/FactoryReset made the device go away (TR-330 Table 1 rows 0 and 1)."""

    def __init__(self, device: VirtualDevice, main: UpnpBackend) -> None:
        super().__init__(main, {MS: device.management_server})
        self.device = device

    async def reboot(self, command_key: str) -> None:
        await super().reboot(command_key)  # BMS::Reboot; raises if the device refused
        self.device.expect_return(reset=False)

    async def factory_reset(self) -> None:
        await super().factory_reset()  # BMS::BaselineReset
        self.device.expect_return(reset=True)


class VirtualDevice:
    """A proxied device's CWMP identity, state and (while attached) its running engine."""

    def __init__(self, record: VirtualDeviceRecord, shared: Shared) -> None:
        self.record = record
        self.shared = shared
        directory = Path(record.state_dir)
        seed(directory / "cwmp.sqlite")  # a new device's file: a copy of an empty store
        self.store = DeviceStore(directory / "cwmp.sqlite")
        # One sqlite connection per device: the instance map shares the CWMP state's file
        # (a state dir from before keeps it in instances.sqlite: imported once, then removed).
        self.instances = InstanceStore(self.store.database, legacy=directory / LEGACY_INSTANCES)
        saved = self.store.kv_items(LIFECYCLE_KEY)
        self.lifecycle = Lifecycle.from_dict({k[len(LIFECYCLE_KEY) :]: v for k, v in saved.items()})
        self.lifecycle.online = False  # until discovery says otherwise
        self.management_server = self._management_server()
        self.device_id = DeviceIdStruct(
            record.manufacturer, record.key.oui, record.key.product_class, record.key.serial_number
        )
        self._attached: _Attached | None = None
        self._token = shared.connreq.register(
            self._connection_request, self._cr_credentials, token=record.cr_token
        )
        self._return_timer: asyncio.TimerHandle | None = None
        self._return_watch: asyncio.Task[None] | None = None
        #: Set by the manager: re-read the device where it is and run its alive (Table 1).
        self.on_returned: Callable[[VirtualDevice], Awaitable[None]] | None = None
        self._background: set[asyncio.Task[None]] = set()
        if shared.activity is not None:
            self.store.on_event = self._event_raised

    # --- identity and state ------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.record.key.id

    @property
    def online(self) -> bool:
        return self.lifecycle.online

    @property
    def engine(self) -> CpeEngine | None:
        return self._attached.engine if self._attached else None

    @property
    def dm(self) -> NetworkDmDevice | None:
        return self._attached.dm if self._attached else None

    @property
    def initial_cr_credentials(self) -> tuple[str, str]:
        """The configured shared pair, else the device's own random pair (registry)."""
        cr = self.shared.config.connection_request
        if cr.username:
            return cr.username, cr.password
        return self.record.cr_username, self.record.cr_password

    @property
    def connection_request_url(self) -> str:
        return self.shared.connreq.url(self._token)

    def _management_server(self) -> MemoryBackend:
        acs = self.shared.config.acs
        ms = MemoryBackend(self.store, persist_key="management_server")
        cr_username, cr_password = self.initial_cr_credentials
        add_management_server(
            ms,
            acs_url=acs.url,
            acs_username=acs.username,
            acs_password=acs.password,
            periodic_inform_interval=acs.periodic_inform_interval,
            connection_request_username=cr_username,
            connection_request_password=cr_password,
        )
        ms.freeze_defaults()
        return ms

    def _save_lifecycle(self) -> None:
        with self.store.transaction():
            for key, value in self.lifecycle.to_dict().items():
                self.store.kv_set(LIFECYCLE_KEY + key, value)

    def _cr_credentials(self) -> tuple[str, str]:
        if self._attached is not None:
            return self._attached.engine.connection_request_credentials()
        username, password = self.initial_cr_credentials
        return (
            self.store.get_meta("ms.ConnectionRequestUsername", username),
            self.store.get_meta("ms.ConnectionRequestPassword", password),
        )

    def _connection_request(self) -> bool:
        """TR-069 §3.2.2 via the shared server; offline → 503 (Annex J.2.3)."""
        if self._attached is None or not self.lifecycle.online:
            return False
        return self._attached.runner.connection_request()

    def _event_raised(self, code: str, command_key: str) -> None:
        if self.shared.activity is not None:
            self.shared.activity.emit("event", self.id, code=code, command_key=command_key)

    def connection_request_now(self) -> bool:
        """A Connection Request from the operator (`proxier inform`): same rules as the ACS's."""
        return self._connection_request()

    # --- attaching to the network device -----------------------------------------------------

    def _engine_config(self) -> EngineConfig:
        acs = self.shared.config.acs
        cr_username, cr_password = self.initial_cr_credentials
        return EngineConfig(
            device_id=self.device_id,
            acs_url=acs.url,
            acs_username=acs.username,
            acs_password=acs.password,
            periodic_inform_enable=acs.periodic_inform_enable,
            periodic_inform_interval=acs.periodic_inform_interval,
            connection_request_username=cr_username,
            connection_request_password=cr_password,
            session_timeout=float(acs.session_timeout),
            connection_request_limit=self.shared.config.connection_request.rate_limit,
            connection_request_window=self.shared.config.connection_request.rate_window,
        )

    def reconfigure(self) -> None:
        """`shared.config` changed (SIGHUP): the running engine takes the new ACS settings."""
        if self._attached is not None:
            self._attached.engine.reconfigure(self._engine_config(), self.shared.clock())

    async def attach(self, dm: NetworkDmDevice, backend: UpnpBackend) -> None:
        """(Re)build engine and runner over a freshly described device; starts paused."""
        await self.detach()
        await self._release_subscriptions(dm)
        # Notified values' baseline survives restarts (a change while we were down is
        # still a change) and is written with the engine's events (one transaction).
        backend.tracker.use_store(self.store)
        mounted: DataModelBackend = _DeviceBackend(self, backend)
        engine = CpeEngine(mounted, self.store, self._engine_config(), clock=self.shared.clock)
        engine.set_connection_request_url(self.connection_request_url)
        if self.shared.on_answer is not None:
            engine.on_answer = functools.partial(self.shared.on_answer, self)
        runner = DeviceRunner(
            engine, self.shared.transport_factory, clock=self.shared.clock, on_session=self._done
        )
        runner.pause()
        runner.start()
        # TR-330 Table 1 events of DM occurrences ("8 DIAGNOSTICS COMPLETE" …), per the table.
        backend.set_event_listener(engine.raise_event)
        # GENA events go to the backend through a feed: a task only while events wait (no
        # task per idle device, issue 13). Restored firmware operations and log marks are
        # looked at once the caller has applied the attach (its "1 BOOT" judges logs first).
        # Work needed only after the first Inform waits its turn (virtual/firstinforms).
        self.shared.first_informs.started(self)
        backend.operations.defer_to(self.shared.first_informs.turn)
        backend.defer_scan_to(self.shared.first_informs.turn)
        events: EventFeed[DmEvent] = EventFeed(backend.handle_event, name=self.id)
        resume = asyncio.get_running_loop().call_soon(backend.operations.resume)
        self._attached = _Attached(dm, backend, engine, runner, events, resume)
        self._subscribe(dm, events)

    def _event_urls(self, dm: NetworkDmDevice) -> dict[str, str]:
        """Service kind → eventSubURL of the DM services that event."""
        description = dm.description
        if description is None:
            return {}
        urls = {}
        for kind in ("CMS", "BMS", "SMS"):
            service = description.candidate.service(kind)
            if service is not None and service.event_sub_url:
                urls[kind] = service.event_sub_url
        return urls

    def _subscribe(self, dm: NetworkDmDevice, events: EventFeed[DmEvent]) -> None:
        for kind, url in self._event_urls(dm).items():
            self.shared.gena.add(
                f"{dm.udn}:{kind}",
                kind,
                url,
                functools.partial(_deliver, events, dm),
                on_sid=functools.partial(self._remember_sid, url),
            )

    def _sids(self) -> list[tuple[str, str]]:
        try:
            saved = json.loads(self.store.kv_get(GENA_SIDS_KEY) or "[]")
            return [(str(url), str(sid)) for url, sid in saved]
        except (ValueError, TypeError):
            return []

    def _save_sids(self, sids: list[tuple[str, str]]) -> None:
        self.store.kv_set(GENA_SIDS_KEY, json.dumps(sids[-MAX_SAVED_SIDS:]))

    def _remember_sid(self, url: str, sid: str) -> None:
        self._save_sids([*self._sids(), (url, sid)])

    async def _release_subscriptions(self, dm: NetworkDmDevice) -> None:
        """UNSUBSCRIBE what an earlier run left on the device (UDA §4.1.3).

        A proxier killed before it could unsubscribe leaves its subscriptions to expire
        (30 min); a device has few slots (the lab device 64 per service) and refuses new
        subscribers with 503 once they are full, and then no event (no "4 VALUE CHANGE")
        reaches us. SIDs for other addresses are dropped: a device that moved restarted.
        """
        saved = self._sids()
        if not saved:
            return
        urls = set(self._event_urls(dm).values())
        here = [(url, sid) for url, sid in saved if url in urls]
        gone = await asyncio.gather(*(self.shared.gena.release(url, sid) for url, sid in here))
        released = {entry for entry, ok in zip(here, gone, strict=True) if ok}
        # SIDs learnt meanwhile (none yet: nothing is subscribed before this returns) stay.
        self._save_sids([e for e in self._sids() if e in here and e not in released])

    async def detach(self) -> None:
        self.shared.first_informs.ended(self)
        attached, self._attached = self._attached, None
        if attached is None:
            return
        attached.resume.cancel()
        await attached.runner.stop()
        attached.dm.close()
        await attached.events.close()
        for kind in ("CMS", "BMS", "SMS"):
            await self.shared.gena.remove(f"{attached.dm.udn}:{kind}")
        with contextlib.suppress(Exception):
            await attached.backend.close()

    def _done(self, result: SessionResult) -> None:
        self.shared.first_informs.ended(self)
        attached = self._attached
        if attached is not None:
            # TR-069: diagnostics requested in a session start once it has ended.
            task = asyncio.get_running_loop().create_task(attached.backend.after_session())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        if self.shared.on_session is not None:
            self.shared.on_session(self, result)

    # --- lifecycle ---------------------------------------------------------------------------

    def apply(self, transition: Transition, events: tuple[str, ...]) -> None:
        """Act on a lifecycle transition and the Table 1 events it maps to.

        The new lifecycle state and the events it raises are stored in one transaction: a
        kill between the two would otherwise lose the "1 BOOT"/"M Reboot" for good (the
        restarted proxier sees the transition as already done).
        """
        with self.store.transaction():
            self._apply(transition, events)

    def _apply(self, transition: Transition, events: tuple[str, ...]) -> None:
        self._save_lifecycle()
        if transition.changed and transition.reason:
            log.info(
                "%s: %s (%s)",
                self.id,
                "online" if transition.online else "offline",
                transition.reason,
            )
        if transition.changed and self.shared.activity is not None:
            kind: Kind = "online" if transition.online else "offline"
            self.shared.activity.emit(kind, self.id, reason=transition.reason)
        location = self.lifecycle.location or self.record.location
        if transition.online != self.record.online or location != self.record.location:
            self.record = self.shared.registry.update(
                self.record, online=transition.online, location=location
            )
        attached = self._attached
        if attached is None:
            return
        now = self.shared.clock()
        if "1 BOOT" in events or "0 BOOTSTRAP" in events:
            # What changed across the reboot/reset is not a "4 VALUE CHANGE" (Table 7).
            attached.backend.tracker.rebaseline()
        if "1 BOOT" in events:
            attached.engine.device_booted(now)  # adds "M Reboot" for ACS-requested reboots
            attached.backend.operations.device_rebooted()  # VendorLogFile.Persistent
        if "0 BOOTSTRAP" in events and "first_discovery" not in transition.conditions:
            attached.engine.raise_event("0 BOOTSTRAP", now=now)
        if transition.online and not transition.hold:
            attached.runner.resume()
        else:
            attached.runner.pause()
        if not (transition.online and not transition.hold) or not self.store.events():
            # No first session to come (a proxier restart with nothing to report, or the
            # device held/offline): it does not keep the others' deferred work waiting.
            self.shared.first_informs.ended(self)

    def expect_return(self, *, reset: bool) -> None:
        """The device is going down on the ACS's request: hold sessions until it is back
        (its "1 BOOT"/"M Reboot" or "0 BOOTSTRAP" go out then), and wait a bounded time."""
        now = self.shared.clock()
        wait = self.shared.config.upnp.return_wait
        if reset:
            self.lifecycle.reset_requested(now, wait)
        else:
            self.lifecycle.reboot_requested(now, wait)
        self._save_lifecycle()
        if self._attached is not None:
            self._attached.runner.pause()
        loop = asyncio.get_running_loop()
        self._stop_return_watch()
        self._return_timer = loop.call_later(wait, self._return_overdue)
        self._return_watch = loop.create_task(self._watch_return(time.monotonic()))

    def _stop_return_watch(self) -> None:
        if self._return_timer is not None:
            self._return_timer.cancel()
            self._return_timer = None
        if self._return_watch is not None:
            self._return_watch.cancel()
            self._return_watch = None

    async def _uptime(self) -> int | None:
        """The device's UpTime; None if it has none. Raises OSError-like failures as
        `UpnpError` code 0 / TimeoutError when it does not answer."""
        dm = self.dm
        if dm is None:
            raise TimeoutError("not attached")
        async with asyncio.timeout(self.shared.config.upnp.action_timeout):
            try:
                got = await dm.cms.get_values([UPTIME])
            except UpnpError as exc:
                if exc.code == 0:
                    raise
                return None  # answered, but has no UpTime (703 …)
        try:
            return int(got[0].value) if got else None
        except ValueError:
            return None

    async def _watch_return(self, asked: float) -> None:
        """Without SSDP (description URLs only) a device that restarts between two probes
        shows neither byebye/alive nor a new BOOTID: its UpTime, smaller than the time since
        we asked for the reboot, says it has restarted and is back (1 s for UpTime's
        rounding)."""
        interval = self.shared.config.upnp.probe_interval
        while self.lifecycle.return_deadline is not None:
            await asyncio.sleep(interval)
            try:
                uptime = await self._uptime()
            except (UpnpError, TimeoutError):
                continue  # down (rebooting): discovery or a later round will tell
            if uptime is None:
                return  # no UpTime: wait for discovery or the deadline
            if uptime + 1 < time.monotonic() - asked and self.on_returned is not None:
                self._return_watch = None
                log.info("%s: back after the ACS's reboot/reset (UpTime %d s)", self.id, uptime)
                await self.on_returned(self)
                return

    def _return_overdue(self) -> None:
        self._return_timer = None
        task = asyncio.get_running_loop().create_task(self._overdue())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _overdue(self) -> None:
        """The wait is over. A device that answers now came back unseen (a restart quicker
        than discovery notices): it is back. One that does not answer is offline, its
        state and events kept for when it returns."""
        if self.lifecycle.return_deadline is None:
            return
        try:
            await self._uptime()
        except (UpnpError, TimeoutError):
            pass
        else:
            if self.on_returned is not None:
                log.info("%s: answers again after the ACS's reboot/reset", self.id)
                self._stop_return_watch()
                await self.on_returned(self)
                return
        transition = self.lifecycle.handle_timer(self.shared.clock())
        if transition is not None:
            self._stop_return_watch()
            log.warning(
                "%s: did not come back within %.0f s after the ACS's reboot/reset; "
                "keeping its state and events for when it does",
                self.id,
                self.shared.config.upnp.return_wait,
            )
            self.apply(transition, ())

    async def close(self) -> None:
        self._stop_return_watch()
        await self.detach()
        self.shared.connreq.unregister(self._token)
        self.instances.close()
        self.store.close()


def _deliver(feed: EventFeed[DmEvent], dm: NetworkDmDevice, event: DmEvent) -> None:
    """A GENA event goes to the backend's feed and to whoever else listens on the device
    (`NetworkDmDevice.events()`: embedding code and tests watching a device's events)."""
    feed.push(event)
    dm.push_event(event)
