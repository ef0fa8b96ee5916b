"""The per-device instance map: 1-based CWMP numbers ⇄ 0-based sparse UPnP instances."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from proxier.cwmp.store import DeviceStore
from proxier.translate.instances import AliasError, InstanceStore

HOST = "/BBF/Hosts/Host/"


def test_sparse_upnp_instances_get_consecutive_numbers(tmp_path: Path) -> None:
    """TR-330 §4.6.1 note: UPnP 0-based (here sparse 0, 2, 5) ⇄ CWMP 1-based (1, 2, 3)."""
    store = InstanceStore(tmp_path / "i.sqlite")
    assert store.allocate(HOST, [5, 0, 2]) == {0: 1, 2: 2, 5: 3}
    assert [store.upnp_for(HOST, n) for n in (1, 2, 3)] == [0, 2, 5]
    assert store.upnp_for(HOST, 4) is None


def test_numbers_survive_a_restart(tmp_path: Path) -> None:
    """Instance numbers stay the same after reopening the file (issue 4: kept across restarts)."""
    path = tmp_path / "i.sqlite"
    store = InstanceStore(path)
    store.allocate(HOST, [0, 2, 5])
    store.remove(HOST, 2)
    store.close()
    again = InstanceStore(path)
    assert again.instances(HOST) == [(1, 0), (3, 5)]
    assert again.allocate(HOST, [7]) == {7: 4}  # 2 stays used: never reused
    again.close()


def test_numbers_are_never_reused(tmp_path: Path) -> None:
    """TR-069 §3.6.1: a deleted instance number is not given to a new row."""
    store = InstanceStore(tmp_path / "i.sqlite")
    store.allocate(HOST, [0, 1])
    store.remove(HOST, 1)
    assert store.allocate(HOST, [1]) == {1: 3}


def test_sync_follows_the_device_and_drops_sub_tables(tmp_path: Path) -> None:
    store = InstanceStore(tmp_path / "i.sqlite")
    store.allocate("/BBF/IP/Interface/", [0, 1])
    store.allocate("/BBF/IP/Interface/1/IPv4Address/", [0])
    store.sync("/BBF/IP/Interface/", [0, 4])
    assert store.instances("/BBF/IP/Interface/") == [(1, 0), (3, 4)]
    assert store.instances("/BBF/IP/Interface/1/IPv4Address/") == []


def test_file_is_private(tmp_path: Path) -> None:
    """State files are 0600, new state dirs 0700 (project standards)."""
    path = tmp_path / "state" / "i.sqlite"
    InstanceStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_aliases(tmp_path: Path) -> None:
    """TR-330 §4.6.8: the proxier keeps instance aliases; CPE-assigned ones start with cpe-."""
    path = tmp_path / "i.sqlite"
    store = InstanceStore(path)
    store.allocate(HOST, [0, 3])
    assert store.alias(HOST, 1) == "cpe-1"
    store.set_alias(HOST, 2, "printer")
    assert store.by_alias(HOST, "printer") == 2
    with pytest.raises(AliasError):
        store.set_alias(HOST, 1, "printer")  # unique within the table
    with pytest.raises(AliasError):
        store.set_alias(HOST, 1, "1abc")  # must start with a letter
    store.close()
    assert InstanceStore(path).by_alias(HOST, "printer") == 2


# --- in the device's database (one sqlite connection per virtual device) ---------------------

#: How an older proxier laid out its separate instances.sqlite.
_LEGACY_SCHEMA = """
CREATE TABLE instance (tbl TEXT NOT NULL, cwmp INTEGER NOT NULL, upnp INTEGER NOT NULL,
    alias TEXT NOT NULL, PRIMARY KEY (tbl, cwmp), UNIQUE (tbl, upnp));
