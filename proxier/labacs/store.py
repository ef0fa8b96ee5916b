"""The lab ACS's sqlite store: devices, Inform history, parameters, tasks, sessions.

Small synchronous sqlite (WAL): the lab ACS serves a handful of devices, and every write is
one short transaction, so calling it from the event loop is fine. The file is created 0600.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from proxier.cwmp.rpc import Inform
from proxier.dbfile import immediate, open_private_db

_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY,
    manufacturer TEXT NOT NULL,
    oui TEXT NOT NULL,
    product_class TEXT NOT NULL,
    serial_number TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_contact REAL NOT NULL,
    last_inform INTEGER,
    cr_url TEXT NOT NULL DEFAULT '',
    cr_username TEXT,
    cr_password TEXT
);
CREATE TABLE IF NOT EXISTS informs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    time REAL NOT NULL,
    session TEXT NOT NULL,
    version TEXT NOT NULL,
    current_time TEXT NOT NULL,
    retry_count INTEGER NOT NULL,
    events TEXT NOT NULL,
    parameters TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS informs_device ON informs(device_id, id);
CREATE TABLE IF NOT EXISTS parameters (
    device_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    type TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (device_id, name)
);
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    name TEXT NOT NULL,
    args TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    connection_request TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_device ON tasks(device_id, status, id);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    outcome TEXT
);
CREATE TABLE IF NOT EXISTS cpe_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    session TEXT NOT NULL,
    time REAL NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL
);
"""

#: Task states. pending → sent → done | fault | error; a session that dies puts sent back.
PENDING, SENT, DONE, FAULT, ERROR = "pending", "sent", "done", "fault", "error"
FINISHED = frozenset({DONE, FAULT, ERROR})

_SECRET_KEYS = frozenset({"password"})


_SECRET_NAMES = ("password", "passphrase", "secret", "presharedkey")


def _secret_name(name: Any) -> bool:
    """A parameter whose value is a secret (…ConnectionRequestPassword, …KeyPassphrase)."""
    return isinstance(name, str) and name.lower().endswith(_SECRET_NAMES)


