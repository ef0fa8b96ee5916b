"""Which UPnP DM devices are on the LAN right now (TR-330 §4.1.1).

`DeviceTracker` is the sans-IO core: SSDP messages (or description-URL probe results) and
`now` go in, typed `DiscoveryEvent`s come out. Each UDN that offers a DM service or is a
ManageableDevice is one candidate, root and embedded devices alike (TR-330 §4.1.1: either may
be a Virtual CWMP Device). A candidate lives as long as its CACHE-CONTROL max-age lease; it
leaves by ssdp:byebye (maybe with ANNOUNCEMENT.DM.UPNP.ORG, TR-330 Table 1) or by expiry.

A candidate is tracked per network path (`via`: the address its SSDP messages come from, or
the configured description URL that lists it): a multi-homed device (TR-330 §4.1.1, UDA 2.0
§1.2) announces the same UUID on each interface with its own LOCATION and lease, and each
path comes and goes on its own. Which paths make one Virtual CWMP Device is decided above
this layer (`proxier.virtual.paths`).

`Discovery` is the asyncio driver: periodic M-SEARCH on configured interfaces, a NOTIFY
listener, and the no-multicast path of polling configured description URLs. It refuses to
multicast unless `proxier.upnp.netns.check_multicast_allowed` agrees.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import aiohttp
from async_upnp_client.ssdp import get_ssdp_socket
from lxml import etree

from proxier.logsafe import get_logger
from proxier.logsetup import Condition
from proxier.redact import redact_url
from proxier.tr064.description import SEARCH_TARGETS as TR064_SEARCH_TARGETS
from proxier.tr064.description import is_tr064_type
from proxier.upnp import ssdp
from proxier.upnp.fresh import FreshDocuments
from proxier.upnp.http import HttpFetchError, bounded_request
from proxier.upnp.lanhosts import Network, lan_networks, location_refusal
from proxier.upnp.netns import check_multicast_allowed
from proxier.xmlsafe import XmlError, local_name, parse_xml

if TYPE_CHECKING:
    from proxier.config import UpnpConfig

_LOG = get_logger(__name__)

_DEV = "urn:schemas-upnp-org:device:"
_SVC = "urn:schemas-upnp-org:service:"
MANAGEABLE_DEVICE = _DEV + "ManageableDevice:"
DM_SERVICE_PREFIXES = (
    _SVC + "BasicManagement:",
    _SVC + "ConfigurationManagement:",
    _SVC + "SoftwareManagement:",
)
#: What we M-SEARCH for by default: the DM services v1/v2 and ManageableDevice v1/v2.
DM_SEARCH_TARGETS: tuple[str, ...] = tuple(
    prefix + version
    for prefix in (*DM_SERVICE_PREFIXES, MANAGEABLE_DEVICE)
    for version in ("1", "2")
)
ROOT_DEVICE = "upnp:rootdevice"

EventKind = Literal["alive", "byebye", "expired", "update"]


def is_dm_type(urn: str) -> bool:
    """True for a BMS/CMS/SMS service type or a ManageableDevice type (any version)."""
    return urn.startswith((*DM_SERVICE_PREFIXES, MANAGEABLE_DEVICE))


def is_candidate_type(urn: str) -> bool:
    """A type that makes a device a candidate: UPnP DM, or TR-064 (issue 10)."""
    return is_dm_type(urn) or is_tr064_type(urn)


#: Default M-SEARCH targets: UPnP DM, and the dslforum device types TR-064 devices answer
#: (FRITZ! sends no NOTIFY, so the periodic search is how they are found).
SEARCH_TARGETS = DM_SEARCH_TARGETS + TR064_SEARCH_TARGETS


@dataclass(frozen=True, slots=True)
class DiscoveryEvent:
    """A change in the set of DM candidates.

    kind: "alive" (new candidate, or its LOCATION or BOOTID changed: re-read it),
    "byebye" (it said goodbye; `announcement` tells AboutToReboot / AboutToBaselineReset),
    "expired" (lease ran out or its description URL stopped answering), "update"
    (ssdp:update: new BOOTID announced, same device).
    `via` names the path the event is about (remote address for SSDP, description URL for
    probes): each (udn, via) pair has its own lease.
    `types` holds the device/service types seen so far (hints; the description decides).
    """

    kind: EventKind
    udn: str
    location: str = ""
    types: frozenset[str] = frozenset()
    root: bool | None = None
    secure_location: str = ""
    boot_id: int | None = None
    config_id: int | None = None
    announcement: str = ""
    remote: str = ""
    via: str = ""
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def device_types(self) -> frozenset[str]:
        return frozenset(t for t in self.types if t.startswith(_DEV))

    @property
    def service_types(self) -> frozenset[str]:
        return frozenset(t for t in self.types if t.startswith(_SVC))


@dataclass(frozen=True, slots=True)
class ProbedDevice:
    """One device found in a description fetched from a configured URL."""

    udn: str
    device_type: str
    service_types: tuple[str, ...]
    root: bool


@dataclass(slots=True)
class _Record:
    udn: str
    via: str
    location: str
    expires: float
    types: set[str] = field(default_factory=set)
    root: bool | None = None
    boot_id: int | None = None
    config_id: int | None = None
    secure_location: str = ""
    announced: bool = False
    probe_url: str = ""


class DeviceTracker:
    """Sans-IO DM device tracker: feed messages with `handle`/`datagram`, timers with `now`."""

    def __init__(self, *, max_records: int = 1024, lan: Sequence[Network] = ()) -> None:
        #: Subnets a LOCATION may name besides the sender's own address (`lanhosts`).
        self.lan: Sequence[Network] = lan
        self._refused: set[tuple[str, str]] = set()  # (remote, location) already logged
        self._records: dict[tuple[str, str], _Record] = {}
        self._max_records = max_records
        self._probe_failures: dict[str, int] = {}
        self._probe_udns: dict[str, set[str]] = {}
        self._said_byebye: set[tuple[str, str]] = set()  # (udn, remote) until its next alive

    # -- queries

    def candidates(self) -> list[str]:
        """UDNs currently announced as alive."""
        return sorted({r.udn for r in self._records.values() if r.announced})

    def get_timer(self) -> float | None:
        """When `handle_timer` next has work (earliest lease end), or None."""
        ends = [r.expires for r in self._records.values() if math.isfinite(r.expires)]
        return min(ends) if ends else None

    # -- inputs

    def datagram(self, data: bytes, remote: str, now: float) -> list[DiscoveryEvent]:
        """Parse one UDP payload; malformed or irrelevant packets yield nothing (logged)."""
        try:
            message = ssdp.parse(data)
        except ssdp.SsdpError as exc:
            _LOG.debug("ignoring SSDP packet from %s: %s", remote, exc)
            return []
        return self.handle(message, now, remote=remote)

    def handle(self, msg: ssdp.SsdpMessage, now: float, remote: str = "") -> list[DiscoveryEvent]:
        """Apply one parsed SSDP message."""
        if msg.kind == "search":
            return []
        if msg.kind != "byebye" and not self._location_ok(msg, remote):
            return []
        if msg.kind == "byebye":
            return self._byebye(msg, remote)
        if msg.kind == "update":
            return self._update(msg, remote)
        assert msg.max_age is not None
        return self._alive(
            udn=msg.udn,
            location=msg.location,
            types=(msg.target, msg.usn_type),
            expires=now + msg.max_age,
            boot_id=msg.boot_id,
            config_id=msg.config_id,
            secure_location=msg.secure_location,
            remote=remote,
            headers=msg.headers,
            root=True if msg.target == ROOT_DEVICE else None,
        )

    def handle_timer(self, now: float) -> list[DiscoveryEvent]:
        """Expire every candidate whose lease ended at or before `now`."""
        events: list[DiscoveryEvent] = []
        for key in [k for k, r in self._records.items() if r.expires <= now]:
            record = self._records.pop(key)
            if record.announced:
                _LOG.info("lease of %s at %s expired", record.udn, record.location)
                events.append(self._event("expired", record))
        return events

    def probe_ok(
        self, url: str, devices: Sequence[ProbedDevice], now: float
    ) -> list[DiscoveryEvent]:
        """A configured description URL answered with these devices (no lease: polled)."""
        self._probe_failures[url] = 0
        events: list[DiscoveryEvent] = []
        seen: set[str] = set()
        for dev in devices:
            types = (dev.device_type, *dev.service_types)
            if not any(map(is_candidate_type, types)):
                continue
            seen.add(dev.udn)
            events += self._alive(
                udn=dev.udn,
                location=url,
                types=(dev.device_type, *dev.service_types),
                expires=math.inf,
                root=dev.root,
                probe_url=url,
            )
        for udn in sorted(self._probe_udns.get(url, set()) - seen):
            record = self._records.pop((udn, url), None)
            if record is not None and record.announced:
                events.append(self._event("expired", record))
        self._probe_udns[url] = seen
        return events

    def probe_failed(self, url: str, now: float, *, limit: int) -> list[DiscoveryEvent]:
        """A configured description URL did not answer; after `limit` misses in a row its
        devices expire."""
        failures = self._probe_failures.get(url, 0) + 1
        self._probe_failures[url] = failures
        if failures < limit:
            return []
        events: list[DiscoveryEvent] = []
        for udn in sorted(self._probe_udns.pop(url, set())):
            record = self._records.pop((udn, url), None)
            if record is not None and record.announced:
                _LOG.info("%s unreachable %d times: %s expired", url, failures, udn)
                events.append(self._event("expired", record))
        return events

    def _location_ok(self, msg: ssdp.SsdpMessage, remote: str) -> bool:
        """Issue 12 item 6: never fetch a LOCATION on a host other than the sender or the
        LAN subnets; such a packet is dropped, logged once per (sender, URL)."""
        for url in (msg.location, msg.secure_location):
            reason = location_refusal(url, remote, self.lan) if url else None
            if reason is None:
                continue
            if (remote, url) not in self._refused:
                if len(self._refused) >= self._max_records:
                    self._refused.clear()
                self._refused.add((remote, url))
                _LOG.warning("ignoring %s from %s: %s (%.200r)", msg.kind, remote, reason, url)
            return False
        return True

    def forget(self, udn: str) -> None:
        """Drop what is known of `udn`: its next announcement or probe is a new device."""
        for key in [k for k in self._records if k[0] == udn]:
            del self._records[key]
        for udns in self._probe_udns.values():
            udns.discard(udn)

    # -- transitions

    def _alive(
        self,
        *,
        udn: str,
        location: str,
        types: Iterable[str],
        expires: float,
        boot_id: int | None = None,
        config_id: int | None = None,
        secure_location: str = "",
        remote: str = "",
        headers: tuple[tuple[str, str], ...] = (),
        root: bool | None = None,
        probe_url: str = "",
    ) -> list[DiscoveryEvent]:
        new_types = {t for t in types if t and t != udn}
        via = probe_url or remote
        self._said_byebye.discard((udn, remote))
        record = self._records.get((udn, via))
        changed = False
        if record is None:
            if len(self._records) >= self._max_records:
                _LOG.warning("tracking %d devices already: ignoring %s", self._max_records, udn)
                return []
            record = _Record(
                udn=udn, via=via, location=location, expires=expires, probe_url=probe_url
            )
            self._records[(udn, via)] = record
        else:
            if record.location != location:
                changed = True
                record.location = location
            if boot_id is not None and record.boot_id is not None and boot_id != record.boot_id:
                changed = True
            record.expires = max(record.expires, expires) if not changed else expires
        record.types |= new_types
        if new_types & {ROOT_DEVICE}:
            record.root = True
        elif root is not None:
            record.root = root
        if boot_id is not None:
            record.boot_id = boot_id
        if config_id is not None:
            record.config_id = config_id
        if secure_location:
            record.secure_location = secure_location
        if not record.announced:
            if not any(is_candidate_type(t) for t in record.types):
                return []  # not (yet) known to be a DM device
            record.announced = True
            changed = True
        if not changed:
            return []
        return [self._event("alive", record, remote=remote, headers=headers)]

    def _path(self, udn: str, remote: str) -> _Record | None:
        """The record a byebye/update from `remote` is about: the one seen from there, else a
        description URL of that host listing the UDN. Never another interface's record: a
        multi-homed device's byebye on one interface says nothing about the others."""
        record = self._records.get((udn, remote))
        if record is not None or not remote:
            return record
        for other in self._records.values():
            if (
                other.udn == udn
                and other.probe_url
                and urlsplit(other.probe_url).hostname == remote
            ):
                return other
        return None

    def _byebye(self, msg: ssdp.SsdpMessage, remote: str) -> list[DiscoveryEvent]:
        record = self._path(msg.udn, remote)
        if record is None:
            if msg.announcement and (msg.udn, remote) not in self._said_byebye:
                # A DM announcement is about the device, whichever interface it came from
                # (TR-330 Table 1): report it, the device's other paths stay.
                known = [r for r in self._records.values() if r.udn == msg.udn and r.announced]
                if known:
                    return [
                        replace(
                            self._event(
                                "byebye",
                                known[0],
                                announcement=msg.announcement,
                                remote=remote,
                                headers=msg.headers,
                            ),
                            via=remote,
                            location="",
                        )
                    ]
            return []
        del self._records[(record.udn, record.via)]
        if len(self._said_byebye) >= 4 * self._max_records:
            self._said_byebye.clear()  # bounded: at worst a late duplicate is reported
        self._said_byebye.add((record.udn, remote))  # the rest of its burst is ignored
        if not record.announced:
            return []
        if record.probe_url:
            # A device we poll by URL said goodbye: believe it, the next probe brings it back.
            self._probe_udns.get(record.probe_url, set()).discard(msg.udn)
        return [
            self._event(
                "byebye", record, announcement=msg.announcement, remote=remote, headers=msg.headers
            )
        ]

    def _update(self, msg: ssdp.SsdpMessage, remote: str) -> list[DiscoveryEvent]:
        record = self._path(msg.udn, remote)
        if record is None or msg.next_boot_id is None:
            return []
        if record.boot_id == msg.next_boot_id:
            return []  # one ssdp:update per NT: report it once
        record.boot_id = msg.next_boot_id
        if msg.location:
            record.location = msg.location
        if msg.config_id is not None:
            record.config_id = msg.config_id
        if not record.announced:
            return []
        return [self._event("update", record, remote=remote, headers=msg.headers)]

    @staticmethod
    def _event(
        kind: EventKind,
        record: _Record,
        *,
        announcement: str = "",
        remote: str = "",
        headers: tuple[tuple[str, str], ...] = (),
    ) -> DiscoveryEvent:
        return DiscoveryEvent(
            kind=kind,
            udn=record.udn,
            location=record.location,
            types=frozenset(record.types),
            root=record.root,
            secure_location=record.secure_location,
            boot_id=record.boot_id,
            config_id=record.config_id,
            announcement=announcement,
            remote=remote,
            via=record.via,
            headers=headers,
        )


