"""Table 7 event rules (TR-069 §3.7.1.5), one test per rule, on the pure queue operations."""

from __future__ import annotations

from proxier.cwmp import events as ev
from proxier.cwmp.events import (
    EVENT_RULES,
    Confirmation,
    Cumulative,
    EventChange,
    PendingEvent,
    Retention,
)


class Queue:
    """The pending list with EventChange applied the way the store does it."""

    def __init__(self) -> None:
        self.items: list[PendingEvent] = []
        self._seq = 0

    def apply(self, change: EventChange) -> None:
        self.items = [e for e in self.items if e.seq not in change.remove]
        for code, key in change.add:
            self._seq += 1
            self.items.append(PendingEvent(self._seq, code, key))

    def raise_(self, code: str, key: str = "") -> None:
        self.apply(ev.raise_event(self.items, code, key))

    def codes(self) -> list[tuple[str, str]]:
        return [(e.code, e.command_key) for e in self.items]


def test_table7_rows_as_specified() -> None:
    """TR-069 Table 7: each row's cumulative behaviour, confirmation and retry policy."""
    expect = {
        "0 BOOTSTRAP": (Cumulative.SINGLE, Confirmation.INFORM_RESPONSE, Retention.NEVER_DISCARD),
        "1 BOOT": (Cumulative.SINGLE, Confirmation.INFORM_RESPONSE, Retention.UNTIL_REBOOT),
        "2 PERIODIC": (Cumulative.SINGLE, Confirmation.INFORM_RESPONSE, Retention.NEVER_DISCARD),
        "3 SCHEDULED": (Cumulative.SINGLE, Confirmation.INFORM_RESPONSE, Retention.NEVER_DISCARD),
        "4 VALUE CHANGE": (
            Cumulative.SINGLE,
            Confirmation.INFORM_RESPONSE,
            Retention.UNTIL_REBOOT_OR_URL_CHANGE,
        ),
        "6 CONNECTION REQUEST": (
            Cumulative.SINGLE,
            Confirmation.INFORM_RESPONSE,
            Retention.NO_RETRY,
        ),
        "7 TRANSFER COMPLETE": (
            Cumulative.SINGLE,
            Confirmation.TRANSFER_COMPLETE_RESPONSE,
            Retention.NEVER_DISCARD,
        ),
        "8 DIAGNOSTICS COMPLETE": (
            Cumulative.SINGLE,
            Confirmation.INFORM_RESPONSE,
            Retention.UNTIL_REBOOT,
        ),
        "M Reboot": (Cumulative.MULTIPLE, Confirmation.INFORM_RESPONSE, Retention.NEVER_DISCARD),
        "M ScheduleInform": (
            Cumulative.MULTIPLE,
            Confirmation.INFORM_RESPONSE,
            Retention.NEVER_DISCARD,
        ),
        "M Download": (
            Cumulative.MULTIPLE,
            Confirmation.TRANSFER_COMPLETE_RESPONSE,
            Retention.NEVER_DISCARD,
        ),
        "M Upload": (
            Cumulative.MULTIPLE,
            Confirmation.TRANSFER_COMPLETE_RESPONSE,
            Retention.NEVER_DISCARD,
        ),
    }
    for code, (cumulative, confirmed_by, retention) in expect.items():
        r = EVENT_RULES[code]
        assert (r.cumulative, r.confirmed_by, r.retention) == (cumulative, confirmed_by, retention)


def test_single_event_appears_once() -> None:
    """TR-069 §3.7.1.5 Single: the next Inform contains only one instance of the code."""
    q = Queue()
    q.raise_(ev.PERIODIC)
    q.raise_(ev.PERIODIC)
    q.raise_(ev.VALUE_CHANGE)
    q.raise_(ev.VALUE_CHANGE)
    assert sorted(q.codes()) == [("2 PERIODIC", ""), ("4 VALUE CHANGE", "")]


def test_single_reoccurrence_is_not_confirmed_by_inform_in_flight() -> None:
    """§3.2.1: a change during a session must cause a new session (not be swallowed)."""
    q = Queue()
    q.raise_(ev.VALUE_CHANGE)
    sent, _ = ev.inform_events(q.items)
    q.raise_(ev.VALUE_CHANGE)  # happens while the Inform is in flight
    q.apply(ev.confirmed_by_inform_response(sent))
    assert q.codes() == [("4 VALUE CHANGE", "")]


def test_multiple_events_accumulate_per_command_key() -> None:
    """TR-069 §3.7.1.5 Multiple: each occurrence is kept, undelivered ones unaffected."""
    q = Queue()
    q.raise_(ev.M_DOWNLOAD, "a")
    q.raise_(ev.M_DOWNLOAD, "b")
    assert q.codes().count(("M Download", "a")) == 1
    assert q.codes().count(("M Download", "b")) == 1
    assert q.codes().count(("7 TRANSFER COMPLETE", "")) == 1


def test_m_reboot_travels_with_boot() -> None:
    """TR-069 §3.7.1.5: Reboot RPC → "1 BOOT" + "M Reboot" with the CommandKey."""
    q = Queue()
    q.raise_(ev.M_REBOOT, "k1")
    q.raise_(ev.M_REBOOT, "k2")
    assert sorted(q.codes()) == [("1 BOOT", ""), ("M Reboot", "k1"), ("M Reboot", "k2")]


def test_m_schedule_inform_travels_with_scheduled() -> None:
    """Table 7: "3 SCHEDULED" is only used with "M ScheduleInform"."""
    q = Queue()
    q.raise_(ev.M_SCHEDULE_INFORM, "s")
    assert sorted(q.codes()) == [("3 SCHEDULED", ""), ("M ScheduleInform", "s")]
    lonely = [PendingEvent(1, ev.SCHEDULED)]
    sent, _ = ev.inform_events(lonely)
    assert sent == []


