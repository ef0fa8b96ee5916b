"""Inform event rules of TR-069 §3.7.1.5 (Table 7), as data plus pure queue operations.

`EVENT_RULES` has one row per Table 7 event code so each row can be read against the spec:
cumulative behaviour (Single/Multiple), which ACS response confirms delivery, what happens
to an undelivered event, and the partner code a method ("M ...") event travels with.

The functions below never touch storage: they take the pending events (oldest first) and
say which to drop and which to add. `proxier.cwmp.store` applies that change atomically.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

BOOTSTRAP = "0 BOOTSTRAP"
BOOT = "1 BOOT"
PERIODIC = "2 PERIODIC"
SCHEDULED = "3 SCHEDULED"
VALUE_CHANGE = "4 VALUE CHANGE"
KICKED = "5 KICKED"
CONNECTION_REQUEST = "6 CONNECTION REQUEST"
TRANSFER_COMPLETE = "7 TRANSFER COMPLETE"
DIAGNOSTICS_COMPLETE = "8 DIAGNOSTICS COMPLETE"
REQUEST_DOWNLOAD = "9 REQUEST DOWNLOAD"
AUTONOMOUS_TRANSFER_COMPLETE = "10 AUTONOMOUS TRANSFER COMPLETE"
M_REBOOT = "M Reboot"
M_SCHEDULE_INFORM = "M ScheduleInform"
M_DOWNLOAD = "M Download"
M_UPLOAD = "M Upload"
M_SCHEDULE_DOWNLOAD = "M ScheduleDownload"

#: Inform's Event array holds at most 64 EventStructs (TR-069 Table 34).
MAX_INFORM_EVENTS = 64


class Cumulative(Enum):
    """Table 7 "Cumulative Behavior"."""

    SINGLE = "Single"  # at most one in the next Inform
    MULTIPLE = "Multiple"  # one per occurrence (per CommandKey)


class Confirmation(Enum):
    """Table 7 "ACS Response for Successful Delivery"."""

    INFORM_RESPONSE = "InformResponse"
    TRANSFER_COMPLETE_RESPONSE = "TransferCompleteResponse"
    AUTONOMOUS_TRANSFER_COMPLETE_RESPONSE = "AutonomousTransferCompleteResponse"
    KICKED_RESPONSE = "KickedResponse"
    REQUEST_DOWNLOAD_RESPONSE = "RequestDownloadResponse"


class Retention(Enum):
    """Table 7 "Retry/Discard Policy" for an undelivered event."""

    NEVER_DISCARD = "never discard"  # (still discarded by a new BOOTSTRAP, see below)
    UNTIL_REBOOT = "retry until reboot"
    UNTIL_REBOOT_OR_URL_CHANGE = "retry until reboot or ACS URL change"
    NO_RETRY = "must not retry"
    DISCRETION = "may retry at CPE discretion"  # we keep it until reboot


@dataclass(frozen=True, slots=True)
class EventRule:
    code: str
    cumulative: Cumulative
    confirmed_by: Confirmation
    retention: Retention
    #: Code that MUST accompany this one ("M Reboot" → "1 BOOT" …), added with it.
    partner: str | None = None
    #: This code MUST only be used together with one of these (Table 7 explanation column).
    only_with: tuple[str, ...] = ()


S, M = Cumulative.SINGLE, Cumulative.MULTIPLE
IR, TCR = Confirmation.INFORM_RESPONSE, Confirmation.TRANSFER_COMPLETE_RESPONSE
NEVER, UNTIL_BOOT = Retention.NEVER_DISCARD, Retention.UNTIL_REBOOT

#: TR-069 Table 7 (Amendment 2) plus the CWMP 1.2 "M ScheduleDownload" (reference §4.3).
EVENT_RULES: dict[str, EventRule] = {
    r.code: r
    for r in (
        EventRule(BOOTSTRAP, S, IR, NEVER),
        EventRule(BOOT, S, IR, UNTIL_BOOT),
        EventRule(PERIODIC, S, IR, NEVER),
        EventRule(SCHEDULED, S, IR, NEVER, only_with=(M_SCHEDULE_INFORM,)),
        EventRule(VALUE_CHANGE, S, IR, Retention.UNTIL_REBOOT_OR_URL_CHANGE),
        EventRule(KICKED, S, Confirmation.KICKED_RESPONSE, Retention.DISCRETION),
        EventRule(CONNECTION_REQUEST, S, IR, Retention.NO_RETRY),
        EventRule(
            TRANSFER_COMPLETE,
            S,
            TCR,
            NEVER,
            only_with=(M_DOWNLOAD, M_UPLOAD, M_SCHEDULE_DOWNLOAD),
        ),
        EventRule(DIAGNOSTICS_COMPLETE, S, IR, UNTIL_BOOT),
        EventRule(
            REQUEST_DOWNLOAD, S, Confirmation.REQUEST_DOWNLOAD_RESPONSE, Retention.DISCRETION
        ),
        EventRule(
            AUTONOMOUS_TRANSFER_COMPLETE,
            S,
            Confirmation.AUTONOMOUS_TRANSFER_COMPLETE_RESPONSE,
            NEVER,
        ),
        EventRule(M_REBOOT, M, IR, NEVER, partner=BOOT),
        EventRule(M_SCHEDULE_INFORM, M, IR, NEVER, partner=SCHEDULED),
        EventRule(M_DOWNLOAD, M, TCR, NEVER, partner=TRANSFER_COMPLETE),
        EventRule(M_UPLOAD, M, TCR, NEVER, partner=TRANSFER_COMPLETE),
        EventRule(M_SCHEDULE_DOWNLOAD, M, TCR, NEVER, partner=TRANSFER_COMPLETE),
    )
}

#: Vendor events ("M X_…", "X <OUI> …"): Table 7 leaves everything to the vendor; ours are
#: confirmed by the InformResponse, cumulative like the standard family they belong to, and
#: kept until reboot.
_VENDOR_METHOD = EventRule("M", M, IR, UNTIL_BOOT)
_VENDOR_EVENT = EventRule("X", S, IR, UNTIL_BOOT)


def rule(code: str) -> EventRule:
    """The Table 7 row for `code` (vendor codes get the vendor default)."""
    found = EVENT_RULES.get(code)
    if found is not None:
        return found
    return _VENDOR_METHOD if code.startswith("M ") else _VENDOR_EVENT


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """One undelivered event as stored: `seq` orders events and identifies this occurrence."""

    seq: int
    code: str
    command_key: str = ""


@dataclass(frozen=True, slots=True)
class EventChange:
    """What to do to the pending queue: drop these seqs, then append these (code, key)."""

    remove: frozenset[int] = frozenset()
    add: tuple[tuple[str, str], ...] = ()

    def __or__(self, other: EventChange) -> EventChange:
        return EventChange(self.remove | other.remove, self.add + other.add)


def raise_event(pending: Sequence[PendingEvent], code: str, command_key: str = "") -> EventChange:
    """An event occurred (§3.7.1.5 cumulative behaviour, BOOTSTRAP discard rule).

    - Single: the next Inform holds one instance; an undelivered one is replaced by the new
      occurrence (so an Inform already in flight does not confirm this later occurrence).
    - Multiple: appended independently of undelivered events of the same code.
    - A method event brings its partner code ("M Reboot" + "1 BOOT" …).
    - "0 BOOTSTRAP": all other undelivered events are discarded (Table 7, BOOTSTRAP row).
    """
    r = rule(code)
    remove: set[int] = set()
    add: list[tuple[str, str]] = []
    if code == BOOTSTRAP:
        remove.update(e.seq for e in pending)
    elif r.cumulative is Cumulative.SINGLE:
        remove.update(e.seq for e in pending if e.code == code)
    add.append((code, command_key if r.cumulative is Cumulative.MULTIPLE else ""))
    if r.partner is not None:
        remove.update(e.seq for e in pending if e.code == r.partner)
        add.append((r.partner, ""))
    return EventChange(frozenset(remove), tuple(add))


def _discard(pending: Iterable[PendingEvent], retentions: set[Retention]) -> EventChange:
    return EventChange(frozenset(e.seq for e in pending if rule(e.code).retention in retentions))


def after_failed_session(pending: Sequence[PendingEvent]) -> EventChange:
    """Delivery failed: drop the events that MUST NOT be retried ("6 CONNECTION REQUEST")."""
    return _discard(pending, {Retention.NO_RETRY})


def after_reboot(pending: Sequence[PendingEvent]) -> EventChange:
    """The device rebooted: drop events retried only "until it reboots" (BOOT, VALUE CHANGE,
    DIAGNOSTICS COMPLETE) and the discretionary ones; the caller then raises "1 BOOT"."""
    return _discard(
        pending,
        {
            Retention.UNTIL_REBOOT,
            Retention.UNTIL_REBOOT_OR_URL_CHANGE,
            Retention.DISCRETION,
            Retention.NO_RETRY,
        },
    )


def after_acs_url_change(pending: Sequence[PendingEvent]) -> EventChange:
    """The ACS URL changed: "0 BOOTSTRAP" follows, which discards every other event."""
    return raise_event(pending, BOOTSTRAP)


def inform_events(pending: Sequence[PendingEvent]) -> tuple[list[PendingEvent], EventChange]:
    """The Event array for the next Inform and the events dropped to build it.

    Codes that may only travel with a partner ("3 SCHEDULED", "7 TRANSFER COMPLETE") are
    left out when no partner is pending; over 64 events, the oldest "M" events are
    discarded (TR-069 Table 34).
    """
    codes = {e.code for e in pending}
    events = [
        e
        for e in pending
        if not rule(e.code).only_with or any(c in codes for c in rule(e.code).only_with)
    ]
    dropped: set[int] = set()
    excess = len(events) - MAX_INFORM_EVENTS
    if excess > 0:
        oldest_m = [e.seq for e in events if e.code.startswith("M ")][:excess]
        dropped.update(oldest_m)
        events = [e for e in events if e.seq not in dropped]
        events = events[:MAX_INFORM_EVENTS]
    return events, EventChange(frozenset(dropped))


def confirmed_by_inform_response(sent: Sequence[PendingEvent]) -> EventChange:
    """The InformResponse arrived: the sent events it confirms are delivered."""
    return EventChange(
        frozenset(e.seq for e in sent if rule(e.code).confirmed_by is Confirmation.INFORM_RESPONSE)
    )


def confirmed_by_transfer_complete_response(
    pending: Sequence[PendingEvent], method_code: str, command_key: str
) -> EventChange:
    """A TransferCompleteResponse confirms one "M Download"/"M Upload" (by CommandKey); the
    "7 TRANSFER COMPLETE" goes with the last method event it was raised for."""
    remove: set[int] = set()
    for e in pending:
        if e.code == method_code and e.command_key == command_key:
            remove.add(e.seq)
            break
    left = [e for e in pending if e.seq not in remove and rule(e.code).partner == TRANSFER_COMPLETE]
    if not left:
        remove.update(e.seq for e in pending if e.code == TRANSFER_COMPLETE)
    return EventChange(frozenset(remove))


def confirmed_by_autonomous_transfer_complete_response(
    pending: Sequence[PendingEvent],
) -> EventChange:
    """An AutonomousTransferCompleteResponse confirms "10 AUTONOMOUS TRANSFER COMPLETE"."""
    return EventChange(frozenset(e.seq for e in pending if e.code == AUTONOMOUS_TRANSFER_COMPLETE))
