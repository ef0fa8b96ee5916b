""" "4 VALUE CHANGE" from CMS ConfigurationUpdate (TR-330 Table 1 row 4, §4.6.5.2.1).

A ConfigurationUpdate event only says that *some* parameter with EventOnChange changed. The
proxier therefore keeps the value it last saw of every parameter whose Notification is on,
re-reads them all on the event, and reports only those whose value really differs, leaving
out parameters the ACS itself set a moment ago (their change is the ACS's own doing, TR-069
§3.2.1). Whether a change goes out now (active) or with the next Inform (passive) is the
CWMP engine's business.

The bookkeeping is sans-IO: the reader of current values is passed in, time is `now`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from proxier.cwmp.backend import ValueChange

#: Seconds during which a parameter the ACS set is not reported as changed.
RECENT_SET_WINDOW = 10.0

ValueReader = Callable[[Sequence[str]], Awaitable[Mapping[str, str]]]


@dataclass(slots=True)
class _Watched:
    name: str  # CWMP name
    type: str  # xsi:type
    value: str | None  # last value seen; None = not read yet


class ValueChangeTracker:
    """Which parameters are notified, their cached values, and the ACS's recent sets."""

    def __init__(self, window: float = RECENT_SET_WINDOW) -> None:
        self.window = window
        self._watched: dict[str, _Watched] = {}  # UPnP path → entry
        self._recent: dict[str, tuple[float, str]] = {}  # UPnP path → (when, value) the ACS set

    @property
    def paths(self) -> list[str]:
        return list(self._watched)

    def watch(self, upnp: str, name: str, type: str, value: str | None = None) -> None:
        entry = self._watched.get(upnp)
        if entry is None:
            self._watched[upnp] = _Watched(name, type, value)
        else:
            entry.name, entry.type = name, type
            if value is not None:
                entry.value = value

    def unwatch(self, upnp: str) -> None:
        self._watched.pop(upnp, None)

    def is_watched(self, upnp: str) -> bool:
        return upnp in self._watched

    def forget_below(self, prefix: str) -> None:
        """Drop parameters of a deleted instance."""
        for path in [p for p in self._watched if p.startswith(prefix)]:
            del self._watched[path]

    def acs_set(self, values: Mapping[str, str], now: float) -> None:
        """The ACS set these (UPnP path → value): remember the value and the moment."""
        for path, value in values.items():
            self._recent[path] = (now, value)
            entry = self._watched.get(path)
            if entry is not None:
                entry.value = value

    def compare(self, current: Mapping[str, str], now: float) -> list[ValueChange]:
        """Changes between the cache and `current`; updates the cache."""
        for path in [p for p, (t, _) in self._recent.items() if now - t > self.window]:
            del self._recent[path]
        changes = []
        for path, value in current.items():
            entry = self._watched.get(path)
            if entry is None:
                continue
            before, entry.value = entry.value, value
            if before is None or before == value:
                continue
            recent = self._recent.get(path)
            if recent is not None and recent[1] == value:
                continue  # the ACS's own value coming back: never a notification (A.3.2.4)
            changes.append(ValueChange(entry.name, value, entry.type))
        return changes

    async def on_configuration_update(self, read: ValueReader, now: float) -> list[ValueChange]:
        """Re-read every notified parameter and return the real changes."""
        if not self._watched:
            return []
        return self.compare(await read(list(self._watched)), now)

    def baseline(self, values: Iterable[tuple[str, str]], now: float) -> list[ValueChange]:
        """Values read when the device's events (re)start. A parameter not known yet is
        seeded; one whose value we knew and that differs changed while no event could tell
        us (before the subscription's initial event) and is reported."""
        pairs = list(values)
        known = {
            path: value
            for path, value in pairs
            if (entry := self._watched.get(path)) is not None and entry.value is not None
        }
        self.seed((path, value) for path, value in pairs if path not in known)
        return self.compare(known, now)

    def seed(self, values: Iterable[tuple[str, str]]) -> None:
        """Set cached values without reporting (after Notification is switched on)."""
        for path, value in values:
            entry = self._watched.get(path)
            if entry is not None:
                entry.value = value
