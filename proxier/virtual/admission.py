"""Which new LAN devices may become Virtual CWMP Devices (issue 12 item 7).

Every new identity on the LAN would otherwise become a persistent virtual device, with its
own state directory, Connection Request path and sessions to the ACS: a LAN host inventing
identities could fill the gateway's storage and flood the ACS. Two bounds apply to
identities never seen before (known ones always come back):

- `upnp.max_devices`: at most this many virtual devices in the registry (offline included);
- `upnp.max_new_devices_per_minute`: a token bucket of new identities per minute
  (`proxier.cwmp.ratelimit`), so a burst at gateway start passes and a flood does not.

A device over either bound is kept out: logged once, listed in `kept_out` (shown beside the
privacy gate's pending devices, `proxier.virtual.keptout`), and tried again at its next
sighting. The operator's `approve` grants one UDN a pass past the rate (not past the
maximum). Pruning rule: a virtual
device offline for longer than `upnp.prune_offline_days` is forgotten (its row and its
state) when the proxier starts and whenever room is needed for a new device; a kept-out
entry not seen for a day is dropped, and the list holds at most 256 entries.

`Admission` is sans-IO (clocks passed in); the manager applies its answers.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass

from proxier.cwmp.ratelimit import TokenBucket
from proxier.dbfile import wait_released
from proxier.logsafe import get_logger
from proxier.virtual.registry import Registry, VirtualDeviceRecord

log = get_logger(__name__)

#: Kept-out entries remembered, and for how long after they were last seen (seconds).
KEPT_OUT_MAX = 256
KEPT_OUT_TTL = 86400.0
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class AdmissionLimits:
    max_devices: int = 128
    max_new_per_minute: int = 32
    prune_offline_days: float = 30.0


@dataclass(slots=True)
class KeptOut:
    """A device refused admission: who, where, why, and when it was seen."""

    identity: str
    udn: str
    location: str
    reason: str
    first_seen: float
    last_seen: float


class Admission:
    """Decides whether a new identity becomes a virtual device; remembers who was kept out."""

    def __init__(self, limits: AdmissionLimits) -> None:
        self.limits = limits
        self.kept_out: dict[str, KeptOut] = {}
        self._bucket = TokenBucket()
        self._granted: set[str] = set()  # UDNs the operator approved: past the rate

    def grant(self, udn: str) -> None:
        """The operator approved this kept-out device: its next try skips the rate limit."""
        self._granted.add(udn)

    def drop(self, udn: str) -> None:
        """Forget what is known of a kept-out UDN (the operator's forget)."""
        self._granted.discard(udn)
        for key in [k for k, e in self.kept_out.items() if e.udn == udn]:
            del self.kept_out[key]

    def admit(self, identity: str, udn: str, location: str, known: int, now: float) -> bool:
        """True when `identity` may be added to a registry of `known` virtual devices."""
        limits = self.limits
        if known >= limits.max_devices:
            reason = f"upnp.max_devices ({limits.max_devices}) reached"
        elif udn not in self._granted and not self._bucket.take(
            now, limits.max_new_per_minute, 60.0
        ):
            reason = (
                f"more than upnp.max_new_devices_per_minute ({limits.max_new_per_minute}) "
                "new devices"
            )
        else:
            self.kept_out.pop(identity, None)
            self._granted.discard(udn)
            return True
        self._keep_out(KeptOut(identity, udn, location, reason, now, now))
        return False

    def _keep_out(self, entry: KeptOut) -> None:
        now = entry.last_seen
        for key in [k for k, e in self.kept_out.items() if now - e.last_seen > KEPT_OUT_TTL]:
            del self.kept_out[key]
        known = self.kept_out.get(entry.identity)
        if known is not None:
            known.last_seen, known.reason = entry.last_seen, entry.reason
            return
        if len(self.kept_out) >= KEPT_OUT_MAX:
            oldest = min(self.kept_out.values(), key=lambda e: e.last_seen)
            del self.kept_out[oldest.identity]
        self.kept_out[entry.identity] = entry
        log.warning(
            "new device %s (%s at %.200r) kept out: %s",
            entry.identity,
            entry.udn,
            entry.location,
            entry.reason,
        )

    def stale(
        self, records: Iterable[VirtualDeviceRecord], registry: Registry, wall_now: float
    ) -> list[VirtualDeviceRecord]:
        """Offline virtual devices past the pruning age, longest offline first."""
        limit = self.limits.prune_offline_days * DAY
        aged = []
        for record in records:
            since = registry.offline_since(record.instance)
            if not record.online and since is not None and wall_now - since > limit:
                aged.append((since, record))
        return [record for _, record in sorted(aged, key=lambda item: item[0])]


def remove_record(registry: Registry, record: VirtualDeviceRecord) -> None:
    """Remove a virtual device's row and its private state directory (forgotten or pruned)."""
    registry.remove(record)
    wait_released()  # its store's connection is closed before its files go
    shutil.rmtree(record.state_dir, ignore_errors=True)
