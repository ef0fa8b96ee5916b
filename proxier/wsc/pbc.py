"""Push-button configuration rules as pure state machines (dp-wps.md §6); the clock
(monotonic seconds) is always passed in.

- `PushButton` is the device's button: a press counts for the walk time and is consumed
  by the run that uses it.
- `PbcSessions` is the Registrar's overlap detector: two distinct PBC Enrollees (UUID-E)
  seen within the walk time means the user cannot tell which device was pressed, so the
  run fails with Configuration Error 12 (multiple PBC sessions).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from proxier.wsc.registration import MULTIPLE_PBC_SESSIONS, NO_ERROR

#: WSC walk time: how long a button press (or a wait for one) stays valid.
WALK_TIME = 120.0


@dataclass
class PushButton:
    """A device's WPS button: pressed at some time, valid for the walk time."""

    walk_time: float = WALK_TIME
    pressed_at: float | None = None

    def press(self, now: float) -> None:
        self.pressed_at = now

    def active(self, now: float) -> bool:
        return self.pressed_at is not None and 0 <= now - self.pressed_at < self.walk_time

    def expires_at(self) -> float | None:
        return None if self.pressed_at is None else self.pressed_at + self.walk_time

    def consume(self) -> None:
        """A run used the press (M2 accepted); the next run needs a new one."""
        self.pressed_at = None


@dataclass
class PbcSessions:
    """The PBC Enrollees a Registrar saw in the last walk time, for overlap detection."""

    walk_time: float = WALK_TIME
    _seen: dict[bytes, float] = field(default_factory=dict)

    def _expire(self, now: float) -> None:
        for uuid, at in list(self._seen.items()):
            if now - at >= self.walk_time or now < at:
                del self._seen[uuid]

    def seen(self, uuid_e: bytes, now: float) -> int:
        """Record a PBC Enrollee; the Configuration Error to use: 12 on overlap, else 0."""
        self._expire(now)
        self._seen[uuid_e] = now
        return MULTIPLE_PBC_SESSIONS if len(self._seen) > 1 else NO_ERROR

    def overlap(self, now: float) -> bool:
        self._expire(now)
        return len(self._seen) > 1

    def completed(self, uuid_e: bytes) -> None:
        """A run with this Enrollee succeeded: its session no longer counts."""
        self._seen.pop(uuid_e, None)


@dataclass(frozen=True)
class Wait:
    """A control point waiting for the user to press a device's button (SetupReady=1)."""

    started: float
    walk_time: float = WALK_TIME

    @property
    def deadline(self) -> float:
        return self.started + self.walk_time

    def expired(self, now: float) -> bool:
        return now >= self.deadline

    def remaining(self, now: float) -> float:
        return max(0.0, self.deadline - now)
