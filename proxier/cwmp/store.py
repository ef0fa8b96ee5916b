"""Per-device persistent CWMP state in one sqlite file (WAL, atomic transactions).

What must survive a crash or a kill -9 for TR-069 to hold: undelivered events with their
CommandKeys (§3.7.1.5), the session retry count (§3.2.1.1), ParameterKey, notification
attributes and values pending notification (A.3.2.4), queued/finished transfers for
GetQueuedTransfers and TransferComplete (A.3.2.8), AutonomousTransferCompletes not yet
confirmed (A.3.3.3), scheduled informs (A.4.1.2), reboots
asked for, the ACS URL a BOOTSTRAP was raised for, the last value seen of every parameter
with Notification on (the baseline a change is detected against, so a change made while
the proxier was down is still reported), settings the ACS wrote into
ManagementServer and a small key/value table other layers may use. The translation layer's
instance map (`proxier.translate.instances`) lives in the same file, through the same
connection (`database`): one sqlite connection per device, and its writes join ours.

Every method is one transaction; `with store.transaction():` groups several into one.
WAL with synchronous=NORMAL keeps every committed transaction across a process kill (only
a power cut may lose the newest ones). The file is 0600 in a 0700 directory: it holds
credentials.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from proxier.cwmp.events import EventChange, PendingEvent
from proxier.cwmp.rpc import (
    UNKNOWN_TIME,
    AutonomousTransferComplete,
    FaultStruct,
    ParameterValueStruct,
)
from proxier.dbfile import PrivateDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL,
    command_key TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notification (name TEXT PRIMARY KEY, level INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS changed_values (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    value TEXT NOT NULL,
    type TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notified_values (
    path TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS transfers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command_key TEXT NOT NULL,
    is_download INTEGER NOT NULL,
    file_type TEXT NOT NULL,
    url TEXT NOT NULL,
    username TEXT NOT NULL,
    password TEXT NOT NULL,
    file_size INTEGER NOT NULL,
    target_file_name TEXT NOT NULL,
    due REAL NOT NULL,
    state INTEGER NOT NULL,
    fault_code INTEGER NOT NULL DEFAULT 0,
    fault_string TEXT NOT NULL DEFAULT '',
    start_time TEXT NOT NULL DEFAULT '',
    complete_time TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS autonomous_transfers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    announce_url TEXT NOT NULL,
    transfer_url TEXT NOT NULL,
    is_download INTEGER NOT NULL,
    file_type TEXT NOT NULL,
    file_size INTEGER NOT NULL,
    target_file_name TEXT NOT NULL,
    fault_code INTEGER NOT NULL,
    fault_string TEXT NOT NULL,
    start_time TEXT NOT NULL,
    complete_time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scheduled_informs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    due REAL NOT NULL,
    command_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reboots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command_key TEXT NOT NULL
);
"""

#: Transfer states of QueuedTransferStruct (TR-069 Table 45).
NOT_STARTED, IN_PROGRESS, COMPLETED = 1, 2, 3


def to_iso(t: datetime) -> str:
    """A dateTime as stored: ISO 8601, "" for the Unknown Time."""
    return "" if t == UNKNOWN_TIME else t.isoformat()


def from_iso(s: str) -> datetime:
    return datetime.fromisoformat(s) if s else UNKNOWN_TIME


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """A Download/Upload the ACS asked for, until its TransferComplete is confirmed."""

    id: int
    command_key: str
    is_download: bool
    file_type: str
    url: str
    username: str
    password: str = field(repr=False)
    file_size: int
    target_file_name: str
    due: float
    state: int
    fault_code: int = 0
    fault_string: str = ""
    start_time: str = ""  # ISO 8601, "" = Unknown Time
    complete_time: str = ""


@dataclass(frozen=True, slots=True)
class ScheduledInform:
    id: int
    due: float
    command_key: str


#: Bits of `DeviceStore._empty`: tables known to hold no row.
_NO_TRANSFERS = 1
_NO_SCHEDULED = 2


