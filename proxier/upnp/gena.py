"""GENA subscriptions to the DM services (UDA §4, TR-330 §4.2.1).

TR-330 §4.2.1 asks the proxier to keep an active subscription to BMS, CMS and SMS of every
proxied device. `GenaCore` is the sans-IO part: it decides when to SUBSCRIBE, renew,
resubscribe (412 or failure, with back-off), poll (device refuses subscriptions) or resync
(SEQ gap), and turns NOTIFY requests into `DmEvent`s. `GenaManager` runs it: one aiohttp
callback server for all devices, HTTP SUBSCRIBE/UNSUBSCRIBE through a shared ClientSession.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import heapq
import ipaddress
import itertools
import math
import random
import re
import socket
import ssl
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from lxml import etree

from proxier.httpserver import server_runner
from proxier.logsafe import get_logger
from proxier.upnp.device import DmEvent
from proxier.upnp.http import HttpFetchError, bounded_request
from proxier.xmlsafe import XmlError, local_name, namespace, parse_xml

_LOG = get_logger(__name__)

EVENT_NS = "urn:schemas-upnp-org:event-1-0"
SEQ_MAX = 0xFFFF_FFFF
MAX_NOTIFY_BYTES = 1024 * 1024
_MAX_ANSWER_BYTES = 64 * 1024  # a SUBSCRIBE answer has no body worth reading
_TIMEOUT_RE = re.compile(r"^\s*(?:second-)?(\d+|infinite)\s*$", re.IGNORECASE)


# --- sans-IO core --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Send an initial SUBSCRIBE for `key`."""

    key: str


@dataclass(frozen=True, slots=True)
class Renew:
    """Send a renewal SUBSCRIBE (SID, no CALLBACK) for `key`."""

    key: str
    sid: str


@dataclass(frozen=True, slots=True)
class Poll:
    """The device refuses subscriptions: read its evented variables now."""

    key: str


@dataclass(frozen=True, slots=True)
class Resync:
    """Events may have been missed: re-read the device state behind `key`."""

    key: str


Action = Subscribe | Renew | Poll | Resync


@dataclass(frozen=True, slots=True)
class NotifyResult:
    """What to answer a NOTIFY, and what it means."""

    status: int
    key: str = ""
    event: DmEvent | None = None
    resync: bool = False


@dataclass(slots=True)
class _Sub:
    key: str
    service: str
    sid: str = ""
    expires: float = 0.0
    next_seq: int = 0
    due: float = 0.0  # when the next action (subscribe/renew/poll) is due
    in_flight: bool = False
    failures: int = 0
    refusals: int = 0
    polling: bool = False
    ever_subscribed: bool = False


def parse_timeout(value: str | None) -> float | None:
    """Seconds from a TIMEOUT header ("Second-1800", bare "1800" from lax devices,
    "Second-infinite" → inf); None when absent or unreadable."""
    if value is None:
        return None
    match = _TIMEOUT_RE.match(value)
    if match is None:
        return None
    raw = match.group(1).lower()
    return math.inf if raw == "infinite" else float(raw)


def normalize_sid(value: str) -> str:
    """SIDs compare without the "uuid:" prefix some publishers omit."""
    value = value.strip()
    return value[5:] if value.lower().startswith("uuid:") else value


def parse_propertyset(body: bytes) -> dict[str, str]:
    """Variables of a GENA `<e:propertyset>` (UDA §4.3.2); values that hold markup (an
    unescaped XML document) come back serialized."""
    root = parse_xml(body, max_bytes=MAX_NOTIFY_BYTES)
    if local_name(root) != "propertyset" or namespace(root) != EVENT_NS:
        raise XmlError("NOTIFY body is not an e:propertyset")
    variables: dict[str, str] = {}
    for prop in root:
        if local_name(prop) != "property":
            continue
        for var in prop:
            name = local_name(var)
            if not name:
                continue
            if len(var):
                inner = "".join(_serialize(child) for child in var)
                variables[name] = (var.text or "") + inner
            else:
                variables[name] = var.text or ""
    return variables


def _serialize(element: etree._Element) -> str:
    """An element as text, without namespace declarations it only inherited."""
    clone = copy.deepcopy(element)
    etree.cleanup_namespaces(clone)
    return etree.tostring(clone, encoding="unicode", with_tail=False) + (element.tail or "")