def devices_in_description(document: bytes, *, max_bytes: int) -> list[ProbedDevice]:
    """Every device (root first, then embedded, depth first) of a device description."""
    root = parse_xml(document, max_bytes=max_bytes)
    if local_name(root) != "root":
        raise XmlError(f"description root element is <{local_name(root)}>, not <root>")
    found: list[ProbedDevice] = []

    def child_text(element: etree._Element, name: str) -> str:
        for child in element:
            if local_name(child) == name:
                return (child.text or "").strip()
        return ""

    def walk(device: etree._Element, is_root: bool, depth: int) -> None:
        if depth > 8 or len(found) >= 256:
            return
        udn = child_text(device, "UDN")
        services: list[str] = []
        children: list[etree._Element] = []
        for child in device:
            if local_name(child) == "serviceList":
                services += [child_text(s, "serviceType") for s in child]
            elif local_name(child) == "deviceList":
                children += list(child)
        if udn.lower().startswith("uuid:"):
            found.append(
                ProbedDevice(udn, child_text(device, "deviceType"), tuple(services), is_root)
            )
        for sub in children:
            walk(sub, False, depth + 1)

    for child in root:
        if local_name(child) == "device":
            walk(child, True, 0)
            break
    return found


# --- asyncio driver --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiscoveryConfig:
    """Discovery settings (TR-330 §4.1.1: query on regular, configurable intervals).

    `interfaces` are interface names (their IPv4 address is used) or local addresses to
    search and listen on (IPv6 as "addr%ifname"); empty means no SSDP at all.
    `description_urls` is the no-multicast path.
    """

    interfaces: tuple[str, ...] = ()
    search_interval: float = 60.0
    search_targets: tuple[str, ...] = SEARCH_TARGETS
    mx: int = 2
    description_urls: tuple[str, ...] = ()
    probe_interval: float = 30.0
    probe_failures: int = 3
    fetch_timeout: float = 5.0
    max_description_bytes: int = 1024 * 1024
    allow_lan_multicast: bool = False
    #: Description fetches in flight at once: with thousands of URLs, starting them all
    #: together makes the last ones wait their turn past `fetch_timeout` (issue 13).
    max_parallel_fetches: int = 32
    #: (device, path) leases tracked at most: a guard against SSDP floods, not a fleet
    #: limit (issue 13 runs 2,000 devices); configured description URLs always fit.
    max_records: int = 4096


