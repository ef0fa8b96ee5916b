"""Per-device sqlite store: atomic, crash-safe, private (TR-069 §3.7.1.5 "deliver every
event at least once" across kill -9)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from proxier.cwmp import events as ev
from proxier.cwmp.store import COMPLETED, NOT_STARTED, DeviceStore


def test_file_and_directory_are_private(tmp_path: Path) -> None:
    """State files 0600 in a 0700 directory (they hold credentials)."""
    path = tmp_path / "devices" / "a.sqlite"
    store = DeviceStore(path)
    store.set_meta("x", "1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for extra in path.parent.iterdir():
        assert stat.S_IMODE(extra.stat().st_mode) & 0o077 == 0, extra
    store.close()


def test_events_keep_order_and_command_keys(tmp_path: Path) -> None:
    """Events persist oldest first with their CommandKeys (Table 37)."""
    store = DeviceStore(tmp_path / "s.sqlite")
    store.apply_events(ev.raise_event(store.events(), ev.M_REBOOT, "k1"))
    store.apply_events(ev.raise_event(store.events(), ev.PERIODIC))
    store.close()
    store = DeviceStore(tmp_path / "s.sqlite")
    assert [(e.code, e.command_key) for e in store.events()] == [
        ("M Reboot", "k1"),
        ("1 BOOT", ""),
        ("2 PERIODIC", ""),
    ]
    store.close()


def test_transaction_is_all_or_nothing(tmp_path: Path) -> None:
    """A failure inside `transaction()` leaves nothing behind."""
    store = DeviceStore(tmp_path / "s.sqlite")
    with pytest.raises(RuntimeError), store.transaction():
        store.set_meta("parameter_key", "half")
        store.apply_events(ev.raise_event([], ev.BOOT))
        raise RuntimeError("crash in the middle")
    assert store.get_meta("parameter_key") == "" and store.events() == []
    store.close()


def test_empty_tables_are_remembered_but_never_hide_a_row(tmp_path: Path) -> None:
    """Issue 13 (storms): transfers and scheduled informs known to be empty are not queried
    again; an insert is seen at once, a rolled-back one never, nor one another store of
    the same file made before this one opened it; a rollback keeps the event listener."""
    path = tmp_path / "s.sqlite"
    store = DeviceStore(path)
    seen: list[tuple[str, str]] = []
    store.on_event = lambda code, key: seen.append((code, key))
    assert store.transfers() == [] and store.scheduled_informs() == []
    with pytest.raises(RuntimeError), store.transaction():
        store.add_scheduled_inform(10.0, "rolled-back")
        raise RuntimeError("crash in the middle")
    assert store.scheduled_informs() == []
    store.add_scheduled_inform(10.0, "kept")
    assert [s.command_key for s in store.scheduled_informs()] == ["kept"]
    with pytest.raises(RuntimeError), store.transaction():
        store.delete_scheduled_inform(store.scheduled_informs()[0].id)
        assert store.scheduled_informs() == []  # empty inside the transaction …
        raise RuntimeError("crash in the middle")
    assert [s.command_key for s in store.scheduled_informs()] == ["kept"]  # … not after it
    tid = store.add_transfer(
        command_key="c",
        is_download=True,
        file_type="1 Firmware Upgrade Image",
        url="http://h/f",
        username="",
        password="",
        file_size=0,
        target_file_name="",
        due=5.0,
        state=NOT_STARTED,
    )
    assert [t.id for t in store.transfers()] == [tid]
    store.delete_transfer(tid)
    assert store.transfers() == []
    store.apply_events(ev.raise_event([], ev.BOOT))
    assert seen == [(ev.BOOT, "")]
    store.close()
    other = DeviceStore(path)
    assert [s.command_key for s in other.scheduled_informs()] == ["kept"]
    other.close()


def test_changed_values_keep_newest_and_order(tmp_path: Path) -> None:
    """A.3.3.1: a parameter changed twice is listed once with the most recent value; a
    newer change is not cleared by an older Inform's confirmation."""
    store = DeviceStore(tmp_path / "s.sqlite")
    store.record_value_change("Device.A", "1", "xsd:string")
    store.record_value_change("Device.B", "x", "xsd:string")
    upto = max(seq for seq, _ in store.changed_values())
    store.record_value_change("Device.A", "2", "xsd:string")
    assert [pv.value for _, pv in store.changed_values()] == ["x", "2"]
    store.clear_changed_values(upto)
    assert [(pv.name, pv.value) for _, pv in store.changed_values()] == [("Device.A", "2")]
    store.close()


