"""Reading a device's description again after a transient failure (issue 13).

Under load a device's description or SCPD fetch may time out, be refused or answer 5xx
during bootstrap. Discovery already knows the device, so nothing would read it again until
its next sighting (`upnp.probe_interval`, or the next ssdp:alive): the device would be
missing at the ACS for that long. Such a device is read again after 5 s, 10 s, 20 s ...
capped at `RetrySchedule.cap`, each delay shortened by a random part (`jitter`) so a fleet
that failed together does not retry in lockstep. It stops when the read succeeds, the
device leaves (byebye, expiry, forget) or the proxier stops. A permanently unusable
description (no DM service, invalid document, refused certificate) is not retried.

`RetrySchedule` is the sans-IO schedule (clock passed in); `Redescriber` is the thin
asyncio driver: one `loop.call_later` handle per failing device (no task per device), the
retry itself goes back through the manager's event path and so through its fetch bound.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from proxier.logsafe import get_logger
from proxier.logsetup import Condition
from proxier.upnp.discovery import DiscoveryEvent

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Retry:
    delay: float  # seconds until the next read
    attempt: int  # failures in a row, 1 for the first
    since: float  # when the first of them happened (the caller's clock)


class RetrySchedule:
    """Exponential back-off per key: `base` × 2^(n-1), at most `cap`, minus up to `jitter`
    of it (a random fraction, so delays never exceed the cap and never coincide)."""

    def __init__(
        self,
        base: float = 5.0,
        cap: float = 300.0,
        jitter: float = 0.25,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.base, self.cap, self.jitter = base, cap, jitter
        self._rand = rand
        self._failing: dict[str, tuple[int, float]] = {}  # key -> (failures, first at)

    def __contains__(self, key: str) -> bool:
        return key in self._failing

    def __len__(self) -> int:
        return len(self._failing)

    def failed(self, key: str, now: float) -> Retry:
        attempt, since = self._failing.get(key, (0, now))
        attempt += 1
        self._failing[key] = (attempt, since)
        full = min(self.cap, self.base * 2 ** min(attempt - 1, 30))
        return Retry(full * (1.0 - self.jitter * self._rand()), attempt, since)

    def succeeded(self, key: str, now: float) -> float | None:
        """Seconds since the first failure when `key` was failing, else None."""
        entry = self._failing.pop(key, None)
        return None if entry is None else now - entry[1]

    def forget(self, key: str) -> None:
        self._failing.pop(key, None)


class Redescriber:
    """Per-UDN retry timers for the virtual device manager.

    `failed`/`recovered` are called where the description is read; `settle` after an event
    was handled arms the timer, which replays the device's latest discovery event."""

    def __init__(
        self, replay: Callable[[DiscoveryEvent], None], schedule: RetrySchedule | None = None
    ) -> None:
        self._replay = replay
        self.schedule = schedule if schedule is not None else RetrySchedule()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._due: dict[str, float] = {}  # failed during the event being handled: delay
        self._conditions: dict[str, tuple[Condition, str]] = {}  # failing UDN: log, state

    def failed(self, udn: str, reason: str) -> None:
        retry = self.schedule.failed(udn, asyncio.get_running_loop().time())
        self._due[udn] = retry.delay
        if udn not in self._conditions:  # one INFO line per device (reminders every 10 min)
            state = f"description not read ({reason}); reading it again with back-off"
            self._conditions[udn] = (Condition(log, udn), state)
        condition, state = self._conditions[udn]
        condition.report(state, logging.INFO)

    def recovered(self, udn: str) -> None:
        if self.schedule.succeeded(udn, asyncio.get_running_loop().time()) is None:
            return
        self.cancel(udn)
        entry = self._conditions.pop(udn, None)
        if entry is not None:
            entry[0].report(None)

    def settle(self, event: DiscoveryEvent) -> None:
        """After `event` was handled: a device that left is dropped; one whose read failed
        transiently is read again (its latest event replayed) after the back-off delay."""
        udn = event.udn
        if event.kind in ("byebye", "expired"):
            self.forget(udn)
            return
        delay = self._due.pop(udn, None)
        if delay is None or udn not in self.schedule:
            return
        old = self._timers.pop(udn, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[udn] = loop.call_later(delay, self._fire, event)

    def _fire(self, event: DiscoveryEvent) -> None:
        self._timers.pop(event.udn, None)
        if event.udn in self.schedule:
            self._replay(event)

    def cancel(self, udn: str) -> None:
        timer = self._timers.pop(udn, None)
        if timer is not None:
            timer.cancel()
        self._due.pop(udn, None)

    def forget(self, udn: str) -> None:
        """The device left or was forgotten: no more reads, no recovery line."""
        self.cancel(udn)
        self.schedule.forget(udn)
        self._conditions.pop(udn, None)

    def close(self) -> None:
        for udn in list(self._conditions) + list(self._timers):
            self.forget(udn)
