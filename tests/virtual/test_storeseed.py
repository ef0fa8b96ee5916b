"""Issue 13 (bootstrap): a new virtual device's store starts as a copy of an empty store,
private (issue 12: state files 0600 in 0700 directories), in WAL mode (kill -9 safety),
and never replaces an existing store."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from proxier.cwmp.store import DeviceStore
from proxier.translate.instances import InstanceStore
from proxier.virtual.storeseed import seed


def test_seeded_store_is_private_wal_and_usable(tmp_path: Path) -> None:
    path = tmp_path / "dev" / "cwmp.sqlite"
    seed(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    store = DeviceStore(path)
    instances = InstanceStore(store.database)
    assert store.events() == [] and store.kv_get("x") is None
    store.kv_set("x", "1")
    assert instances.allocate("/T/", [7]) == {7: 1}
    store.close()
    again = DeviceStore(path)
    assert again.kv_get("x") == "1"
    assert InstanceStore(again.database).cwmp_for("/T/", 7) == 1
    again.close()


def test_existing_store_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "dev" / "cwmp.sqlite"
    store = DeviceStore(path)
    store.kv_set("kept", "yes")
    store.close()
    before = path.read_bytes()
    seed(path)
    assert path.read_bytes() == before
    store = DeviceStore(path)
    assert store.kv_get("kept") == "yes"
    store.close()