def discovery_config(upnp: UpnpConfig) -> DiscoveryConfig:
    """The discovery settings of the daemon's `[upnp]` section."""
    return DiscoveryConfig(
        interfaces=upnp.interfaces,
        search_interval=float(upnp.search_interval),
        description_urls=upnp.description_urls,
        probe_interval=upnp.probe_interval,
        probe_failures=upnp.probe_failures,
        allow_lan_multicast=upnp.allow_lan_multicast,
    )


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, on_data: Callable[[bytes, str], None]) -> None:
        self._on_data = on_data

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._on_data(data, str(addr[0]))

    def error_received(self, exc: Exception) -> None:
        _LOG.debug("SSDP socket error: %s", exc)


def interface_ipv4(name: str) -> str:
    """The IPv4 address of network interface `name` (Linux SIOCGIFADDR)."""
    import fcntl
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))
        except OSError as exc:
            raise ValueError(f"interface {name!r} has no IPv4 address: {exc}") from None
    return socket.inet_ntoa(packed[20:24])


def _endpoints(interface: str) -> tuple[tuple[str, int] | tuple[str, int, int, int], str]:
    """(socket source address, multicast group) for a configured interface: an IPv4
    address, an IPv6 address as "addr%ifname", or an interface name (its IPv4 address)."""
    if ":" not in interface:
        try:
            ipaddress.IPv4Address(interface)
        except ValueError:
            interface = interface_ipv4(interface)
        return (interface, 0), ssdp.SSDP_GROUP_V4
    addr, _, scope = interface.partition("%")
    index = socket.if_nametoindex(scope) if scope and not scope.isdigit() else int(scope or 0)
    group = ssdp.SSDP_GROUP_V6_LINK if addr.lower().startswith("fe80") else ssdp.SSDP_GROUP_V6_SITE
    return (addr, 0, 0, index), group