def test_transfers_scheduled_informs_reboots_kv(tmp_path: Path) -> None:
    """Transfer records (A.4.1.1 states), scheduled informs, reboots and the generic kv."""
    store = DeviceStore(tmp_path / "s.sqlite")
    tid = store.add_transfer(
        command_key="c",
        is_download=True,
        file_type="1 Firmware Upgrade Image",
        url="http://h/f",
        username="u",
        password="secret",
        file_size=3,
        target_file_name="",
        due=5.0,
        state=NOT_STARTED,
    )
    store.complete_transfer(tid, 9010, "failed", "", "")
    (record,) = store.transfers()
    assert record.state == COMPLETED and record.fault_code == 9010
    assert record.password == "" and "secret" not in repr(record)
    store.add_scheduled_inform(20.0, "late")
    store.add_scheduled_inform(10.0, "early")
    assert [s.command_key for s in store.scheduled_informs()] == ["early", "late"]
    store.add_reboot("r")
    assert store.reboots() == ["r"]
    store.kv_set("upnp.bootid", "7")
    assert store.kv_get("upnp.bootid") == "7" and store.kv_items("upnp.") == {"upnp.bootid": "7"}
    store.set_notification("Device.X", 2)
    store.forget_subtree("Device.")
    assert store.notification("Device.X") is None
    store.close()


_CHILD = textwrap.dedent(
    """
    import sys
    from proxier.cwmp import events as ev
    from proxier.cwmp.store import DeviceStore, IN_PROGRESS

    store = DeviceStore(sys.argv[1])
    i = 0
    while True:
        i += 1
        key = str(i)
        with store.transaction():
            store.add_transfer(command_key=key, is_download=True, file_type="1 Firmware",
                               url="http://h/f", username="", password="", file_size=0,
                               target_file_name="", due=0.0, state=IN_PROGRESS)
            store.apply_events(ev.raise_event(store.events(), ev.M_DOWNLOAD, key))
        print("E", key, flush=True)
        if i % 3 == 0:
            oldest = store.transfers()[0]
            with store.transaction():
                store.delete_transfer(oldest.id)
                store.apply_events(ev.confirmed_by_transfer_complete_response(
                    store.events(), ev.M_DOWNLOAD, oldest.command_key))
            print("D", oldest.command_key, flush=True)
    """
)


@pytest.mark.parametrize("lines_before_kill", [7, 40, 151])
def test_survives_kill_9_while_enqueuing_and_delivering(
    tmp_path: Path, lines_before_kill: int
) -> None:
    """No event lost or half-written across SIGKILL: every committed enqueue/delivery is
    there after reopening, each transfer record has its "M Download" (same transaction)."""
    path = tmp_path / "dev" / "k.sqlite"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    expected: set[str] = set()
    lines = [child.stdout.readline() for _ in range(lines_before_kill)]
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    lines += child.stdout.read().splitlines()  # reported before the kill = committed
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            continue  # a line cut by the kill was never fully reported: not counted as committed
        op, key = parts
        (expected.add if op == "E" else expected.discard)(key)
    store = DeviceStore(path)
    assert store.integrity_ok()
    transfer_keys = {t.command_key for t in store.transfers()}
    event_keys = {e.command_key for e in store.events() if e.code == ev.M_DOWNLOAD}
    assert transfer_keys == event_keys  # both or neither: one transaction
    # Everything reported committed is there; at most one later step also made it.
    assert len(transfer_keys ^ expected) <= 1
    reported = {int(k) for k in expected}
    extra = transfer_keys - expected
    assert all(int(k) > max(reported) for k in extra)
    if transfer_keys:
        assert any(e.code == ev.TRANSFER_COMPLETE for e in store.events())
    store.close()


def test_notified_values_survive_reopen_and_url_change_but_not_factory_reset(
    tmp_path: Path,
) -> None:
    """The last seen values of notified parameters are the baseline a change is detected
    against after a restart (TR-069 §3.7.1.5: a change made while the proxier was down is
    still a "4 VALUE CHANGE"). A new ACS URL keeps them with the Notification attributes
    (A.3.3.1); a factory reset forgets both."""
    path = tmp_path / "s.sqlite"
    store = DeviceStore(path)
    store.set_notified_values({"/A/x": "1", "/A/y": "2"})
    store.set_notified_values({"/A/x": "3"})
    store.forget_notified_values(["/A/y"])
    store.close()
    store = DeviceStore(path)
    assert store.notified_values() == {"/A/x": "3"}
    store.clear_for_bootstrap()
    assert store.notified_values() == {"/A/x": "3"}
    store.clear_for_bootstrap(factory_reset=True)
    assert store.notified_values() == {}
    store.close()


def test_notified_value_and_value_change_commit_together(tmp_path: Path) -> None:
    """One transaction holds the new baseline and the pending "4 VALUE CHANGE": if the
    second write fails, the first is undone too (else a restart would lose the change or
    report it twice)."""
    store = DeviceStore(tmp_path / "s.sqlite")
    store.set_notified_values({"/A/x": "old"})
    with pytest.raises(RuntimeError), store.transaction():
        store.set_notified_values({"/A/x": "new"})
        store.record_value_change("Device.X", "new", "xsd:string")
        raise RuntimeError("killed between the two")
    assert store.notified_values() == {"/A/x": "old"}
    assert store.changed_values() == []
    store.close()