class DeviceStore:
    """One virtual device's CWMP state file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        #: The device's one connection; other layers keep their tables in it too
        #: (`proxier.translate.instances.InstanceStore`) and join `transaction()`.
        self.database = PrivateDatabase(self.path)
        with self.transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.database.connection.execute(statement)
        self._meta: dict[str, str] = {}
        #: Told (code, CommandKey) of every event added: the operator's timeline (status, API).
        #: (Set here, not in `_load_meta`: a rollback must not drop the listener.)
        self.on_event: Callable[[str, str], None] | None = None
        self._load_meta()
        self.database.on_rollback(self._load_meta)

    def _load_meta(self) -> None:
        """The engine's scalars are read on every session: keep a write-through copy.

        Also forgets which tables are known to be empty (`_empty`): the engine looks for
        transfers and scheduled informs on every timer check and session, and they are
        nearly always empty; a storm of changes should not pay a query for each (issue 13).
        An insert clears its bit; a rollback (this reload) forgets them all."""
        self._empty = 0
        self._meta = dict(
            self.database.connection.execute("SELECT key, value FROM meta").fetchall()
        )

    def close(self) -> None:
        self.database.close()

    def transaction(self) -> AbstractContextManager[None]:
        """All writes inside commit together or not at all (nesting joins the outer one)."""
        return self.database.transaction()

    def integrity_ok(self) -> bool:
        row = self.database.connection.execute("PRAGMA integrity_check").fetchone()
        return bool(row and row[0] == "ok")

    # --- events ------------------------------------------------------------------------------

    def events(self) -> list[PendingEvent]:
        """Undelivered events, oldest first."""
        rows = self.database.connection.execute(
            "SELECT seq, code, command_key FROM events ORDER BY seq"
        )
        return [PendingEvent(seq, code, key) for seq, code, key in rows]

    def apply_events(self, change: EventChange) -> None:
        if not change.remove and not change.add:
            return
        with self.transaction():
            self.database.connection.executemany(
                "DELETE FROM events WHERE seq = ?", [(s,) for s in change.remove]
            )
            self.database.connection.executemany(
                "INSERT INTO events (code, command_key) VALUES (?, ?)", list(change.add)
            )
        if self.on_event is not None:
            for code, command_key in change.add:
                self.on_event(code, command_key)

    # --- engine scalars ----------------------------------------------------------------------

    def get_meta(self, key: str, default: str = "") -> str:
        return self._meta.get(key, default)

    def set_meta(self, key: str, value: str) -> None:
        if self._meta.get(key) == value:
            return
        with self.transaction():
            self.database.connection.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
            self._meta[key] = value

    def delete_meta(self, key: str) -> None:
        with self.transaction():
            self.database.connection.execute("DELETE FROM meta WHERE key = ?", (key,))
            self._meta.pop(key, None)

    def meta_items(self, prefix: str) -> dict[str, str]:
        return {k: v for k, v in self._meta.items() if k.startswith(prefix)}

    # --- generic key/value for other layers --------------------------------------------------

    def kv_get(self, key: str) -> str | None:
        row = self.database.connection.execute(
            "SELECT value FROM kv WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else str(row[0])

    def kv_set(self, key: str, value: str) -> None:
        with self.transaction():
            self.database.connection.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def kv_delete(self, key: str) -> None:
        with self.transaction():
            self.database.connection.execute("DELETE FROM kv WHERE key = ?", (key,))

    def kv_items(self, prefix: str = "") -> dict[str, str]:
        rows = self.database.connection.execute(
            "SELECT key, value FROM kv WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix),
        )
        return {k: v for k, v in rows}

    # --- notification attributes and values pending notification -----------------------------

    def notification(self, name: str) -> int | None:
        """The Notification attribute the ACS set, or None if it never set one."""
        row = self.database.connection.execute(
            "SELECT level FROM notification WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else int(row[0])

    def set_notification(self, name: str, level: int) -> None:
        with self.transaction():
            self.database.connection.execute(
                "INSERT INTO notification (name, level) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET level = excluded.level",
                (name, level),
            )

    def forget_subtree(self, prefix: str) -> None:
        """An object was deleted: its attributes and pending values go with it (A.3.2.7)."""
        with self.transaction():
            for table in ("notification", "changed_values"):
                self.database.connection.execute(
                    f"DELETE FROM {table} WHERE substr(name, 1, ?) = ?", (len(prefix), prefix)
                )

    def record_value_change(self, name: str, value: str, type_: str) -> None:
        """Keep only the newest value of a changed parameter; a newer change gets a newer seq."""
        with self.transaction():
            self.database.connection.execute(
                "INSERT OR REPLACE INTO changed_values (name, value, type) VALUES (?, ?, ?)",
                (name, value, type_),
            )

    def changed_values(self) -> list[tuple[int, ParameterValueStruct]]:
        rows = self.database.connection.execute(
            "SELECT seq, name, value, type FROM changed_values ORDER BY seq"
        )
        return [(seq, ParameterValueStruct(n, v, t)) for seq, n, v, t in rows]

    def clear_changed_values(self, up_to_seq: int | None = None) -> None:
        with self.transaction():
            if up_to_seq is None:
                self.database.connection.execute("DELETE FROM changed_values")
            else:
                self.database.connection.execute(
                    "DELETE FROM changed_values WHERE seq <= ?", (up_to_seq,)
                )

    # --- notification baseline (proxier.translate.notify) ------------------------------------

    def notified_values(self) -> dict[str, str]:
        """The last value seen of each notified parameter (device path → value)."""
        return dict(
            self.database.connection.execute("SELECT path, value FROM notified_values").fetchall()
        )

    def set_notified_values(self, values: Mapping[str, str]) -> None:
        if not values:
            return
        with self.transaction():
            self.database.connection.executemany(
                "INSERT INTO notified_values (path, value) VALUES (?, ?) "
                "ON CONFLICT(path) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )

    def forget_notified_values(self, paths: Iterable[str]) -> None:
        with self.transaction():
            self.database.connection.executemany(
                "DELETE FROM notified_values WHERE path = ?", [(p,) for p in paths]
            )

    def clear_notified_values(self) -> None:
        """The device rebooted or was reset: its values start over without notification."""
        with self.transaction():
            self.database.connection.execute("DELETE FROM notified_values")

    # --- transfers ---------------------------------------------------------------------------

    def add_transfer(
        self,
        *,
        command_key: str,
        is_download: bool,
        file_type: str,
        url: str,
        username: str,
        password: str,
        file_size: int,
        target_file_name: str,
        due: float,
        state: int,
    ) -> int:
        with self.transaction():
            self._empty &= ~_NO_TRANSFERS
            cur = self.database.connection.execute(
                "INSERT INTO transfers (command_key, is_download, file_type, url, username, "
                "password, file_size, target_file_name, due, state) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    command_key,
                    int(is_download),
                    file_type,
                    url,
                    username,
                    password,
                    file_size,
                    target_file_name,
                    due,
                    state,
                ),
            )
            return int(cur.lastrowid or 0)

    def transfers(self) -> list[TransferRecord]:
        if self._empty & _NO_TRANSFERS:
            return []
        rows = self.database.connection.execute(
            "SELECT id, command_key, is_download, file_type, url, username, password, "
            "file_size, target_file_name, due, state, fault_code, fault_string, start_time, "
            "complete_time FROM transfers ORDER BY id"
        ).fetchall()
        if not rows:
            self._empty |= _NO_TRANSFERS
        return [
            TransferRecord(
                r[0],
                r[1],
                bool(r[2]),
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                r[9],
                r[10],
                r[11],
                r[12],
                r[13],
                r[14],
            )
            for r in rows
        ]

    def set_transfer_state(self, transfer_id: int, state: int) -> None:
        with self.transaction():
            self.database.connection.execute(
                "UPDATE transfers SET state = ? WHERE id = ?", (state, transfer_id)
            )

    def complete_transfer(
        self,
        transfer_id: int,
        fault_code: int,
        fault_string: str,
        start_time: str,
        complete_time: str,
    ) -> None:
        with self.transaction():
            self.database.connection.execute(
                "UPDATE transfers SET state = ?, fault_code = ?, fault_string = ?, "
                "start_time = ?, complete_time = ?, password = '' WHERE id = ?",
                (COMPLETED, fault_code, fault_string, start_time, complete_time, transfer_id),
            )

    def delete_transfer(self, transfer_id: int) -> None:
        with self.transaction():
            self.database.connection.execute("DELETE FROM transfers WHERE id = ?", (transfer_id,))

    # --- autonomous transfers -----------------------------------------------------------------

    def add_autonomous_transfer(self, atc: AutonomousTransferComplete) -> int:
        """Keep `atc` until an AutonomousTransferCompleteResponse confirms it (A.3.3.3)."""
        with self.transaction():
            cur = self.database.connection.execute(
                "INSERT INTO autonomous_transfers (announce_url, transfer_url, is_download, "
                "file_type, file_size, target_file_name, fault_code, fault_string, start_time, "
                "complete_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    atc.announce_url,
                    atc.transfer_url,
                    int(atc.is_download),
                    atc.file_type,
                    atc.file_size,
                    atc.target_file_name,
                    atc.fault_struct.fault_code,
                    atc.fault_struct.fault_string,
                    to_iso(atc.start_time),
                    to_iso(atc.complete_time),
                ),
            )
            return int(cur.lastrowid or 0)

    def autonomous_transfers(self) -> list[tuple[int, AutonomousTransferComplete]]:
        """Unconfirmed AutonomousTransferCompletes with their row ids, oldest first."""
        rows = self.database.connection.execute(
            "SELECT id, announce_url, transfer_url, is_download, file_type, file_size, "
            "target_file_name, fault_code, fault_string, start_time, complete_time "
            "FROM autonomous_transfers ORDER BY id"
        )
        return [
            (
                r[0],
                AutonomousTransferComplete(
                    r[1],
                    r[2],
                    bool(r[3]),
                    r[4],
                    r[5],
                    r[6],
                    FaultStruct(r[7], r[8]),
                    from_iso(r[9]),
                    from_iso(r[10]),
                ),
            )
            for r in rows
        ]

    def delete_autonomous_transfer(self, row_id: int) -> None:
        with self.transaction():
            self.database.connection.execute(
                "DELETE FROM autonomous_transfers WHERE id = ?", (row_id,)
            )

    # --- scheduled informs and reboots -------------------------------------------------------

    def add_scheduled_inform(self, due: float, command_key: str) -> int:
        with self.transaction():
            self._empty &= ~_NO_SCHEDULED
            cur = self.database.connection.execute(
                "INSERT INTO scheduled_informs (due, command_key) VALUES (?, ?)",
                (due, command_key),
            )
            return int(cur.lastrowid or 0)

    def scheduled_informs(self) -> list[ScheduledInform]:
        if self._empty & _NO_SCHEDULED:
            return []
        rows = self.database.connection.execute(
            "SELECT id, due, command_key FROM scheduled_informs ORDER BY due, id"
        ).fetchall()
        if not rows:
            self._empty |= _NO_SCHEDULED
        return [ScheduledInform(i, d, k) for i, d, k in rows]

    def delete_scheduled_inform(self, inform_id: int) -> None:
        with self.transaction():
            self.database.connection.execute(
                "DELETE FROM scheduled_informs WHERE id = ?", (inform_id,)
            )

    def add_reboot(self, command_key: str) -> None:
        with self.transaction():
            self.database.connection.execute(
                "INSERT INTO reboots (command_key) VALUES (?)", (command_key,)
            )

    def reboots(self) -> list[str]:
        return [
            k
            for (k,) in self.database.connection.execute(
                "SELECT command_key FROM reboots ORDER BY id"
            )
        ]

    def clear_reboots(self) -> None:
        with self.transaction():
            self.database.connection.execute("DELETE FROM reboots")

    def clear_for_bootstrap(self, *, factory_reset: bool = False) -> None:
        """A new ACS (or a factory reset): forget what only the old ACS asked for.

        Values pending notification go with the discarded "4 VALUE CHANGE" (A.3.3.1), and
        unconfirmed AutonomousTransferCompletes with "10 AUTONOMOUS TRANSFER COMPLETE"
        (Table 7: BOOTSTRAP discards all other undelivered events); queued transfers and
        scheduled informs were the previous ACS's requests (reference §4.3: icwmp drops
        them the same way). Notification attributes survive a URL change
        (A.3.3.1) but not a factory reset.
        """
        tables = ["changed_values", "transfers", "autonomous_transfers", "scheduled_informs"]
        if factory_reset:
            tables += ["notification", "notified_values", "reboots", "meta"]
        with self.transaction():
            for table in tables:
                self.database.connection.execute(f"DELETE FROM {table}")
            if factory_reset:
                self._meta.clear()
