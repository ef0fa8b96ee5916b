"""ValueChangeTracker: which re-read values are real "4 VALUE CHANGE"s (TR-330 §4.6.5.2.1)."""

from pathlib import Path

import pytest

from proxier.cwmp.backend import ValueChange
from proxier.cwmp.store import DeviceStore
from proxier.translate.notify import BaselineStore, MemoryBaseline, ValueChangeTracker

P = "/BBF/Time/NTPServer1"
N = "Device.Time.NTPServer1"


def tracker() -> ValueChangeTracker:
    t = ValueChangeTracker(window=10.0)
    t.watch(P, N, "xsd:string")
    t.seed([(P, "a")])
    return t


def test_device_change_is_reported() -> None:
    changes = tracker().compare({P: "b"}, now=0.0)
    assert [(c.name, c.value) for c in changes] == [(N, "b")]
    # EventOnChange is on: passive at least, as GPA reports (issue 12 item 11, A.3.2.4)
    assert [c.notification for c in changes] == [1]


def test_acs_echo_is_not_reported() -> None:
    """TR-069 A.3.2.4: a change made by the ACS never notifies."""
    t = tracker()
    t.acs_set({P: "acs"}, now=0.0)
    assert t.compare({P: "acs"}, now=1.0) == []


def test_device_change_right_after_acs_set_is_reported() -> None:
    """The exclusion covers the ACS's own value only; a different value the device sets a
    moment later is a real change and must not be lost."""
    t = tracker()
    t.acs_set({P: "acs"}, now=0.0)
    changes = t.compare({P: "device"}, now=1.0)
    assert [(c.name, c.value) for c in changes] == [(N, "device")]


def test_unchanged_value_is_not_reported() -> None:
    assert tracker().compare({P: "a"}, now=0.0) == []


# --- the baseline across restarts (issue 5: kill -9 loses no "4 VALUE CHANGE") -------------


def restarted(store: BaselineStore) -> ValueChangeTracker:
    """A new process: only what `store` holds survives; discovery watches P again."""
    t = ValueChangeTracker(window=10.0, store=store)
    t.watch(P, N, "xsd:string")
    return t


def test_change_while_down_is_reported_after_restart(tmp_path: Path) -> None:
    """TR-069 §3.7.1.5 / Table 7: "4 VALUE CHANGE" is kept until delivered unless the CPE
    reboots, and a proxier restart is no reboot: a value changed while nobody watched is
    compared against the last value seen before the restart, reported once."""
    store = DeviceStore(tmp_path / "d.sqlite")
    before = ValueChangeTracker(window=10.0, store=store)
    before.watch(P, N, "xsd:string")
    before.seed([(P, "a")])
    assert [c.value for c in before.compare({P: "b"}, now=0.0)] == ["b"]
    store.close()
    store = DeviceStore(tmp_path / "d.sqlite")
    after = restarted(store)
    assert [(c.name, c.value) for c in after.compare({P: "c"}, now=0.0)] == [(N, "c")]
    assert after.compare({P: "c"}, now=1.0) == []
    assert restarted(store).compare({P: "c"}, now=2.0) == []  # reported once, not again
    store.close()


def test_report_runs_in_the_baseline_transaction(tmp_path: Path) -> None:
    """The new baseline and the engine's record of the change commit together: a report
    that fails leaves the old baseline, so the change is reported again (never lost)."""
    store = DeviceStore(tmp_path / "d.sqlite")
    t = restarted(store)
    t.seed([(P, "a")])
    seen_in_transaction: list[bool] = []

    def failing(changes: list[ValueChange]) -> None:
        store.record_value_change(changes[0].name, changes[0].value, changes[0].type)
        seen_in_transaction.append(store.notified_values() == {P: "b"})
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        t.compare({P: "b"}, now=0.0, report=failing)
    assert seen_in_transaction == [True]
    assert store.notified_values() == {P: "a"} and store.changed_values() == []
    got: list[list[ValueChange]] = []
    assert [c.value for c in t.compare({P: "b"}, now=0.0, report=got.append)] == ["b"]
    assert [[c.value for c in r] for r in got] == [["b"]]
    assert store.notified_values() == {P: "b"}
    store.close()


def test_first_reading_without_stored_baseline_is_not_a_change() -> None:
    """A parameter nobody watched before (new Notification, or first discovery) starts
    with the value read; only later differences are changes."""
    t = ValueChangeTracker(store=MemoryBaseline())
    t.watch(P, N, "xsd:string")
    assert t.compare({P: "x"}, now=0.0) == []
    assert [c.value for c in t.compare({P: "y"}, now=0.0)] == ["y"]


def test_acs_set_survives_restart_as_baseline() -> None:
    """A.3.2.4: the ACS's own value is never a notification, also after a restart."""
    store = MemoryBaseline()
    t = restarted(store)
    t.seed([(P, "a")])
    t.acs_set({P: "acs"}, now=0.0)
    assert restarted(store).compare({P: "acs"}, now=100.0) == []


def test_rebaseline_after_reboot_reports_nothing_from_before() -> None:
    """Table 7: a reboot discards "4 VALUE CHANGE"; what changed across it is the new
    baseline, later changes are reported."""
    store = MemoryBaseline()
    t = restarted(store)
    t.seed([(P, "a")])
    fresh = ValueChangeTracker(store=store)
    fresh.rebaseline()
    fresh.watch(P, N, "xsd:string")
    assert fresh.compare({P: "after-boot"}, now=0.0) == []
    assert [c.value for c in fresh.compare({P: "later"}, now=0.0)] == ["later"]


def test_unwatched_and_deleted_parameters_leave_the_store() -> None:
    """Notification off, a deleted instance (A.3.2.7: never a value change), or a parameter
    no longer notified at discovery: its stored baseline goes."""
    store = MemoryBaseline()
    t = ValueChangeTracker(store=store)
    for path in ("/A/1/x", "/A/2/x", "/B/y", "/C/z"):
        t.watch(path, path, "xsd:string")
    t.seed([("/A/1/x", "1"), ("/A/2/x", "2"), ("/B/y", "3"), ("/C/z", "4")])
    t.unwatch("/B/y")
    t.forget_below("/A/1/")
    assert store.values == {"/A/2/x": "2", "/C/z": "4"}
    again = ValueChangeTracker(store=store)
    again.watch("/C/z", "z", "xsd:string")
    again.forget_unwatched()
    assert store.values == {"/C/z": "4"}
