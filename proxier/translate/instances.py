"""Stable map between CWMP instance numbers and UPnP DM instances, per device, on disk.

CWMP instance numbers are 1-based and, once handed to the ACS, must keep naming the same row;
UPnP CMS instances are 0-based, may be sparse, and are whatever the device chose (TR-330
§4.6.1 note, reference upnp-dm.md §2.4). Nothing here computes one from the other: a UPnP
instance gets the next unused CWMP number of its table the first time the proxier sees it
(in ascending UPnP order, so 0, 2, 5 → 1, 2, 3), and numbers are never reused, even after the
row is deleted. The map survives restarts in a small sqlite file (WAL, mode 0600).

A table is named by its UPnP MultiInstance path with the parents' UPnP instances filled in
(`/BBF/Hosts/Host/`, `/BBF/IP/Interface/0/IPv4Address/`): those never change for the life
of a row, and deleting a row drops the maps of the tables below it.

The proxier also keeps each instance's Alias (TR-330 §4.6.8: "retains a cached copy of all
Instance Aliases"): CPE-assigned `cpe-<n>` at allocation, unique per table, settable by the ACS.

The same file keeps the Notification level (1 passive, 2 active) the ACS asked for each
parameter: CMS only stores a boolean EventOnChange, so the level must survive restarts here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from proxier.dbfile import open_private_db

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instance (
    tbl TEXT NOT NULL,
    cwmp INTEGER NOT NULL,
    upnp INTEGER NOT NULL,
    alias TEXT NOT NULL,
    PRIMARY KEY (tbl, cwmp),
    UNIQUE (tbl, upnp)
);
CREATE TABLE IF NOT EXISTS next_number (
    tbl TEXT PRIMARY KEY,
    next INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS notification (
    name TEXT PRIMARY KEY,
    level INTEGER NOT NULL
);
"""

#: TR-069 / TR-106 `_AliasCWMP`: starts with a letter, at most 64 characters.
_ALIAS = re.compile(r"[A-Za-z][^.\[\]]{0,63}")


class AliasError(ValueError):
    """An Alias value the ACS may not set (bad syntax or already used in the table)."""


@dataclass(slots=True)
class _Table:
    next: int = 1
    by_upnp: dict[int, int] = field(default_factory=dict)
    by_cwmp: dict[int, int] = field(default_factory=dict)
    alias: dict[int, str] = field(default_factory=dict)  # cwmp → alias


