"""Stable map between CWMP instance numbers and UPnP DM instances, per device, on disk.

CWMP instance numbers are 1-based and, once handed to the ACS, must keep naming the same row;
UPnP CMS instances are 0-based, may be sparse, and are whatever the device chose (TR-330
§4.6.1 note, reference upnp-dm.md §2.4). Nothing here computes one from the other: a UPnP
instance gets the next unused CWMP number of its table the first time the proxier sees it
(in ascending UPnP order, so 0, 2, 5 → 1, 2, 3), and numbers are never reused, even after the
row is deleted. The map survives restarts in the device's sqlite file (WAL, mode 0600): a
virtual device keeps it in its `DeviceStore`'s database, beside the CWMP engine's state, so
one connection serves both (an idle sqlite connection costs ~100 KiB on the gateway) and the
map's writes join the engine's transactions. A map from an older state directory
(`instances.sqlite`, one file of its own) is imported once and then removed.

A table is named by its UPnP MultiInstance path with the parents' UPnP instances filled in
(`/BBF/Hosts/Host/`, `/BBF/IP/Interface/0/IPv4Address/`): those never change for the life
of a row, and deleting a row drops the maps of the tables below it.

The proxier also keeps each instance's Alias (TR-330 §4.6.8: "retains a cached copy of all
Instance Aliases"): CPE-assigned `cpe-<n>` at allocation, unique per table, settable by the ACS.

The Notification level (1 passive, 2 active) the ACS asked for each parameter must survive
restarts too (CMS only stores a boolean EventOnChange). It is the engine's own `notification`
table (`DeviceStore.notification`): one record per parameter that both layers read, so they
cannot disagree, and a factory reset that clears the engine's levels clears these as well.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from proxier.dbfile import PrivateDatabase
from proxier.logsafe import get_logger

log = get_logger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instance (
    tbl TEXT NOT NULL,
    cwmp INTEGER NOT NULL,
    upnp INTEGER NOT NULL,
    alias TEXT NOT NULL,
    PRIMARY KEY (tbl, cwmp),
    UNIQUE (tbl, upnp)
);
CREATE TABLE IF NOT EXISTS instance_next (
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
    """The instance map of one proxied device, cached in memory, written through to sqlite.

    `where` is the device's shared database (a `PrivateDatabase`, normally
    `DeviceStore.database`) or a file path for a store of its own. `legacy` names an older
    state directory's `instances.sqlite`: if it exists its rows are imported (the device's
    own records win) and the file is removed.
    """

    def __init__(self, where: str | Path | PrivateDatabase, *, legacy: Path | None = None) -> None:
        self._owned = not isinstance(where, PrivateDatabase)
        self._database = where if isinstance(where, PrivateDatabase) else PrivateDatabase(where)
        self._tables: dict[str, _Table] = {}
        #: bumped whenever a mapping goes away or an alias changes (translation caches)
        self.generation = 0
        #: bumped whenever a row is mapped or forgotten: a GetInstances answer read across a
        #: change is stale (translate/backend.py `_expand` reads it again)
        self.rows_changed = 0
        with self._database.transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._database.connection.execute(statement)
        if legacy is not None and legacy.exists():
            self._import(legacy)
        self._load()
        self._database.on_rollback(self._reload)

    def _load(self) -> None:
        self._tables = {}
        for tbl, nxt in self._database.connection.execute("SELECT tbl, next FROM instance_next"):
            self._tables[tbl] = _Table(next=nxt)
        for tbl, cwmp, upnp, alias in self._database.connection.execute(
            "SELECT tbl, cwmp, upnp, alias FROM instance"
        ):
            t = self._tables.setdefault(tbl, _Table(next=cwmp + 1))
            t.by_upnp[upnp] = cwmp
            t.by_cwmp[cwmp] = upnp
            t.alias[cwmp] = alias
            t.next = max(t.next, cwmp + 1)

    def _reload(self) -> None:
        """A transaction this store's writes had joined was rolled back: back to the file."""
        self._load()
        self.generation += 1
        self.rows_changed += 1

    def _import(self, legacy: Path) -> None:
        """Move an older state directory's separate map file into this database.

        The old file is first folded into one file (its WAL checkpointed), then its rows are
        copied in one transaction, then it is removed; a kill in between imports it again,
        which changes nothing (rows already here win, the next numbers only grow).
        """
        try:
            old = sqlite3.connect(legacy, isolation_level=None)
            try:
                old.execute("PRAGMA journal_mode=DELETE")  # checkpoints and drops the WAL
                rows = old.execute("SELECT tbl, cwmp, upnp, alias FROM instance").fetchall()
                nexts = old.execute("SELECT tbl, next FROM next_number").fetchall()
                levels = old.execute("SELECT name, level FROM notification").fetchall()
            finally:
                old.close()
        except sqlite3.Error as exc:
            log.warning("instance map %s not imported (kept as it is): %s", legacy, exc)
            return
        with self._database.transaction():
            self._database.connection.executemany(
                "INSERT OR IGNORE INTO instance (tbl, cwmp, upnp, alias) VALUES (?, ?, ?, ?)",
                rows,
            )
            self._database.connection.executemany(
                "INSERT INTO instance_next (tbl, next) VALUES (?, ?) "
                "ON CONFLICT(tbl) DO UPDATE SET next = max(next, excluded.next)",
                nexts,
            )
            # The engine recorded every level the ACS set after this layer did: its record wins.
            self._database.connection.executemany(
                "INSERT OR IGNORE INTO notification (name, level) VALUES (?, ?)", levels
            )
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(f"{legacy}{suffix}")
            except FileNotFoundError:
                pass
        log.info("instance map %s imported into %s", legacy, self._database.path)

    def close(self) -> None:
        """Close the file if this store opened it (a shared database is its owner's)."""
        if self._owned:
            self._database.close()

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
            self.rows_changed += 1
            with self._database.transaction():
                for u in new:
                    cwmp = t.next
                    t.next += 1
                    alias = self._free_alias(t, f"cpe-{cwmp}")
                    self._database.connection.execute(
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
        self.rows_changed += 1
        cwmp = t.by_upnp.pop(upnp)
        del t.by_cwmp[cwmp]
        t.alias.pop(cwmp, None)
        below = f"{table}{upnp}/"
        with self._database.transaction():
            self._database.connection.execute(
                "DELETE FROM instance WHERE tbl = ? AND upnp = ?", (table, upnp)
            )
            self._save_next(table, t)
            for sub in [name for name in self._tables if name.startswith(below)]:
                del self._tables[sub]
                self._database.connection.execute("DELETE FROM instance WHERE tbl = ?", (sub,))
                self._database.connection.execute("DELETE FROM instance_next WHERE tbl = ?", (sub,))

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
        with self._database.transaction():
            self._database.connection.execute(
                "UPDATE instance SET alias = ? WHERE tbl = ? AND cwmp = ?", (alias, table, cwmp)
            )

    def notification(self, name: str) -> int | None:
        """The Notification level the ACS set on a CWMP parameter, if any (0: set off)."""
        row = self._database.connection.execute(
            "SELECT level FROM notification WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else int(row[0])

    def set_notifications(self, levels: dict[str, int]) -> None:
        """Record the Notification levels the ACS set (0 included: it overrides a default)."""
        with self._database.transaction():
            self._database.connection.executemany(
                "INSERT INTO notification (name, level) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET level = excluded.level",
                list(levels.items()),
            )

    def forget_notifications(self, prefix: str) -> None:
        """Drop the levels of a deleted object instance's parameters."""
        with self._database.transaction():
            self._database.connection.execute(
                "DELETE FROM notification WHERE substr(name, 1, ?) = ?", (len(prefix), prefix)
            )

    def _free_alias(self, t: _Table, wanted: str) -> str:
        alias, n = wanted, 0
        taken = set(t.alias.values())
        while alias in taken:
            n += 1
            alias = f"{wanted}-{n}"
        return alias

    def _save_next(self, table: str, t: _Table) -> None:
        self._database.connection.execute(
            "INSERT INTO instance_next (tbl, next) VALUES (?, ?) "
            "ON CONFLICT(tbl) DO UPDATE SET next = excluded.next",
            (table, t.next),
        )
