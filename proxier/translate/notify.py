""" "4 VALUE CHANGE" from CMS ConfigurationUpdate (TR-330 Table 1 row 4, §4.6.5.2.1).

A ConfigurationUpdate event only says that *some* parameter with EventOnChange changed. The
proxier therefore keeps the value it last saw of every parameter whose Notification is on,
re-reads them all on the event, and reports only those whose value really differs, leaving
out parameters the ACS itself set a moment ago (their change is the ACS's own doing, TR-069
§3.2.1). Whether a change goes out now (active) or with the next Inform (passive) is the
CWMP engine's business.

The values last seen are also the baseline after a restart of the proxier: a change made
while it was down must still be reported (a restart is not a reboot of the virtual device,
TR-069 Table 7 keeps "4 VALUE CHANGE" until delivered). With a `BaselineStore` (the device's
`DeviceStore`) every new baseline is written in ONE transaction with the engine's record of
the change it reports (the `report` callback runs inside it), so a kill -9 between the two
can neither lose the change nor report it twice.

The bookkeeping is sans-IO: the reader of current values is passed in, time is `now`, and
the store is any object with the `BaselineStore` methods (an in-memory one when omitted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol

from proxier.cwmp.backend import ValueChange

#: The level of a parameter whose EventOnChange is on but no ACS set (TR-069 A.3.2.4).
PASSIVE = 1
#: Seconds during which a parameter the ACS set is not reported as changed.
RECENT_SET_WINDOW = 10.0

ValueReader = Callable[[Sequence[str]], Awaitable[Mapping[str, str]]]
#: Receives the real changes, inside the transaction that stores the new baseline.
Reporter = Callable[[list[ValueChange]], None]


class BaselineStore(Protocol):
    """Where the last seen values live between restarts (`proxier.cwmp.store.DeviceStore`)."""

    def transaction(self) -> AbstractContextManager[None]: ...

    def notified_values(self) -> dict[str, str]: ...

    def set_notified_values(self, values: Mapping[str, str]) -> None: ...

    def forget_notified_values(self, paths: Iterable[str]) -> None: ...

    def clear_notified_values(self) -> None: ...


class MemoryBaseline:
    """A `BaselineStore` that lives as long as the tracker (no restart to survive)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    @contextmanager
    def transaction(self) -> Iterator[None]:
        yield

    def notified_values(self) -> dict[str, str]:
        return dict(self.values)

    def set_notified_values(self, values: Mapping[str, str]) -> None:
        self.values.update(values)

    def forget_notified_values(self, paths: Iterable[str]) -> None:
        for path in paths:
            self.values.pop(path, None)

    def clear_notified_values(self) -> None:
        self.values.clear()


@dataclass(slots=True)
class _Watched:
    name: str  # CWMP name
    type: str  # xsi:type
    value: str | None  # last value seen; None = not read yet