_SEQ = re.compile(r"[0-9]{1,10}", re.ASCII)  # UDA §4.3.1: a 32-bit event key, ASCII digits


class GenaCore:
    """Subscription states and timers for many (device, service) keys; no I/O."""

    def __init__(
        self,
        *,
        backoff_initial: float = 2.0,
        backoff_max: float = 300.0,
        refusals_before_polling: int = 2,
        poll_interval: float = 60.0,
        renew_margin: float = 60.0,
        max_pending: int = 16,
        renew_jitter: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.refusals_before_polling = refusals_before_polling
        self.poll_interval = poll_interval
        self.renew_margin = renew_margin
        self.max_pending = max_pending
        #: Renew up to this fraction of the subscription's time early, at random: thousands
        #: of subscriptions made in one bootstrap burst would otherwise all renew in the same
        #: second, every TIMEOUT, forever (issue 13).
        self.renew_jitter = renew_jitter
        self._rng = rng or random.Random()
        self._subs: dict[str, _Sub] = {}
        self._by_sid: dict[str, str] = {}
        # NOTIFYs with a SID we do not know yet, while initial SUBSCRIBEs are in flight.
        self._pending: list[tuple[str, int | None, bytes]] = []
        #: (due, order, key) of every waiting subscription; stale entries (the sub moved on,
        #: is in flight or gone) are skipped when they surface. Thousands of subscriptions
        #: made the full scans of every wake-up quadratic in a bootstrap (issue 13).
        self._heap: list[tuple[float, int, str]] = []
        self._order = itertools.count()

    def _schedule(self, sub: _Sub) -> None:
        if not math.isinf(sub.due):
            heapq.heappush(self._heap, (sub.due, next(self._order), sub.key))

    def _current(self, entry: tuple[float, int, str]) -> _Sub | None:
        """The subscription a heap entry stands for, if it is still what is due."""
        sub = self._subs.get(entry[2])
        if sub is None or sub.in_flight or sub.due != entry[0]:
            return None
        return sub

    # -- set-up

    def add(self, key: str, service: str, now: float) -> None:
        """Start keeping a subscription for `key` (the SUBSCRIBE is due at once)."""
        if key in self._subs:
            return
        self._subs[key] = sub = _Sub(key=key, service=service, due=now)
        self._schedule(sub)

    def remove(self, key: str) -> str:
        """Forget `key`; returns its SID (to UNSUBSCRIBE) or ""."""
        sub = self._subs.pop(key, None)
        if sub is None:
            return ""
        self._by_sid.pop(normalize_sid(sub.sid), None)
        return sub.sid

    def keys(self) -> list[str]:
        return list(self._subs)

    def state(self, key: str) -> str:
        """ "subscribed", "polling", "pending" (waiting to (re)subscribe) or "" (unknown)."""
        sub = self._subs.get(key)
        if sub is None:
            return ""
        if sub.sid:
            return "subscribed"
        return "polling" if sub.polling else "pending"

    def sid(self, key: str) -> str:
        sub = self._subs.get(key)
        return sub.sid if sub else ""

    def expedite(self, key: str, now: float) -> None:
        """Make `key`'s next renewal (or subscribe) due now, e.g. after the device rebooted."""
        sub = self._subs.get(key)
        if sub is not None and not sub.in_flight:
            sub.due = now
            self._schedule(sub)

    # -- timers

    def get_timer(self) -> float | None:
        while self._heap and self._current(self._heap[0]) is None:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def handle_timer(self, now: float) -> list[Action]:
        actions: list[Action] = []
        while self._heap and self._heap[0][0] <= now:
            sub = self._current(heapq.heappop(self._heap))
            if sub is None:
                continue
            if sub.sid and sub.expires <= now:
                _LOG.info("subscription %s of %s lapsed", sub.sid, sub.key)
                self._drop_sid(sub)
            if sub.sid:
                sub.in_flight = True
                actions.append(Renew(sub.key, sub.sid))
                continue
            sub.in_flight = True
            actions.append(Subscribe(sub.key))
            if sub.polling:
                actions.append(Poll(sub.key))
        return actions

    # -- results of our requests

    def subscribed(self, key: str, sid: str, timeout: float | None, now: float) -> list[Action]:
        """A SUBSCRIBE (initial or renewal) got 200 with SID/TIMEOUT."""
        sub = self._subs.get(key)
        if sub is None:
            return []
        actions: list[Action] = []
        renewal = bool(sub.sid) and normalize_sid(sub.sid) == normalize_sid(sid)
        if not renewal:
            if sub.sid:
                self._by_sid.pop(normalize_sid(sub.sid), None)
            if sub.ever_subscribed or sub.polling:
                actions.append(Resync(key))  # events between the two SIDs are lost
            sub.sid = sid
            sub.next_seq = 0
            self._by_sid[normalize_sid(sid)] = key
        sub.ever_subscribed = True
        sub.in_flight = False
        sub.failures = sub.refusals = 0
        sub.polling = False
        seconds = 1800.0 if timeout is None else timeout
        sub.expires = now + seconds
        margin = min(self.renew_margin, seconds / 2)
        lead = seconds - margin
        if self.renew_jitter:
            lead -= lead * self.renew_jitter * self._rng.random()
        sub.due = math.inf if math.isinf(seconds) else now + lead
        self._schedule(sub)
        return actions

    def failed(self, key: str, now: float, status: int | None) -> list[Action]:
        """A SUBSCRIBE/renewal failed: `status` is the HTTP status, None for no answer.

        412 on a renewal means the publisher forgot us: subscribe afresh at once. Other
        failures back off exponentially; a publisher that keeps answering SUBSCRIBE with
        an error refuses subscriptions, so its variables are polled meanwhile.
        """
        sub = self._subs.get(key)
        if sub is None:
            return []
        sub.in_flight = False
        was_renewal = bool(sub.sid)
        if was_renewal:
            self._drop_sid(sub)
            if status == 412:
                sub.due = now
                self._schedule(sub)
                return []
        sub.failures += 1
        if status is not None and not was_renewal:
            sub.refusals += 1
        delay = min(self.backoff_max, self.backoff_initial * 2 ** (sub.failures - 1))
        if sub.refusals >= self.refusals_before_polling:
            if not sub.polling:
                _LOG.info("%s refuses subscriptions (HTTP %s): polling instead", key, status)
                sub.polling = True
                sub.due = now + self.poll_interval
                self._schedule(sub)
                return [Poll(key)]
            delay = self.poll_interval
        sub.due = now + delay
        self._schedule(sub)
        return []

    def _drop_sid(self, sub: _Sub) -> None:
        self._by_sid.pop(normalize_sid(sub.sid), None)
        sub.sid = ""
        sub.expires = 0.0

    # -- NOTIFY from publishers

    def handle_notify(
        self, *, sid: str | None, seq: str | None, nt: str | None, nts: str | None, body: bytes
    ) -> NotifyResult:
        """Check and decode one NOTIFY (UDA §4.3.1 answers: 400 missing headers, 412
        unknown SID or wrong NT/NTS). SEQ gaps ask for a resync."""
        if not sid or nt is None or nts is None:
            return NotifyResult(400)
        if nt != "upnp:event" or nts != "upnp:propchange":
            return NotifyResult(412)
        seq_value = int(seq) if seq is not None and _SEQ.fullmatch(seq.strip()) else None
        if seq_value is not None and seq_value > SEQ_MAX:
            seq_value = None
        key = self._by_sid.get(normalize_sid(sid))
        if key is None:
            # The initial event may overtake the SUBSCRIBE answer (UDA §4.2.1): keep it for
            # a subscription whose SUBSCRIBE is in flight.
            waiting = any(s.in_flight and not s.sid for s in self._subs.values())
            if waiting and len(self._pending) < self.max_pending:
                self._pending.append((sid, seq_value, body))
                return NotifyResult(200)
            return NotifyResult(412)
        return self._deliver(self._subs[key], seq_value, body)

    def deliver_pending(self, key: str) -> list[NotifyResult]:
        """Apply NOTIFYs that were parked while `key`'s SUBSCRIBE was in flight."""
        sub = self._subs.get(key)
        if sub is None or not sub.sid or not self._pending:
            return []  # (nothing parked: no scan of every subscription, issue 13)
        mine = normalize_sid(sub.sid)
        parked = [p for p in self._pending if normalize_sid(p[0]) == mine]
        self._pending = [p for p in self._pending if normalize_sid(p[0]) != mine]
        if self._pending and not any(s.in_flight and not s.sid for s in self._subs.values()):
            self._pending.clear()
        return [self._deliver(sub, seq, body) for _, seq, body in parked]

    def _deliver(self, sub: _Sub, seq: int | None, body: bytes) -> NotifyResult:
        try:
            variables = parse_propertyset(body)
        except XmlError as exc:
            _LOG.warning("bad NOTIFY body from %s: %s", sub.key, exc)
            return NotifyResult(400, sub.key, resync=True)
        gap = False
        if seq is None:
            gap = True  # cannot tell what we missed
            seq = sub.next_seq
        elif seq != sub.next_seq:
            if _seq_before(seq, sub.next_seq):
                _LOG.debug("duplicate NOTIFY %d (expected %d) from %s", seq, sub.next_seq, sub.key)
                return NotifyResult(200, sub.key)
            _LOG.info("SEQ gap on %s: got %d, expected %d", sub.key, seq, sub.next_seq)
            gap = True
        sub.next_seq = 1 if seq >= SEQ_MAX else seq + 1
        event = DmEvent(service=sub.service, variables=variables, seq=seq)
        return NotifyResult(200, sub.key, event, resync=gap)


def _seq_before(seq: int, expected: int) -> bool:
    """True when `seq` is an old (already seen) number, allowing for the wrap to 1."""
    if seq == 0:
        return False  # 0 again: the publisher restarted our subscription
    distance = (expected - seq) % SEQ_MAX
    return 0 < distance < SEQ_MAX // 2


# --- asyncio/aiohttp driver ------------------------------------------------------------------

EventSink = Callable[[DmEvent], None]
ResyncHook = Callable[[], Awaitable[None]]
PollHook = Callable[[], Awaitable[dict[str, str]]]


@dataclass(slots=True)
class _Target:
    service: str
    event_sub_url: str
    sink: EventSink
    resync: ResyncHook | None
    poll: PollHook | None
    on_sid: Callable[[str], None] | None = None


def _local_ip_towards(url: str) -> str:
    """The local address the kernel would use to reach `url`'s host (no packet is sent)."""
    host = urllib.parse.urlsplit(url).hostname or "127.0.0.1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect((host, 9))
        return str(probe.getsockname()[0])


#: The proxier's renewals come 0–25 % early at random (spread, not synchronised).
RENEW_JITTER = 0.25

#: `GenaManager(host=PER_PATH)`: listen on, and advertise, the local address of the path to
#: each device (issue 8: a LAN device must be able to deliver events, and the callback must
#: never listen on the WAN side, as a wildcard bind would).
PER_PATH = "per-path"


class GenaManager:
    """One callback server and every GENA subscription of the proxier.

    `host` is where the callback server listens (loopback by default). When it is a
    wildcard, each device gets a CALLBACK URL on the local address that routes to it. With
    `PER_PATH` the server listens on each such local address as devices need it (the same
    port on each when free), and nowhere else.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        requested_timeout: int = 1800,
        request_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        core: GenaCore | None = None,
        tls_for: Callable[[str], ssl.SSLContext | None] | None = None,
    ) -> None:
        #: TLS context for an https eventSubURL (a DeviceProtection device known only by its
        #: secure URL); the CALLBACK itself stays plain HTTP (proxier.dp.manager says why)
        self._tls_for = tls_for or (lambda url: None)
        self.core = core or GenaCore(renew_jitter=RENEW_JITTER)
        self._session = session
        self._host = host
        self._port = port
        self._path_ports: dict[str, int] = {}  # PER_PATH: local address → bound port
        self._path_sites: list[web.TCPSite] = []
        self._requested_timeout = requested_timeout
        self._request_timeout = request_timeout
        self._clock = clock
        self._targets: dict[str, _Target] = {}
        self._runner: web.BaseRunner | None = None
        self._timer_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._jobs: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        return self._port

    def callback_url(self, event_sub_url: str = "") -> str:
        host = self._host
        port = self._port
        if host == PER_PATH:
            host = _local_ip_towards(event_sub_url)
            port = self._path_ports.get(host, self._port)
        elif ipaddress.ip_address(host).is_unspecified:
            host = _local_ip_towards(event_sub_url)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}/gena"

    async def _listen_towards(self, event_sub_url: str) -> None:
        """PER_PATH: make sure the callback server listens on the path's local address."""
        if self._host != PER_PATH or self._runner is None:
            return
        address = _local_ip_towards(event_sub_url)
        if address in self._path_ports:
            return
        for port in dict.fromkeys((self._port, 0)):
            site = web.TCPSite(self._runner, address, port)
            try:
                await site.start()
            except OSError:
                if port == 0:
                    raise
                continue
            break
        server = site._server  # the asyncio Server: where the bound port shows
        assert server is not None
        bound = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        self._path_sites.append(site)
        self._path_ports[address] = bound
        self._port = self._port or bound
        _LOG.info("GENA callback server listening on %s port %d", address, bound)

    async def start(self) -> None:
        # BaseRequest.read() refuses bodies over 1 MiB (aiohttp's default client_max_size).
        self._runner = await server_runner(self._handle_request, name="GENA callback")
        if self._host != PER_PATH:
            self._site = web.TCPSite(self._runner, self._host, self._port)
            await self._site.start()
            self._port = int(self._runner.addresses[0][1])
        self._timer_task = asyncio.create_task(self._timer_loop())

    async def stop(self) -> None:
        """UNSUBSCRIBE everything, then stop the callback server."""
        if self._timer_task is not None:
            self._timer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer_task
            self._timer_task = None
        for job in list(self._jobs):
            job.cancel()
        await asyncio.gather(*self._jobs, return_exceptions=True)
        await asyncio.gather(*(self.remove(key) for key in list(self._targets)))
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> GenaManager:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def add(
        self,
        key: str,
        service: str,
        event_sub_url: str,
        sink: EventSink,
        *,
        resync: ResyncHook | None = None,
        poll: PollHook | None = None,
        on_sid: Callable[[str], None] | None = None,
    ) -> None:
        """Keep `service` ("CMS"/"BMS"/"SMS") of one device subscribed; events go to `sink`.

        `resync` re-reads the device after a SEQ gap or a new SID; `poll` returns the
        evented variables when the device refuses subscriptions; `on_sid` learns every SID
        a SUBSCRIBE obtained (so a restarted proxier can `release` what it left behind).
        """
        self._targets[key] = _Target(service, event_sub_url, sink, resync, poll, on_sid)
        self.core.add(key, service, self._clock())
        self._wake.set()

    def refresh(self, key: str) -> None:
        """Renew `key` now: a device that rebooted (new BOOTID) answers 412 and gets a
        fresh subscription plus a resync."""
        self.core.expedite(key, self._clock())
        self._wake.set()

    def state(self, key: str) -> str:
        """ "subscribed", "polling", "pending" or "" (see `GenaCore.state`)."""
        return self.core.state(key)

    async def remove(self, key: str) -> None:
        """Stop keeping `key` subscribed and UNSUBSCRIBE it."""
        target = self._targets.pop(key, None)
        sid = self.core.remove(key)
        if target is not None and sid:
            await self._unsubscribe(key, target.event_sub_url, sid)

    async def release(self, event_sub_url: str, sid: str) -> bool:
        """UNSUBSCRIBE a subscription an earlier run of the proxier left on a device (it
        holds one of the device's few slots until it expires). True once the device
        answered: 200, or 412 for a SID it no longer knows, both mean it is gone."""
        status = await self._send_unsubscribe(event_sub_url, sid, "a stale subscription")
        return status in (200, 412)

    async def _unsubscribe(self, key: str, event_sub_url: str, sid: str) -> None:
        status = await self._send_unsubscribe(event_sub_url, sid, key)
        if status is not None:
            _LOG.debug("UNSUBSCRIBE %s → %d", key, status)

    async def _send_unsubscribe(self, event_sub_url: str, sid: str, what: str) -> int | None:
        """The device's HTTP status, or None (logged) when it could not be reached."""
        try:
            result = await bounded_request(
                self._session,
                "UNSUBSCRIBE",
                event_sub_url,
                headers={"SID": sid},
                time_limit=self._request_timeout,
                max_bytes=_MAX_ANSWER_BYTES,
                ssl_context=self._tls_for(event_sub_url),
            )
        except HttpFetchError as exc:
            _LOG.info("UNSUBSCRIBE of %s at %s failed: %s", what, event_sub_url, exc)
            return None
        return result.status

    # -- timers and actions

    async def _timer_loop(self) -> None:
        while True:
            self._run(self.core.handle_timer(self._clock()))
            when = self.core.get_timer()
            self._wake.clear()
            delay = None if when is None else max(0.0, when - self._clock())
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
            # arrives while the event is being set, and stop() would then hang.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    def _run(self, actions: list[Action]) -> None:
        for action in actions:
            job = asyncio.create_task(self._perform(action))
            self._jobs.add(job)
            job.add_done_callback(self._jobs.discard)
        if actions:
            self._wake.set()

    async def _perform(self, action: Action) -> None:
        target = self._targets.get(action.key)
        if target is None:
            return
        try:
            if isinstance(action, Subscribe | Renew):
                await self._subscribe(action, target)
            elif isinstance(action, Poll):
                if target.poll is not None:
                    variables = await target.poll()
                    target.sink(DmEvent(target.service, dict(variables), 0, resync=True))
            elif target.resync is not None:
                await target.resync()
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOG.exception("GENA %s for %s failed", type(action).__name__, action.key)
        self._wake.set()

    async def _subscribe(self, action: Subscribe | Renew, target: _Target) -> None:
        headers = {"TIMEOUT": f"Second-{self._requested_timeout}"}
        if isinstance(action, Renew):
            headers["SID"] = action.sid
        else:
            try:
                await self._listen_towards(target.event_sub_url)
            except OSError as exc:
                _LOG.warning("GENA: no callback address towards %s: %s", target.event_sub_url, exc)
            headers["CALLBACK"] = f"<{self.callback_url(target.event_sub_url)}>"
            headers["NT"] = "upnp:event"
        try:
            result = await bounded_request(
                self._session,
                "SUBSCRIBE",
                target.event_sub_url,
                headers=headers,
                time_limit=self._request_timeout,
                max_bytes=_MAX_ANSWER_BYTES,
                ssl_context=self._tls_for(target.event_sub_url),
            )
        except HttpFetchError as exc:
            _LOG.info("SUBSCRIBE %s: %s", action.key, exc)
            self._run(self.core.failed(action.key, self._clock(), None))
            return
        status = result.status
        sid = result.headers.get("sid", "")
        timeout = parse_timeout(result.headers.get("timeout"))
        if status != 200 or not sid:
            _LOG.info("SUBSCRIBE %s answered %d (SID %r)", action.key, status, sid)
            self._run(self.core.failed(action.key, self._clock(), status))
            return
        if action.key not in self._targets:
            # Removed while the SUBSCRIBE was on its way: do not leave it on the device.
            await self._unsubscribe(action.key, target.event_sub_url, sid)
            return
        if isinstance(action, Subscribe) and target.on_sid is not None:
            try:
                target.on_sid(sid)
            except Exception:
                _LOG.exception("recording the SID of %s failed", action.key)
        self._run(self.core.subscribed(action.key, sid, timeout, self._clock()))
        for parked in self.core.deliver_pending(action.key):
            self._apply(parked)

    # -- callback server

    async def _handle_request(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.method != "NOTIFY":
            return web.Response(status=405)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413)
        result = self.core.handle_notify(
            sid=request.headers.get("SID"),
            seq=request.headers.get("SEQ"),
            nt=request.headers.get("NT"),
            nts=request.headers.get("NTS"),
            body=body,
        )
        self._apply(result)
        return web.Response(status=result.status)

    def _apply(self, result: NotifyResult) -> None:
        target = self._targets.get(result.key) if result.key else None
        if target is None:
            return
        if result.event is not None:
            try:
                target.sink(result.event)
            except Exception:
                _LOG.exception("event sink of %s failed", result.key)
        if result.resync:
            self._run([Resync(result.key)])