def redact(value: Any) -> Any:
    """Task arguments with any password replaced, for output and logs: `password` keys and
    the values of SetParameterValues entries naming a password parameter, in either form
    (`[name, value, type]` or `{"name": …, "value": …}`)."""
    if isinstance(value, dict):
        secret_value = _secret_name(value.get("name"))
        return {
            k: (
                "***"
                if v and (k.lower() in _SECRET_KEYS or (secret_value and k == "value"))
                else redact(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        if len(value) >= 2 and _secret_name(value[0]) and isinstance(value[1], str) and value[1]:
            return [value[0], "***", *value[2:]]
        return [redact(v) for v in value]
    return value


@dataclass
class LabStore:
    """All lab ACS state in one sqlite file (":memory:" for a throw-away ACS)."""

    path: str
    clock: Any = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        self._db = open_private_db(self.path, private_parent=False)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db)

    # --- devices and informs ---------------------------------------------------------------

    def record_inform(self, dev_id: str, inform: Inform, session: str, version: str) -> int:
        """Upsert the device, append to its Inform history and refresh its parameters."""
        now = self.clock()
        events = [[e.event_code, e.command_key] for e in inform.event]
        params = {p.name: [p.value, p.type] for p in inform.parameter_list}
        cr_url = next(
            (
                p.value
                for p in inform.parameter_list
                if p.name.endswith("ManagementServer.ConnectionRequestURL")
            ),
            None,
        )
        d = inform.device_id
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO informs(device_id, time, session, version, current_time, "
                "retry_count, events, parameters) VALUES (?,?,?,?,?,?,?,?)",
                (
                    dev_id,
                    now,
                    session,
                    version,
                    inform.current_time.isoformat(),
                    inform.retry_count,
                    json.dumps(events),
                    json.dumps(params),
                ),
            )
            inform_id = int(cursor.lastrowid or 0)
            db.execute(
                "INSERT INTO devices(id, manufacturer, oui, product_class, serial_number, "
                "first_seen, last_contact, last_inform, cr_url) VALUES (?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET manufacturer=excluded.manufacturer, "
                "last_contact=excluded.last_contact, last_inform=excluded.last_inform, "
                "cr_url=CASE WHEN ? IS NULL THEN devices.cr_url ELSE excluded.cr_url END",
                (
                    dev_id,
                    d.manufacturer,
                    d.oui,
                    d.product_class,
                    d.serial_number,
                    now,
                    now,
                    inform_id,
                    cr_url or "",
                    cr_url,
                ),
            )
            db.executemany(
                "INSERT OR REPLACE INTO parameters VALUES (?,?,?,?,?)",
                [(dev_id, p.name, p.value, p.type, now) for p in inform.parameter_list],
            )
        return inform_id

    def touch(self, dev_id: str) -> None:
        self._db.execute("UPDATE devices SET last_contact=? WHERE id=?", (self.clock(), dev_id))

    def set_parameters(self, dev_id: str, params: list[tuple[str, str, str]]) -> None:
        now = self.clock()
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO parameters VALUES (?,?,?,?,?)",
                [(dev_id, name, value, type_, now) for name, value, type_ in params],
            )

    def set_cr_credentials(self, dev_id: str, username: str | None, password: str | None) -> None:
        """Per-device Connection Request credentials (None keeps the current one)."""
        with self._tx() as db:
            if username is not None:
                db.execute("UPDATE devices SET cr_username=? WHERE id=?", (username, dev_id))
            if password is not None:
                db.execute("UPDATE devices SET cr_password=? WHERE id=?", (password, dev_id))

    def cr_target(self, dev_id: str) -> tuple[str, str | None, str | None] | None:
        """(ConnectionRequestURL, username, password) of a known device."""
        row = self._db.execute(
            "SELECT cr_url, cr_username, cr_password FROM devices WHERE id=?", (dev_id,)
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def devices(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT id FROM devices ORDER BY id").fetchall()
        return [d for d in (self.device(r[0], full=False) for r in rows) if d is not None]

    def device(self, dev_id: str, *, full: bool = True) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM devices WHERE id=?", (dev_id,)).fetchone()
        if row is None:
            return None
        out: dict[str, Any] = {
            "id": row["id"],
            "deviceId": {
                "manufacturer": row["manufacturer"],
                "oui": row["oui"],
                "productClass": row["product_class"],
                "serialNumber": row["serial_number"],
            },
            "firstSeen": row["first_seen"],
            "lastContact": row["last_contact"],
            "connectionRequestUrl": row["cr_url"],
        }
        if full:
            informs = self.informs(dev_id, after=int(row["last_inform"] or 0) - 1, limit=1)
            out["lastInform"] = informs[0] if informs else None
            out["parameters"] = {
                r["name"]: {"value": r["value"], "type": r["type"], "updated": r["updated"]}
                for r in self._db.execute(
                    "SELECT * FROM parameters WHERE device_id=? ORDER BY name", (dev_id,)
                )
            }
        return out

    def informs(self, dev_id: str, *, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT * FROM informs WHERE device_id=? AND id>? ORDER BY id LIMIT ?",
            (dev_id, after, limit),
        ).fetchall()
        return [
            {
                "id": r["id"],
                "time": r["time"],
                "session": r["session"],
                "cwmpVersion": r["version"],
                "currentTime": r["current_time"],
                "retryCount": r["retry_count"],
                "events": json.loads(r["events"]),
                "parameters": json.loads(r["parameters"]),
            }
            for r in rows
        ]

    def record_cpe_request(self, dev_id: str, session: str, name: str, body: Any) -> None:
        self._db.execute(
            "INSERT INTO cpe_requests(device_id, session, time, name, body) VALUES (?,?,?,?,?)",
            (dev_id, session, self.clock(), name, json.dumps(body)),
        )

    def cpe_requests(self, dev_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT * FROM cpe_requests WHERE device_id=? ORDER BY id", (dev_id,)
        ).fetchall()
        return [
            {"id": r["id"], "session": r["session"], "time": r["time"], "name": r["name"]}
            | {"body": json.loads(r["body"])}
            for r in rows
        ]

    # --- sessions --------------------------------------------------------------------------

    def session_started(self, session: str, dev_id: str) -> None:
        seq = self._db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] + 1
        self._db.execute(
            "INSERT INTO sessions(id, seq, device_id, started) VALUES (?,?,?,?)",
            (session, seq, dev_id, self.clock()),
        )

    def session_ended(self, session: str, outcome: str) -> None:
        self._db.execute(
            "UPDATE sessions SET ended=?, outcome=? WHERE id=? AND ended IS NULL",
            (self.clock(), outcome, session),
        )

    def sessions(self, dev_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT * FROM sessions WHERE device_id=? ORDER BY seq", (dev_id,)
        ).fetchall()
        return [
            {
                "id": r["id"],
                "started": r["started"],
                "ended": r["ended"],
                "outcome": r["outcome"],
            }
            for r in rows
        ]

    # --- tasks -----------------------------------------------------------------------------

    def add_task(self, dev_id: str, task: dict[str, Any]) -> int:
        now = self.clock()
        cursor = self._db.execute(
            "INSERT INTO tasks(device_id, name, args, status, created, updated) "
            "VALUES (?,?,?,?,?,?)",
            (dev_id, task["name"], json.dumps(task), PENDING, now, now),
        )
        return int(cursor.lastrowid or 0)

    def next_pending(self, dev_id: str) -> tuple[int, dict[str, Any]] | None:
        row = self._db.execute(
            "SELECT id, args FROM tasks WHERE device_id=? AND status=? ORDER BY id LIMIT 1",
            (dev_id, PENDING),
        ).fetchone()
        return None if row is None else (int(row[0]), json.loads(row[1]))

    def has_pending(self, dev_id: str) -> bool:
        return self.next_pending(dev_id) is not None

    def set_task(
        self,
        task_id: int,
        status: str,
        result: Any = None,
        *,
        connection_request: str | None = None,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE tasks SET status=?, updated=?, result=COALESCE(?, result) WHERE id=?",
                (status, self.clock(), None if result is None else json.dumps(result), task_id),
            )
            if connection_request is not None:
                db.execute(
                    "UPDATE tasks SET connection_request=? WHERE id=?",
                    (connection_request, task_id),
                )

    def set_connection_request(self, task_id: int, outcome: str) -> None:
        self._db.execute("UPDATE tasks SET connection_request=? WHERE id=?", (outcome, task_id))

    def requeue_sent(self, dev_id: str) -> None:
        """A session died with a task in flight: it goes out again next session."""
        self._db.execute(
            "UPDATE tasks SET status=?, updated=? WHERE device_id=? AND status=?",
            (PENDING, self.clock(), dev_id, SENT),
        )

    def task(self, dev_id: str, task_id: int) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT * FROM tasks WHERE device_id=? AND id=?", (dev_id, task_id)
        ).fetchone()
        return None if row is None else self._task_json(row)

    def tasks(self, dev_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT * FROM tasks WHERE device_id=? ORDER BY id", (dev_id,)
        ).fetchall()
        return [self._task_json(r) for r in rows]

    @staticmethod
    def _task_json(row: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": row["id"],
            "device": row["device_id"],
            "name": row["name"],
            "args": redact(json.loads(row["args"])),
            "status": row["status"],
            "result": json.loads(row["result"]) if row["result"] else None,
            "connectionRequest": row["connection_request"],
            "created": row["created"],
            "updated": row["updated"],
        }
