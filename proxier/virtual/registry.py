"""The table of Virtual CWMP Devices (TR-069 Annex J.2) a proxier has created.

Each row is one proxied UPnP DM device, keyed as TR-181 keys
`Device.ManagementServer.VirtualDevice.{i}` (ManufacturerOUI, ProductClass, SerialNumber).
Rows are persisted so a restart restores every virtual device with the same instance number,
Connection Request path and credentials, and without a spurious "0 BOOTSTRAP".

Rows stay while a device is offline (reference cwmp-proxy.md §1.3: the spec does not say; the
TR-181 Host references speak of "active or inactive" entries, and dropping the row would lose
the device's event queue and instance map, so an offline device keeps its row and is marked
offline).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path

from proxier.cwmp.rpc import ParameterValueStruct
from proxier.dbfile import immediate, open_private_db, private_dir

VIRTUAL_DEVICE_TABLE = "Device.ManagementServer.VirtualDevice."


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """The unique key of a virtual device (TR-181 VirtualDevice.{i} unique key)."""

    oui: str
    product_class: str
    serial_number: str

    @property
    def id(self) -> str:
        """Stable identifier, GenieACS style: OUI-ProductClass-SerialNumber."""
        return f"{self.oui}-{self.product_class}-{self.serial_number}"


@dataclass(frozen=True, slots=True)
class VirtualDeviceRecord:
    instance: int
    key: DeviceKey
    manufacturer: str
    udns: tuple[str, ...]
    location: str
    online: bool
    cr_token: str
    cr_username: str
    cr_password: str = field(repr=False)
    state_dir: str

    def parameters(self, prefix: str) -> list[ParameterValueStruct]:
        """The row as TR-181 parameters under `prefix` (…VirtualDevice.{i}.)."""
        return [
            ParameterValueStruct(prefix + "ManufacturerOUI", self.key.oui),
            ParameterValueStruct(prefix + "ProductClass", self.key.product_class),
            ParameterValueStruct(prefix + "SerialNumber", self.key.serial_number),
            ParameterValueStruct(prefix + "Host", ""),
            ParameterValueStruct(prefix + "ProxyProtocol", "UPnP-DM"),
            ParameterValueStruct(prefix + "ProxyProtocolReference", ""),
            ParameterValueStruct(prefix + "DiscoveryProtocol", "UPnP"),
            ParameterValueStruct(prefix + "DiscoveryProtocolReference", ""),
        ]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS virtual_device (
    instance INTEGER PRIMARY KEY,
    oui TEXT NOT NULL,
    product_class TEXT NOT NULL,
    serial_number TEXT NOT NULL,
    manufacturer TEXT NOT NULL,
    udns TEXT NOT NULL,
    location TEXT NOT NULL,
    online INTEGER NOT NULL,
    cr_token TEXT NOT NULL UNIQUE,
    cr_username TEXT NOT NULL,
    cr_password TEXT NOT NULL,
    UNIQUE (oui, product_class, serial_number)
);
CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS offline_since (instance INTEGER PRIMARY KEY, since REAL NOT NULL);
"""


