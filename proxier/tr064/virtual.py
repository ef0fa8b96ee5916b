"""TR-064 devices as Virtual CWMP Devices: the discovery → virtual device path (issue 10).

The virtual device manager hands every discovery event whose types are dslforum ones
(`is_tr064_event`) to `Tr064Devices`. A new device is described (tr64desc.xml + every
SCPD), identified (SerialNumber = MAC, OUI, ProductClass = modelName), found or created in
the shared registry, and attached: a CWMP engine over `Tr064Backend` with the proxier's
ManagementServer mounted, as for DM devices. Table 1 events come from the same lifecycle
(first discovery → BOOTSTRAP/BOOT; expired → offline). Credentials: the first
`[[tr064.login]]` whose `match` is the UDN, friendly name, MAC or "*".

A device offering both TR-064 and UPnP DM is one virtual device. Under one UDN the DM way
is taken. Under two UDNs, the TR-064 device joins a DM virtual device of the same MAC (its
SerialNumber, or the MAC behind its LOCATION; guide §5.1: a FRITZ! device is identified
by its MAC): UPnP DM wins for every top-level object its model has (DeviceInfo, and all
the TR-330 translation serves), TR-064 serves the mapped objects the DM model lacks
(e.g. Device.WiFi., Device.Hosts.), mounted beside it. Reboot, FactoryReset, Download and
Upload stay with UPnP DM. A TR-064 device seen before its DM twin stays a virtual device of
its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from proxier.cwmp.engine import CpeEngine, SessionResult
from proxier.cwmp.mount import MountedBackend
from proxier.cwmp.rpc import CwmpFaultError
from proxier.cwmp.runner import DeviceRunner
from proxier.logsafe import get_logger
from proxier.tr064.backend import Tr064Backend
from proxier.tr064.client import Login, Tr064Client
from proxier.tr064.description import Tr064Description, is_tr064_type
from proxier.upnp.description import DescriptionError
from proxier.upnp.device import UpnpError
from proxier.upnp.discovery import DiscoveryEvent, is_dm_type
from proxier.upnp.pins import PinStore
from proxier.virtual.device import MS, Shared, VirtualDevice
from proxier.virtual.lifecycle import Transition
from proxier.virtual.registry import DeviceKey, VirtualDeviceRecord

if TYPE_CHECKING:
    from proxier.virtual.manager import VirtualDeviceManager

IDENTITY_MAC = "identity.mac"  # as proxier.virtual.manager stores it (MAC behind LOCATION)
#: Set in the store of a TR-064 virtual device (restored as a plain one after a restart).
TR064_DEVICE = "tr064.device"

log = get_logger(__name__)


class LoginEntry(Protocol):
    """A `[[tr064.login]]` entry (config.Tr064Login); cores do not import config."""

    @property
    def match(self) -> str: ...
    @property
    def user(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def auth(self) -> str: ...


def is_tr064_event(event: DiscoveryEvent) -> bool:
    """Only dslforum types, no UPnP DM ones (a DM device goes the DM way)."""
    return any(map(is_tr064_type, event.types)) and not any(map(is_dm_type, event.types))


def pick_login(logins: Sequence[LoginEntry], description: Tr064Description) -> Login | None:
    """The first entry matching UDN, friendly name, MAC (any notation) or "*"."""
    mac = description.mac.lower()
    for entry in logins:
        match = entry.match.strip()
        compact = match.replace(":", "").replace("-", "").lower()
        if (
            match == "*"
            or match in (description.udn, description.udn.removeprefix("uuid:"))
            or match == description.friendly_name
            or (mac and compact == mac)
        ):
            return Login(entry.user, entry.password, entry.auth)
    return None


class Tr064VirtualDevice(VirtualDevice):
    """A VirtualDevice whose engine runs over a `Tr064Backend` instead of the DM one."""

    def __init__(self, record: VirtualDeviceRecord, shared: Shared) -> None:
        super().__init__(record, shared)
        self._tr064: tuple[Tr064Client, Tr064Backend, CpeEngine, DeviceRunner] | None = None

    @property
    def engine(self) -> CpeEngine | None:
        return self._tr064[2] if self._tr064 else None

    async def attach_tr064(self, client: Tr064Client, backend: Tr064Backend) -> None:
        await self.detach()
        mounted = MountedBackend(backend, {MS: self.management_server})
        engine = CpeEngine(mounted, self.store, self._engine_config(), clock=self.shared.clock)
        engine.set_connection_request_url(self.connection_request_url)
        runner = DeviceRunner(
            engine, self.shared.transport_factory, clock=self.shared.clock, on_session=self._done
        )
        backend.on_return = self._returned
        runner.pause()
        runner.start()
        self._tr064 = (client, backend, engine, runner)

    def _returned(self, reset: bool) -> None:
        """Back after the ACS's Reboot/FactoryReset: "1 BOOT" (+ "M Reboot"), Table 1."""
        if self._tr064 is not None:
            self._tr064[2].device_booted(self.shared.clock())
            self._tr064[3].resume()

    def _done(self, result: SessionResult) -> None:
        if self.shared.on_session is not None:
            self.shared.on_session(self, result)

    def _connection_request(self) -> bool:
        if self._tr064 is None or not self.lifecycle.online:
            return False
        return self._tr064[3].connection_request()

    def _cr_credentials(self) -> tuple[str, str]:
        if self._tr064 is not None:
            return self._tr064[2].connection_request_credentials()
        return super()._cr_credentials()

    def _apply(self, transition: Transition, events: tuple[str, ...]) -> None:
        super()._apply(transition, events)
        if self._tr064 is None:
            return
        _, _, engine, runner = self._tr064
        now = self.shared.clock()
        if "1 BOOT" in events:
            engine.device_booted(now)
        if "0 BOOTSTRAP" in events and "first_discovery" not in transition.conditions:
            engine.raise_event("0 BOOTSTRAP", now=now)
        if transition.online and not transition.hold:
            runner.resume()
        else:
            runner.pause()

    async def detach(self) -> None:
        attached, self._tr064 = self._tr064, None
        if attached is not None:
            await attached[3].stop()
            await attached[1].close()
        await super().detach()