class Discovery:
    """Runs SSDP search/listen on `config.interfaces` and probes `config.description_urls`,
    passing every `DiscoveryEvent` to `on_event`."""

    def __init__(
        self,
        config: DiscoveryConfig,
        on_event: Callable[[DiscoveryEvent], None],
        *,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.monotonic,
        probe_ssl: ssl.SSLContext | None = None,
        documents: FreshDocuments | None = None,
    ) -> None:
        self.config = config
        #: Where a probe that makes a device alive leaves the description it read, for the
        #: describe step that follows (`proxier.upnp.fresh`: one fetch, not two).
        self.documents = documents
        #: TLS context for https description URLs (DeviceProtection devices: our client
        #: certificate; the probe only asks "still there?", pins are checked when describing)
        self._probe_ssl = probe_ssl
        self.tracker = DeviceTracker(
            max_records=max(config.max_records, 4 * len(config.description_urls))
        )
        self._on_event = on_event
        self._session = session
        self._own_session = False
        self._clock = clock
        self._transports: list[asyncio.DatagramTransport] = []
        self._search_targets: list[tuple[asyncio.DatagramTransport, str]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._expiry: asyncio.TimerHandle | None = None
        self._fetches = asyncio.Semaphore(config.max_parallel_fetches)
        self._conditions: dict[str, Condition] = {}

    def _condition(self, url: str) -> Condition:
        """An unreachable URL is logged when it fails or changes, then every 10 minutes."""
        if url not in self._conditions:
            self._conditions[url] = Condition(_LOG, f"description {redact_url(url)}")
        return self._conditions[url]

    def _start_tasks(self) -> None:
        if self.config.interfaces:
            self._tasks.append(asyncio.create_task(self._search_loop()))
        if self.config.description_urls:
            if self._session is None:
                self._session = aiohttp.ClientSession()
                self._own_session = True
            self._tasks.append(asyncio.create_task(self._probe_loop()))

    async def _stop_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks.clear()

    async def start(self) -> None:
        """Open sockets (after the multicast guard) and start the periodic jobs."""
        if self.config.interfaces:
            check_multicast_allowed(self.config.allow_lan_multicast)
            self.tracker.lan = lan_networks(self.config.interfaces)
            _LOG.info(
                "SSDP LOCATIONs fetched from the sender or %s",
                ", ".join(map(str, self.tracker.lan)) or "no LAN subnet",
            )
        loop = asyncio.get_running_loop()
        for interface in self.config.interfaces:
            await self._open_interface(loop, interface)
        self._start_tasks()

    async def stop(self) -> None:
        await self._stop_tasks()
        for transport in self._transports:
            transport.close()
        self._transports.clear()
        self._search_targets.clear()
        if self._expiry is not None:
            self._expiry.cancel()
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Discovery:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def search_now(self) -> None:
        """Send one M-SEARCH per target on every interface."""
        for transport, group in self._search_targets:
            dest: tuple[str, int] | tuple[str, int, int, int]
            sock = transport.get_extra_info("socket")
            if ":" in group:
                dest = (group, ssdp.SSDP_PORT, 0, sock.getsockname()[3] if sock else 0)
            else:
                dest = (group, ssdp.SSDP_PORT)
            for target in self.config.search_targets:
                transport.sendto(ssdp.build_msearch(target, mx=self.config.mx, group=group), dest)

    async def listen_unicast(self, address: str, port: int = 0) -> int:
        """Also take SSDP datagrams sent by unicast to `address` (no multicast group is
        joined: safe on loopback, where tests announce devices); returns the bound port."""
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _Datagrams(self._datagram), local_addr=(address, port)
        )
        self._transports.append(transport)
        return int(transport.get_extra_info("sockname")[1])

    async def probe_now(self) -> None:
        """Fetch every configured description URL once (`max_parallel_fetches` at a time)."""
        await asyncio.gather(*(self._probe(url) for url in self.config.description_urls))

    def probe_gap(self) -> float:
        """Seconds between two probes after the first round: each URL once per
        `probe_interval`, spread evenly over it instead of a burst every interval."""
        return self.config.probe_interval / max(len(self.config.description_urls), 1)

    # -- internals

    async def _open_interface(self, loop: asyncio.AbstractEventLoop, interface: str) -> None:
        source, group = _endpoints(interface)
        target: tuple[str, int] | tuple[str, int, int, int]
        if len(source) == 4:
            target = (group, ssdp.SSDP_PORT, 0, source[3])
        else:
            target = (group, ssdp.SSDP_PORT)
        # NOTIFY listener: bound to the SSDP port, member of the group on this interface.
        listen, _, _ = get_ssdp_socket(source, target)
        listen.bind(("::" if len(source) == 4 else "", ssdp.SSDP_PORT))
        # Search socket: ephemeral port on this address; unicast answers come back here.
        search, _, _ = get_ssdp_socket(source, target)
        search.bind(source)
        for sock in (listen, search):
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self._datagram), sock=sock
            )
            self._transports.append(transport)
        self._search_targets.append((self._transports[-1], group))

    def _datagram(self, data: bytes, remote: str) -> None:
        self._emit(self.tracker.datagram(data, remote, self._clock()))

    def _emit(self, events: list[DiscoveryEvent], *, leases: bool = True) -> None:
        """`leases=False`: nothing leased (SSDP max-age) changed, the expiry timer stands
        (a probe's paths have none: re-arming scanned every lease per probe, issue 13)."""
        for event in events:
            try:
                self._on_event(event)
            except Exception:
                _LOG.exception("discovery event handler failed on %s", event)
        if leases:
            self._arm_expiry()

    def _arm_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        when = self.tracker.get_timer()
        if when is None:
            return
        delay = max(0.0, when - self._clock())
        self._expiry = asyncio.get_running_loop().call_later(delay, self._on_expiry)

    def _on_expiry(self) -> None:
        self._expiry = None
        self._emit(self.tracker.handle_timer(self._clock()))

    async def _search_loop(self) -> None:
        while True:
            self.search_now()
            await asyncio.sleep(self.config.search_interval)

    async def _probe_loop(self) -> None:
        await self.probe_now()
        gap = self.probe_gap()
        while True:
            for url in self.config.description_urls:
                await asyncio.sleep(gap)
                await self._probe(url)

    async def _probe(self, url: str) -> None:
        async with self._fetches:
            await self._probe_one(url)

    async def _probe_one(self, url: str) -> None:
        assert self._session is not None
        try:
            result = await bounded_request(
                self._session,
                "GET",
                url,
                time_limit=self.config.fetch_timeout,
                max_bytes=self.config.max_description_bytes,
                max_redirects=3,
                ssl_context=self._probe_ssl if url.startswith("https:") else None,
            )
            if result.status != 200:
                raise HttpFetchError(f"GET {url} answered HTTP {result.status}")
            devices = devices_in_description(
                result.body, max_bytes=self.config.max_description_bytes
            )
        except (HttpFetchError, XmlError) as exc:
            self._condition(url).report(str(exc), logging.INFO)
            events = self.tracker.probe_failed(url, self._clock(), limit=self.config.probe_failures)
        else:
            self._condition(url).report(None)
            events = self.tracker.probe_ok(url, devices, self._clock())
            if self.documents is not None and any(e.kind == "alive" for e in events):
                self.documents.keep(url, result, self._clock())
        self._emit(events, leases=False)