def test_transfer_complete_needs_a_method_event() -> None:
    """Table 7: "7 TRANSFER COMPLETE" is only used with "M Download"/"M Upload"."""
    sent, _ = ev.inform_events([PendingEvent(1, ev.TRANSFER_COMPLETE)])
    assert sent == []
    q = Queue()
    q.raise_(ev.M_UPLOAD, "u")
    sent, _ = ev.inform_events(q.items)
    assert {e.code for e in sent} == {"7 TRANSFER COMPLETE", "M Upload"}


def test_bootstrap_discards_every_other_undelivered_event() -> None:
    """Table 7 BOOTSTRAP row: all other undelivered events MUST be discarded."""
    q = Queue()
    for code in (ev.PERIODIC, ev.VALUE_CHANGE, ev.BOOT):
        q.raise_(code)
    q.raise_(ev.M_DOWNLOAD, "d")
    q.raise_(ev.BOOTSTRAP)
    assert q.codes() == [("0 BOOTSTRAP", "")]
    q.raise_(ev.BOOT)  # raised together on a factory-fresh boot: both travel
    assert sorted(q.codes()) == [("0 BOOTSTRAP", ""), ("1 BOOT", "")]


def test_bootstrap_never_discarded_after_failure_or_reboot() -> None:
    """Table 7: the CPE MUST NOT ever discard an undelivered BOOTSTRAP."""
    q = Queue()
    q.raise_(ev.BOOTSTRAP)
    q.apply(ev.after_failed_session(q.items))
    q.apply(ev.after_reboot(q.items))
    assert q.codes() == [("0 BOOTSTRAP", "")]


def test_connection_request_not_retried() -> None:
    """Table 7: "6 CONNECTION REQUEST" — the CPE MUST NOT retry delivery."""
    q = Queue()
    q.raise_(ev.CONNECTION_REQUEST)
    q.raise_(ev.PERIODIC)
    q.apply(ev.after_failed_session(q.items))
    assert q.codes() == [("2 PERIODIC", "")]


def test_failed_session_keeps_retryable_events() -> None:
    """Table 7: PERIODIC, SCHEDULED, BOOT, VALUE CHANGE, M codes are retried."""
    q = Queue()
    for code in (ev.BOOT, ev.PERIODIC, ev.VALUE_CHANGE, ev.DIAGNOSTICS_COMPLETE):
        q.raise_(code)
    q.raise_(ev.M_SCHEDULE_INFORM, "s")
    before = q.codes()
    q.apply(ev.after_failed_session(q.items))
    assert q.codes() == before


def test_reboot_discards_boot_value_change_and_diagnostics() -> None:
    """Table 7: BOOT, DIAGNOSTICS COMPLETE (and VALUE CHANGE) are retried until reboot."""
    q = Queue()
    for code in (ev.BOOT, ev.VALUE_CHANGE, ev.DIAGNOSTICS_COMPLETE, ev.PERIODIC):
        q.raise_(code)
    q.raise_(ev.M_DOWNLOAD, "d")
    q.apply(ev.after_reboot(q.items))
    assert sorted(q.codes()) == [
        ("2 PERIODIC", ""),
        ("7 TRANSFER COMPLETE", ""),
        ("M Download", "d"),
    ]


def test_inform_response_confirms_only_inform_confirmed_events() -> None:
    """Table 7: TRANSFER COMPLETE and M Download are confirmed by TransferCompleteResponse."""
    q = Queue()
    q.raise_(ev.PERIODIC)
    q.raise_(ev.M_DOWNLOAD, "d")
    q.raise_(ev.M_REBOOT, "r")
    sent, _ = ev.inform_events(q.items)
    q.apply(ev.confirmed_by_inform_response(sent))
    assert sorted(q.codes()) == [("7 TRANSFER COMPLETE", ""), ("M Download", "d")]


def test_transfer_complete_response_confirms_by_command_key() -> None:
    """A.3.3.2 + Table 7: each TransferCompleteResponse confirms its M Download; the last
    one also confirms "7 TRANSFER COMPLETE"."""
    q = Queue()
    q.raise_(ev.M_DOWNLOAD, "a")
    q.raise_(ev.M_UPLOAD, "b")
    q.apply(ev.confirmed_by_transfer_complete_response(q.items, ev.M_DOWNLOAD, "a"))
    assert sorted(q.codes()) == [("7 TRANSFER COMPLETE", ""), ("M Upload", "b")]
    q.apply(ev.confirmed_by_transfer_complete_response(q.items, ev.M_UPLOAD, "b"))
    assert q.codes() == []


def test_over_64_events_drops_oldest_method_events() -> None:
    """A.3.3.1 Table 34: more than 64 events → discard the oldest "M" events."""
    q = Queue()
    q.raise_(ev.PERIODIC)
    for i in range(70):
        q.raise_(ev.M_REBOOT, str(i))
    sent, dropped = ev.inform_events(q.items)
    assert len(sent) == 64
    keys = [e.command_key for e in sent if e.code == ev.M_REBOOT]
    assert keys[0] == "8" and keys[-1] == "69"
    assert {e.code for e in sent} >= {"2 PERIODIC", "1 BOOT"}
    assert len(dropped.remove) == 8


def test_vendor_events_follow_vendor_defaults() -> None:
    """Table 7 vendor rows: "M X_…" accumulates, "X <OUI> …" is single."""
    q = Queue()
    q.raise_("M X_012345_Foo", "a")
    q.raise_("M X_012345_Foo", "b")
    q.raise_("X 012345 Bar")
    q.raise_("X 012345 Bar")
    assert len(q.codes()) == 3
