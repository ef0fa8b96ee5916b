"""Sans-IO GENA publisher of one service (UDA §4.1): subscriptions, SEQ, NOTIFY bodies.

The lab answers SUBSCRIBE with `SID: uuid:…` and `TIMEOUT: Second-N`, unknown or expired
SIDs with 412, and accepts a CALLBACK only when it points back at the subscriber itself
(same IP as the SUBSCRIBE came from) or, for a loopback subscriber, at loopback — so the
device cannot be used to send traffic to third parties (CallStranger, CVE-2020-12695).
"""

from __future__ import annotations

import ipaddress
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from proxier.upnp.gena import EVENT_NS, normalize_sid, parse_timeout

DEFAULT_TIMEOUT = 1800
MAX_TIMEOUT = 86400
MIN_TIMEOUT = 5
MAX_CALLBACKS = 4
MAX_SUBSCRIPTIONS = 64  # per service: a flood of SUBSCRIBEs cannot grow memory without bound
_CALLBACK_RE = re.compile(r"<([^<>]+)>")


class GenaRefused(Exception):
    """SUBSCRIBE/UNSUBSCRIBE refused with this HTTP status (400, 412, 503…)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(slots=True)
class Subscription:
    sid: str  # "uuid:…"
    callbacks: tuple[str, ...]
    timeout: int
    expires: float
    seq: int = 0  # SEQ of the next NOTIFY (0 = the initial event)
    #: The initial event is queued: changes go to this subscriber from then on (before it,
    #: the initial event itself will carry them, so SEQ 0 is always the full state).
    started: bool = False

    def next_seq(self) -> int:
        """SEQ for the next NOTIFY; wraps from 2^32-1 to 1 (UDA §4.3.2)."""
        seq = self.seq
        self.seq = 1 if seq >= 0xFFFFFFFF else seq + 1
        return seq


def callback_allowed(url: str, subscriber_ip: str) -> bool:
    """CallStranger rule: an http URL to the subscriber's own IP (loopback may use loopback)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    try:
        target = ipaddress.ip_address(parts.hostname)
        source = ipaddress.ip_address(subscriber_ip)
    except ValueError:
        return False
    if target == source:
        return True
    return target.is_loopback and source.is_loopback


def _timeout(header: str | None) -> int:
    value = parse_timeout(header)
    if value is None:
        return DEFAULT_TIMEOUT
    if math.isinf(value):
        return MAX_TIMEOUT
    return int(max(MIN_TIMEOUT, min(MAX_TIMEOUT, value)))


class Publisher:
    """Subscriptions of one evented service."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, Subscription] = {}

    def subscribe(
        self, callback: str | None, timeout: str | None, subscriber_ip: str, now: float
    ) -> Subscription:
        """A new subscription (UDA §4.1.1); 412 for a missing or refused CALLBACK."""
        urls = tuple(_CALLBACK_RE.findall(callback or ""))[:MAX_CALLBACKS]
        if not urls:
            raise GenaRefused(412, "CALLBACK missing or malformed")
        if not all(callback_allowed(u, subscriber_ip) for u in urls):
            raise GenaRefused(412, "CALLBACK must point at the subscriber on the local network")
        self.expire(now)
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise GenaRefused(503, "too many subscriptions")
        seconds = _timeout(timeout)
        sub = Subscription(f"uuid:{uuid.uuid4()}", urls, seconds, now + seconds)
        self.subscriptions[sub.sid] = sub
        return sub

    def find(self, sid: str | None, now: float) -> Subscription:
        self.expire(now)
        key = f"uuid:{normalize_sid(sid or '')}"
        sub = self.subscriptions.get(key)
        if sub is None:
            raise GenaRefused(412, "unknown or expired SID")
        return sub

    def renew(self, sid: str | None, timeout: str | None, now: float) -> Subscription:
        sub = self.find(sid, now)
        sub.timeout = _timeout(timeout)
        sub.expires = now + sub.timeout
        return sub

    def unsubscribe(self, sid: str | None, now: float) -> None:
        sub = self.find(sid, now)
        del self.subscriptions[sub.sid]

    def expire(self, now: float) -> None:
        for sid in [s.sid for s in self.subscriptions.values() if s.expires <= now]:
            del self.subscriptions[sid]

    def clear(self) -> None:
        self.subscriptions.clear()


def build_propertyset(variables: Mapping[str, str]) -> bytes:
    """`<e:propertyset>` with one `<e:property>` per variable (UDA §4.3.2), values escaped."""
    props = "".join(
        f"<e:property><{name}>{escape(value)}</{name}></e:property>"
        for name, value in variables.items()
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><e:propertyset xmlns:e="{EVENT_NS}">'
        f"{props}</e:propertyset>"
    ).encode()