class InstanceStore:
    """The instance map of one proxied device, cached in memory, written through to sqlite."""

    def __init__(self, path: str | Path) -> None:
        self._db = open_private_db(Path(path))
        self._db.executescript(_SCHEMA)
        self._tables: dict[str, _Table] = {}
        #: bumped whenever a mapping goes away or an alias changes (translation caches)
        self.generation = 0
        for tbl, nxt in self._db.execute("SELECT tbl, next FROM next_number"):
            self._tables[tbl] = _Table(next=nxt)
        for tbl, cwmp, upnp, alias in self._db.execute(
            "SELECT tbl, cwmp, upnp, alias FROM instance"
        ):
            t = self._tables.setdefault(tbl, _Table(next=cwmp + 1))
            t.by_upnp[upnp] = cwmp
            t.by_cwmp[cwmp] = upnp
            t.alias[cwmp] = alias
            t.next = max(t.next, cwmp + 1)
        self._notification: dict[str, int] = dict(
            self._db.execute("SELECT name, level FROM notification").fetchall()
        )

    def close(self) -> None:
        self._db.close()

    # --- lookups (no I/O) -------------------------------------------------------------------

    def cwmp_for(self, table: str, upnp: int) -> int | None:
        t = self._tables.get(table)
        return None if t is None else t.by_upnp.get(upnp)

    def upnp_for(self, table: str, cwmp: int) -> int | None:
        t = self._tables.get(table)
        return None if t is None else t.by_cwmp.get(cwmp)

    def instances(self, table: str) -> list[tuple[int, int]]:
        """(CWMP number, UPnP instance) pairs of a table, by CWMP number."""
        t = self._tables.get(table)
        return [] if t is None else sorted(t.by_cwmp.items())

    def alias(self, table: str, cwmp: int) -> str | None:
        t = self._tables.get(table)
        return None if t is None else t.alias.get(cwmp)

    def by_alias(self, table: str, alias: str) -> int | None:
        t = self._tables.get(table)
        if t is None:
            return None
        for cwmp, value in t.alias.items():
            if value == alias:
                return cwmp
        return None

    # --- updates ----------------------------------------------------------------------------

    def allocate(self, table: str, upnp_instances: Iterable[int]) -> dict[int, int]:
        """Give every UPnP instance not yet mapped the next CWMP numbers, in ascending order.

        Returns the full UPnP → CWMP map of the instances asked about.
        """
        t = self._tables.setdefault(table, _Table())
        wanted = sorted(set(upnp_instances))
        new = [u for u in wanted if u not in t.by_upnp]
        if new:
            first = t.next
            with self._db:
                self._db.execute("BEGIN")
                for u in new:
                    cwmp = t.next
                    t.next += 1
                    alias = self._free_alias(t, f"cpe-{cwmp}")
                    self._db.execute(
                        "INSERT INTO instance (tbl, cwmp, upnp, alias) VALUES (?, ?, ?, ?)",
                        (table, cwmp, u, alias),
                    )
                    t.by_upnp[u] = cwmp
                    t.by_cwmp[cwmp] = u
                    t.alias[cwmp] = alias
                self._save_next(table, t)
            assert t.next == first + len(new)
        return {u: t.by_upnp[u] for u in wanted}

    def sync(self, table: str, present: Iterable[int]) -> None:
        """Make the table match the device's current instance list (from CMS::GetInstances)."""
        present_set = set(present)
        t = self._tables.get(table)
        if t is not None:
            for u in [u for u in t.by_upnp if u not in present_set]:
                self.remove(table, u)
        self.allocate(table, present_set)

    def remove(self, table: str, upnp: int) -> None:
        """Forget a deleted row and every table below it; its CWMP number stays used."""
        t = self._tables.get(table)
        if t is None or upnp not in t.by_upnp:
            return
        self.generation += 1
        cwmp = t.by_upnp.pop(upnp)
        del t.by_cwmp[cwmp]
        t.alias.pop(cwmp, None)
        below = f"{table}{upnp}/"
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM instance WHERE tbl = ? AND upnp = ?", (table, upnp))
            self._save_next(table, t)
            for sub in [name for name in self._tables if name.startswith(below)]:
                del self._tables[sub]
                self._db.execute("DELETE FROM instance WHERE tbl = ?", (sub,))
                self._db.execute("DELETE FROM next_number WHERE tbl = ?", (sub,))

    def set_alias(self, table: str, cwmp: int, alias: str) -> None:
        """Set an instance's Alias as the ACS asked (TR-069 §3.6.1 rules on the value)."""
        t = self._tables.get(table)
        if t is None or cwmp not in t.by_cwmp:
            raise KeyError(f"{table}{cwmp}")
        if not _ALIAS.fullmatch(alias):
            raise AliasError(f"invalid Alias {alias!r}")
        other = self.by_alias(table, alias)
        if other is not None and other != cwmp:
            raise AliasError(f"Alias {alias!r} already names instance {other}")
        t.alias[cwmp] = alias
        self.generation += 1
        with self._db:
            self._db.execute(
                "UPDATE instance SET alias = ? WHERE tbl = ? AND cwmp = ?", (alias, table, cwmp)
            )

    def notification(self, name: str) -> int | None:
        """The Notification level the ACS set on a CWMP parameter, if any."""
        return self._notification.get(name)

    def set_notifications(self, levels: dict[str, int]) -> None:
        """Record Notification levels (0 forgets the parameter)."""
        with self._db:
            self._db.execute("BEGIN")
            for name, level in levels.items():
                if level:
                    self._notification[name] = level
                    self._db.execute(
                        "INSERT INTO notification (name, level) VALUES (?, ?) "
                        "ON CONFLICT(name) DO UPDATE SET level = excluded.level",
                        (name, level),
                    )
                else:
                    self._notification.pop(name, None)
                    self._db.execute("DELETE FROM notification WHERE name = ?", (name,))

    def forget_notifications(self, prefix: str) -> None:
        """Drop the levels of a deleted object instance's parameters."""
        gone = [n for n in self._notification if n.startswith(prefix)]
        if gone:
            self.set_notifications(dict.fromkeys(gone, 0))

    def _free_alias(self, t: _Table, wanted: str) -> str:
        alias, n = wanted, 0
        taken = set(t.alias.values())
        while alias in taken:
            n += 1
            alias = f"{wanted}-{n}"
        return alias

    def _save_next(self, table: str, t: _Table) -> None:
        self._db.execute(
            "INSERT INTO next_number (tbl, next) VALUES (?, ?) "
            "ON CONFLICT(tbl) DO UPDATE SET next = excluded.next",
            (table, t.next),
        )