CREATE TABLE next_number (tbl TEXT PRIMARY KEY, next INTEGER NOT NULL);
CREATE TABLE notification (name TEXT PRIMARY KEY, level INTEGER NOT NULL);
"""


def _legacy_file(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(_LEGACY_SCHEMA)
    db.executemany(
        "INSERT INTO instance VALUES (?, ?, ?, ?)",
        [(HOST, 1, 0, "cpe-1"), (HOST, 3, 5, "printer")],
    )
    db.execute("INSERT INTO next_number VALUES (?, 4)", (HOST,))
    db.executemany(
        "INSERT INTO notification VALUES (?, ?)",
        [("Device.Hosts.Host.1.IPAddress", 2), ("Device.DeviceInfo.ProvisioningCode", 1)],
    )
    # A second connection keeps the WAL un-checkpointed, as a killed old proxier leaves it.
    keep = sqlite3.connect(path)
    keep.execute("SELECT 1 FROM instance").fetchall()
    db.close()
    os.chmod(path, 0o600)
    keep.close()


def test_map_shares_the_device_store_and_its_transactions(tmp_path: Path) -> None:
    """One connection per device: the map's writes join the engine's transaction and roll back
    with it (all or nothing), and the in-memory map follows the file after a rollback."""
    store = DeviceStore(tmp_path / "dev" / "cwmp.sqlite")
    instances = InstanceStore(store.database)
    instances.allocate(HOST, [0])
    with pytest.raises(RuntimeError), store.transaction():
        store.set_meta("parameter_key", "k1")
        assert instances.allocate(HOST, [0, 4]) == {0: 1, 4: 2}
        raise RuntimeError("the engine's write failed")
    assert store.get_meta("parameter_key") == ""
    assert instances.instances(HOST) == [(1, 0)]
    assert instances.allocate(HOST, [4]) == {4: 2}
    instances.close()  # the device store owns the connection: still usable
    store.set_meta("parameter_key", "k2")
    store.close()
    assert sorted(p.name for p in (tmp_path / "dev").iterdir() if p.suffix == ".sqlite") == [
        "cwmp.sqlite"
    ]
    store = DeviceStore(tmp_path / "dev" / "cwmp.sqlite")
    assert InstanceStore(store.database).instances(HOST) == [(1, 0), (2, 4)]
    store.close()


def test_notification_levels_are_the_engines_records(tmp_path: Path) -> None:
    """TR-069 A.3.2.4: the level the ACS set is one record both layers read; a factory reset
    (A.3.3.1: attributes do not survive it) forgets it for the translation layer too."""
    store = DeviceStore(tmp_path / "cwmp.sqlite")
    instances = InstanceStore(store.database)
    instances.set_notifications({"Device.A.x": 2, "Device.A.y": 0, "Device.B.z": 1})
    assert store.notification("Device.A.x") == 2
    assert store.notification("Device.A.y") == 0  # set off by the ACS: overrides a default
    store.set_notification("Device.B.z", 2)
    assert instances.notification("Device.B.z") == 2
    instances.forget_notifications("Device.A.")
    assert store.notification("Device.A.x") is None
    store.clear_for_bootstrap(factory_reset=True)
    assert instances.notification("Device.B.z") is None
    store.close()


def test_legacy_instances_file_is_imported_once_and_removed(tmp_path: Path) -> None:
    """A state dir from before (instances.sqlite beside cwmp.sqlite): CWMP numbers, aliases
    and never-reused counters carry over (TR-069 §3.6.1), the engine's Notification record
    wins over the old copy, and the old file is gone afterwards."""
    legacy = tmp_path / "instances.sqlite"
    _legacy_file(legacy)
    store = DeviceStore(tmp_path / "cwmp.sqlite")
    store.set_notification("Device.DeviceInfo.ProvisioningCode", 0)
    instances = InstanceStore(store.database, legacy=legacy)
    assert instances.instances(HOST) == [(1, 0), (3, 5)]
    assert instances.by_alias(HOST, "printer") == 3
    assert instances.allocate(HOST, [7]) == {7: 4}
    assert instances.notification("Device.Hosts.Host.1.IPAddress") == 2
    assert store.notification("Device.DeviceInfo.ProvisioningCode") == 0
    assert not any(p.name.startswith("instances.sqlite") for p in tmp_path.iterdir())
    store.close()
    store = DeviceStore(tmp_path / "cwmp.sqlite")
    again = InstanceStore(store.database, legacy=legacy)
    assert again.instances(HOST) == [(1, 0), (3, 5), (4, 7)]
    store.close()


def test_import_repeated_after_a_kill_changes_nothing(tmp_path: Path) -> None:
    """A kill -9 after the import committed but before the old file was removed imports it
    again on restart: the same map, aliases and counters as after the first import."""
    legacy = tmp_path / "instances.sqlite"
    _legacy_file(legacy)
    saved = tmp_path / "saved.sqlite"
    db = sqlite3.connect(legacy)
    db.execute("VACUUM INTO ?", (str(saved),))
    db.close()
    store = DeviceStore(tmp_path / "cwmp.sqlite")
    first = InstanceStore(store.database, legacy=legacy)
    first_map = first.instances(HOST), first.alias(HOST, 3)
    store.close()
    saved.rename(legacy)  # as if the kill came before the removal
    store = DeviceStore(tmp_path / "cwmp.sqlite")
    instances = InstanceStore(store.database, legacy=legacy)
    assert (instances.instances(HOST), instances.alias(HOST, 3)) == first_map
    assert instances.allocate(HOST, [9]) == {9: 4}
    assert not legacy.exists()
    store.close()


def test_unreadable_legacy_file_is_kept_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Bad input never crashes: a damaged old map is left for the operator, with a log line."""
    legacy = tmp_path / "instances.sqlite"
    legacy.write_bytes(b"not a database at all" * 100)
    store = DeviceStore(tmp_path / "cwmp.sqlite")
    instances = InstanceStore(store.database, legacy=legacy)
    assert instances.allocate(HOST, [0]) == {0: 1}
    assert legacy.exists()
    assert "not imported" in caplog.text
    store.close()