def _mac_of(text: str) -> str:
    compact = text.replace(":", "").replace("-", "").strip().upper()
    return compact if len(compact) == 12 and all(c in "0123456789ABCDEF" for c in compact) else ""


class Tr064Devices:
    """The TR-064 side of the virtual device manager."""

    def __init__(self, manager: VirtualDeviceManager) -> None:
        self.manager = manager
        state = Path(manager.shared.config.state.dir)
        #: the proxier's one pin store (DP's), so `proxier devices trust` works here too
        self.pins = (
            manager.dp.pins if manager.dp is not None else PinStore(state / "dp" / "pins.json")
        )
        self.pins.import_sha256(state / "tr064-pins.json")  # the store before there was one
        #: MAC → the TR-064 backend serving beside a DM virtual device of that MAC
        self.twins: dict[str, Tr064Backend] = {}

    def _macs(self, device: VirtualDevice) -> set[str]:
        macs = {_mac_of(device.record.key.serial_number)}
        macs.add(_mac_of(device.store.kv_get(IDENTITY_MAC) or ""))
        return macs - {""}

    def _dm_twin(self, mac: str) -> VirtualDevice | None:
        for device in self.manager.devices.values():
            if isinstance(device, Tr064VirtualDevice) or device.store.kv_get(TR064_DEVICE):
                continue
            if mac in self._macs(device):
                return device
        return None

    async def mount_twin(self, device: VirtualDevice) -> None:
        """After a DM device (re)attached: mount its TR-064 twin's objects again."""
        for mac in self._macs(device):
            backend = self.twins.get(mac)
            if backend is not None:
                await self._mount(device, backend)

    async def _mount(self, device: VirtualDevice, backend: Tr064Backend) -> list[str]:
        """Mount the TR-064 objects the DM model lacks (DM wins where both have one)."""
        engine = device.engine
        mounted = engine.backend if engine is not None else None
        if not isinstance(mounted, MountedBackend):
            return []
        added = []
        prefixes = dict.fromkeys(
            ".".join(row.path.split(".")[:2]) + "." for row in backend.mapping.parameters
        )
        for prefix in prefixes:
            if prefix == MS or prefix in mounted.mounts:
                continue
            try:
                await backend.get_parameter_names(prefix, True)
            except CwmpFaultError:
                continue  # this TR-064 device has nothing there
            try:
                await mounted.main.get_parameter_names(prefix, True)
                continue  # the DM model has it: DM wins
            except CwmpFaultError as exc:
                if exc.fault.fault_code != 9005:
                    continue
            mounted.mounts[prefix] = backend
            added.append(prefix)
        if added:
            log.info("%s: TR-064 twin serves %s (UPnP DM wins elsewhere)", device.id, added)
        return added

    def _certificate_refused(self, udn: str, reason: str) -> None:
        """The HTTPS side presented another certificate than the pinned one (its description
        is plain HTTP, so only a handshake shows it): the reason goes where a DP device's
        goes (its security state's error, with the `trust` hint) and the device goes
        offline, as a DP device does, until `proxier devices trust ID`."""
        dp = self.manager.dp
        if dp is None:
            return
        state = dp.state(udn)
        if state.error != reason:
            log.warning("%s: device certificate refused: %s", udn, reason)
            state.error = reason
        if dp.on_refused is not None:
            dp.on_refused(udn, reason)

    async def handle(self, event: DiscoveryEvent) -> None:
        manager = self.manager
        device = manager.by_udn(event.udn)
        if event.kind in ("byebye", "expired"):
            if device is not None and device.online:
                manager._apply(device, device.lifecycle.expired())
            return
        if isinstance(device, Tr064VirtualDevice) and device.online and device.engine:
            return  # a lease refresh
        if event.root is False:
            return  # an embedded device (LANDevice …): its root's virtual device serves it
        client = Tr064Client(manager.session, event.location, None, pins=self.pins)
        client.on_refused = self._certificate_refused
        try:
            description = await client.attach()
        except (DescriptionError, UpnpError) as exc:
            log.warning("%s: TR-064 device at %s not usable: %s", event.udn, event.location, exc)
            return
        if await client.certificate_refusal():
            return  # offline until `proxier devices trust` (_certificate_refused)
        if description.udn != event.udn:
            log.debug("%s is embedded in %s: served by the root", event.udn, description.udn)
            return
        client.set_login(pick_login(manager.shared.config.tr064_logins, description))
        if not description.mac:
            log.warning("%s: no MAC in serialNumber or UDN: cannot identify it", event.udn)
            return
        twin = self._dm_twin(description.mac)
        if twin is not None:
            backend = Tr064Backend(client, manager.session, store=twin.store)
            old = self.twins.get(description.mac)
            if old is not None:
                await old.close()
            self.twins[description.mac] = backend
            await self._mount(twin, backend)
            log.info(
                "%s: TR-064 services of %s join its UPnP DM virtual device", event.udn, twin.id
            )
            return
        key = DeviceKey(description.oui, description.model_name[:64], description.mac)
        registry = manager.shared.registry
        record, created = registry.add(key, description.manufacturer, (event.udn,), event.location)
        current = manager.devices.get(record.instance)
        if not isinstance(current, Tr064VirtualDevice):
            if current is not None:
                await current.close()  # restored as a DM device at start-up
            current = Tr064VirtualDevice(record, manager.shared)
            current.store.kv_set(TR064_DEVICE, "1")
            manager.devices[record.instance] = current
            manager.changed.set()
        backend = Tr064Backend(
            client,
            manager.session,
            store=current.store,
            return_timeout=manager.shared.config.upnp.return_wait,
            poll_interval=manager.shared.config.upnp.probe_interval,
        )
        await current.attach_tr064(client, backend)
        lifecycle = current.lifecycle
        if created:
            log.info("%s: new TR-064 virtual device %s", event.udn, key.id)
            transition = lifecycle.discovered(event.location, None)
        else:
            transition = lifecycle.alive(event.location, None)
        manager._apply(current, transition)