class ValueChangeTracker:
    """Which parameters are notified, their last seen values, and the ACS's recent sets."""

    def __init__(
        self, window: float = RECENT_SET_WINDOW, store: BaselineStore | None = None
    ) -> None:
        self.window = window
        self._watched: dict[str, _Watched] = {}  # UPnP path → entry
        self._recent: dict[str, tuple[float, str]] = {}  # UPnP path → (when, value) the ACS set
        self._store: BaselineStore = MemoryBaseline()
        self._saved: dict[str, str] = {}  # baseline left by an earlier run, not watched yet
        if store is not None:
            self.use_store(store)

    def use_store(self, store: BaselineStore) -> None:
        """Keep the baseline in `store` from now on, starting from what it already holds."""
        self._store = store
        self._saved = store.notified_values()
        known = {p: e.value for p, e in self._watched.items() if e.value is not None}
        for path, entry in self._watched.items():
            if entry.value is None:
                entry.value = self._saved.get(path)
        store.set_notified_values(known)

    @property
    def paths(self) -> list[str]:
        return list(self._watched)

    def watch(self, upnp: str, name: str, type: str, value: str | None = None) -> None:
        """Track `upnp`; without `value`, its baseline is the one an earlier run stored."""
        entry = self._watched.get(upnp)
        if entry is None:
            entry = self._watched[upnp] = _Watched(name, type, self._saved.get(upnp))
        else:
            entry.name, entry.type = name, type
        if value is not None:
            self._store.set_notified_values({upnp: value})
            entry.value = value

    def unwatch(self, upnp: str) -> None:
        self._watched.pop(upnp, None)
        self._saved.pop(upnp, None)
        self._store.forget_notified_values([upnp])

    def is_watched(self, upnp: str) -> bool:
        return upnp in self._watched

    def forget_below(self, prefix: str) -> None:
        """Drop parameters of a deleted instance."""
        gone = [p for p in {*self._watched, *self._saved} if p.startswith(prefix)]
        for path in gone:
            self._watched.pop(path, None)
            self._saved.pop(path, None)
        self._store.forget_notified_values(gone)

    def forget_unwatched(self) -> None:
        """Drop stored baselines of parameters no longer notified (after discovery)."""
        stale = [p for p in self._store.notified_values() if p not in self._watched]
        self._saved.clear()
        if stale:
            self._store.forget_notified_values(stale)

    def rebaseline(self) -> None:
        """The device rebooted or was reset: what changed meanwhile is not reported
        (TR-069 Table 7 discards "4 VALUE CHANGE" on reboot, A.3.3.1); later changes are
        compared against the values read from now on."""
        self._saved.clear()
        known = {p: e.value for p, e in self._watched.items() if e.value is not None}
        with self._store.transaction():
            self._store.clear_notified_values()
            self._store.set_notified_values(known)

    def acs_set(self, values: Mapping[str, str], now: float) -> None:
        """The ACS set these (UPnP path → value): remember the value and the moment."""
        for path, value in values.items():
            self._recent[path] = (now, value)
        watched = {p: v for p, v in values.items() if p in self._watched}
        self._store.set_notified_values(watched)
        for path, value in watched.items():
            self._watched[path].value = value

    def compare(
        self, current: Mapping[str, str], now: float, report: Reporter | None = None
    ) -> list[ValueChange]:
        """Changes between the baseline and `current`; `current` becomes the baseline.

        `report(changes)` (if any changes) runs inside the transaction that stores the new
        baseline, so both are kept or neither is.
        """
        for path in [p for p, (t, _) in self._recent.items() if now - t > self.window]:
            del self._recent[path]
        changes = []
        updates: dict[str, str] = {}
        for path, value in current.items():
            entry = self._watched.get(path)
            if entry is None or entry.value == value:
                continue
            updates[path] = value
            if entry.value is None:
                continue  # first reading: a baseline, not a change
            recent = self._recent.get(path)
            if recent is not None and recent[1] == value:
                continue  # the ACS's own value coming back: never a notification (A.3.2.4)
            # Watched = EventOnChange on: at least passive, as GetParameterAttributes says
            # (TR-069 A.3.2.4); a level the ACS set takes precedence in the engine.
            changes.append(ValueChange(entry.name, value, entry.type, notification=PASSIVE))
        if updates:
            with self._store.transaction():
                self._store.set_notified_values(updates)
                if changes and report is not None:
                    report(changes)
            for path, value in updates.items():
                self._watched[path].value = value
        return changes

    async def on_configuration_update(
        self, read: ValueReader, now: float, report: Reporter | None = None
    ) -> list[ValueChange]:
        """Re-read every notified parameter and return (and report) the real changes."""
        if not self._watched:
            return []
        return self.compare(await read(list(self._watched)), now, report)

    def seed(self, values: Iterable[tuple[str, str]]) -> None:
        """Set the baseline without reporting (after Notification is switched on)."""
        known = {p: v for p, v in values if p in self._watched}
        self._store.set_notified_values(known)
        for path, value in known.items():
            self._watched[path].value = value
