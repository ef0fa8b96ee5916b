"""The per-device instance map: 1-based CWMP numbers ⇄ 0-based sparse UPnP instances."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

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