class Registry:
    """Persistent VirtualDevice table; instance numbers are allocated once, never reused."""

    def __init__(self, state_dir: str | Path) -> None:
        self.state_dir = private_dir(Path(state_dir))
        private_dir(self.state_dir / "devices")
        self._db = open_private_db(self.state_dir / "registry.sqlite", synchronous="FULL")
        self._db.executescript(_SCHEMA)
        self._rows: dict[int, VirtualDeviceRecord] = {}
        #: instance by identity: `get` runs on every discovery event, a scan was quadratic
        #: over a 2,000-device bootstrap (issue 13)
        self._by_key: dict[DeviceKey, int] = {}
        for row in self._db.execute("SELECT * FROM virtual_device ORDER BY instance"):
            rec = self._from_row(row)
            self._rows[rec.instance] = rec
            self._by_key[rec.key] = rec.instance

    def close(self) -> None:
        self._db.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db)

    def _from_row(self, row: tuple[object, ...]) -> VirtualDeviceRecord:
        (inst, oui, pc, sn, manu, udns, loc, online, path, user, pw) = row
        return VirtualDeviceRecord(
            instance=int(str(inst)),
            key=DeviceKey(str(oui), str(pc), str(sn)),
            manufacturer=str(manu),
            udns=tuple(json.loads(str(udns))),
            location=str(loc),
            online=bool(online),
            cr_token=str(path),
            cr_username=str(user),
            cr_password=str(pw),
            state_dir=str(self.device_dir(int(str(inst)))),
        )

    def device_dir(self, instance: int) -> Path:
        return self.state_dir / "devices" / str(instance)

    def __iter__(self) -> Iterator[VirtualDeviceRecord]:
        return iter(sorted(self._rows.values(), key=lambda r: r.instance))

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: DeviceKey) -> VirtualDeviceRecord | None:
        instance = self._by_key.get(key)
        return None if instance is None else self._rows.get(instance)

    def by_udn(self, udn: str) -> VirtualDeviceRecord | None:
        for rec in self._rows.values():
            if udn in rec.udns:
                return rec
        return None

    def add(
        self, key: DeviceKey, manufacturer: str, udns: tuple[str, ...], location: str
    ) -> tuple[VirtualDeviceRecord, bool]:
        """Return the row for `key`, creating it if new; the bool is True when created."""
        existing = self.get(key)
        if existing is not None:
            merged = tuple(dict.fromkeys(existing.udns + udns))
            return self.update(existing, udns=merged, location=location, online=True), False
        with self._tx() as db:
            cur = db.execute("SELECT value FROM counter WHERE name='instance'").fetchone()
            instance = (int(cur[0]) if cur else 0) + 1
            db.execute(
                "INSERT OR REPLACE INTO counter(name, value) VALUES ('instance', ?)", (instance,)
            )
            rec = VirtualDeviceRecord(
                instance=instance,
                key=key,
                manufacturer=manufacturer,
                udns=udns,
                location=location,
                online=True,
                cr_token=secrets.token_urlsafe(18),
                cr_username="cr-" + secrets.token_hex(4),
                cr_password=secrets.token_urlsafe(18),
                state_dir=str(self.device_dir(instance)),
            )
            db.execute(
                "INSERT INTO virtual_device VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    instance,
                    key.oui,
                    key.product_class,
                    key.serial_number,
                    manufacturer,
                    json.dumps(list(udns)),
                    location,
                    1,
                    rec.cr_token,
                    rec.cr_username,
                    rec.cr_password,
                ),
            )
        private_dir(self.device_dir(instance))
        self._rows[instance] = rec
        self._by_key[key] = instance
        return rec, True

    def update(
        self,
        rec: VirtualDeviceRecord,
        *,
        udns: tuple[str, ...] | None = None,
        location: str | None = None,
        online: bool | None = None,
    ) -> VirtualDeviceRecord:
        new = replace(
            rec,
            udns=rec.udns if udns is None else udns,
            location=rec.location if location is None else location,
            online=rec.online if online is None else online,
        )
        with self._tx() as db:
            db.execute(
                "UPDATE virtual_device SET udns=?, location=?, online=? WHERE instance=?",
                (json.dumps(list(new.udns)), new.location, int(new.online), new.instance),
            )
            if new.online:
                db.execute("DELETE FROM offline_since WHERE instance=?", (new.instance,))
            else:  # since when (wall clock, kept across restarts): the pruning rule's age
                db.execute(
                    "INSERT OR IGNORE INTO offline_since VALUES (?, ?)", (new.instance, time.time())
                )
        self._rows[new.instance] = new
        return new

    def offline_since(self, instance: int) -> float | None:
        """Wall-clock time the device went offline, None while online."""
        row = self._db.execute(
            "SELECT since FROM offline_since WHERE instance=?", (instance,)
        ).fetchone()
        return None if row is None else float(row[0])

    def remove(self, rec: VirtualDeviceRecord) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM virtual_device WHERE instance=?", (rec.instance,))
            db.execute("DELETE FROM offline_since WHERE instance=?", (rec.instance,))
        self._rows.pop(rec.instance, None)
        if self._by_key.get(rec.key) == rec.instance:
            del self._by_key[rec.key]

    def parameters(self) -> list[ParameterValueStruct]:
        """`Device.ManagementServer.VirtualDevice.{i}.*` and the entry count (TR-330 §4.3.1)."""
        out = [
            ParameterValueStruct(
                "Device.ManagementServer.VirtualDeviceNumberOfEntries",
                str(len(self._rows)),
                "xsd:unsignedInt",
            )
        ]
        for rec in self:
            out.extend(rec.parameters(f"{VIRTUAL_DEVICE_TABLE}{rec.instance}."))
        return out
