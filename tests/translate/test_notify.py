"""ValueChangeTracker: which re-read values are real "4 VALUE CHANGE"s (TR-330 §4.6.5.2.1)."""

from proxier.translate.notify import ValueChangeTracker

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


def test_baseline_reports_changes_made_before_events_flowed() -> None:
    """§4.6.5.2.1 / TR-069 §3.7.1.5: when the subscription's initial event arrives, a value
    we already knew that differs is a change (made before any event could say so); a value
    we did not know yet is only the baseline."""
    t = tracker()
    t.watch("/BBF/Time/NTPServer2", "Device.Time.NTPServer2", "xsd:string")
    changes = t.baseline([(P, "changed"), ("/BBF/Time/NTPServer2", "first")], now=0.0)
    assert [(c.name, c.value) for c in changes] == [(N, "changed")]
    assert t.compare({"/BBF/Time/NTPServer2": "first"}, now=1.0) == []
    assert [c.value for c in t.compare({"/BBF/Time/NTPServer2": "second"}, now=2.0)] == ["second"]
