"""TR-330 Table 1 as a pure function: UPnP DM events and SSDP announcements → Inform events.

`inform_events(trigger, state)` returns the EventStructs the Virtual CWMP Device's next
Inform must carry and the new per-device state; the rows come from
`mappings/table1_events.toml`, this module only evaluates their conditions. No I/O, no
clock: the lifecycle code feeds it discovery announcements and DM events and keeps the state
(it is small and frozen, so it can be persisted as it is).

"4 VALUE CHANGE" here is only the candidate of Table 1 row 4: which parameters changed, if
any, is decided by re-reading them (`proxier.translate.notify`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from proxier.cwmp.rpc import EventStruct
from proxier.translate.tables import EventRow, EventTable, default_tables
from proxier.upnp.device import DmEvent


@dataclass(frozen=True, slots=True)
class Announcement:
    """An SSDP message about the device: NTS, and the UPnP DM announcement header if any."""

    nts: str  # "ssdp:alive", "ssdp:byebye", "ssdp:update"
    dm_announcement: str = ""  # Announcement.dm.upnp.org value (AboutToReboot, …)
    boot_id: int | None = None  # BOOTID.UPNP.ORG, when the device sends it


@dataclass(frozen=True, slots=True)
class AcsUrlChanged:
    """The ACS URL of this Virtual CWMP Device was changed (Table 1 row 0)."""


Trigger = Announcement | DmEvent | AcsUrlChanged


@dataclass(frozen=True, slots=True)
class EventState:
    """What Table 1 needs to remember about one proxied device between triggers."""

    known: bool = False  # discovered before (no more "first discovery")
    announcements: frozenset[str] = frozenset()  # cached from byebye until the next alive
    gone: bool = False  # a byebye was seen since the last alive
    boot_id: int | None = None
    acs_reboot: str | None = None  # CommandKey of a Reboot RPC sent to the device
    acs_operations: tuple[tuple[int, str], ...] = ()  # SMS OperationID → Download CommandKey
    autonomous_firmware: frozenset[int] = frozenset()  # firmware OperationIDs of other CPs
    acs_tests: frozenset[int] = frozenset()  # BMS TestIDs the ACS started

    def with_acs_reboot(self, command_key: str) -> EventState:
        return replace(self, acs_reboot=command_key)

    def with_acs_operation(self, operation_id: int, command_key: str) -> EventState:
        return replace(self, acs_operations=(*self.acs_operations, (operation_id, command_key)))

    def with_acs_test(self, test_id: int) -> EventState:
        return replace(self, acs_tests=self.acs_tests | {test_id})

    def with_autonomous_firmware(self, operation_id: int) -> EventState:
        return replace(self, autonomous_firmware=self.autonomous_firmware | {operation_id})


def parse_ids(value: str) -> set[int]:
    """A CSV list of ui4 IDs (SMS OperationIDs, BMS ActiveTestIDs); junk entries ignored."""
    out = set()
    for part in value.replace(" ", "").split(","):
        if part.isdigit():
            out.add(int(part))
    return out


def inform_events(
    trigger: Trigger, state: EventState, table: EventTable | None = None
) -> tuple[list[EventStruct], EventState]:
    """The Inform events `trigger` causes (Table 1) and the device's new state."""
    table = table if table is not None else default_tables().events
    if isinstance(trigger, AcsUrlChanged):
        return _emit(table.rows, "acs_url_changed", {"always"}, {}), state
    if isinstance(trigger, Announcement):
        return _announcement(trigger, state, table)
    return _dm_event(trigger, state, table)


def _announcement(
    a: Announcement, state: EventState, table: EventTable
) -> tuple[list[EventStruct], EventState]:
    if a.nts == "ssdp:byebye":
        cached = state.announcements
        if a.dm_announcement in table.cache_announcements:
            cached = cached | {a.dm_announcement}
        return [], replace(state, announcements=cached, gone=True)
    if a.nts != "ssdp:alive":
        return [], state
    rebooted = state.gone or (
        a.boot_id is not None and state.boot_id is not None and a.boot_id != state.boot_id
    )
    holds = {"always"}
    if not state.known:
        holds.add("first_discovery")
    holds.update(f"announced:{x}" for x in state.announcements)
    if state.acs_reboot is not None and rebooted:
        holds.add("acs_reboot")
    keys = {"reboot": [state.acs_reboot or ""]}
    events = _emit(table.rows, "ssdp:alive", holds, keys)
    new = replace(
        state,
        known=True,
        announcements=frozenset(),
        gone=False,
        boot_id=a.boot_id if a.boot_id is not None else state.boot_id,
        acs_reboot=None if "acs_reboot" in holds else state.acs_reboot,
    )
    return events, new


def _dm_event(
    event: DmEvent, state: EventState, table: EventTable
) -> tuple[list[EventStruct], EventState]:
    events: list[EventStruct] = []
    for variable, value in event.variables.items():
        on = f"{event.service}:{variable}"
        holds = {"always"}
        keys: dict[str, list[str]] = {}
        if on == "SMS:OperationIDs":
            active = parse_ids(value)
            finished = [(op, key) for op, key in state.acs_operations if op not in active]
            if finished:
                holds.add("acs_operation_finished")
                keys["operation"] = [key for _, key in finished]
            auto_done = {op for op in state.autonomous_firmware if op not in active}
            if auto_done:
                holds.add("autonomous_firmware_finished")
            state = replace(
                state,
                acs_operations=tuple((op, k) for op, k in state.acs_operations if op in active),
                autonomous_firmware=state.autonomous_firmware - auto_done,
            )
        elif on == "BMS:ActiveTestIDs":
            active = parse_ids(value)
            if state.acs_tests - active:
                holds.add("acs_test_finished")
            state = replace(state, acs_tests=state.acs_tests & active)
        for ev in _emit(table.rows, on, holds, keys):
            if ev not in events:
                events.append(ev)
    return events, state


def _emit(
    rows: tuple[EventRow, ...], on: str, holds: set[str], keys: dict[str, list[str]]
) -> list[EventStruct]:
    """EventStructs of the rows for `on` whose conditions hold (each code once; M codes
    once per CommandKey)."""
    out: list[EventStruct] = []
    for row in rows:
        if row.on != on or not any(c in holds for c in row.when):
            continue
        for key in keys.get(row.command_key, [""]) if row.command_key else [""]:
            ev = EventStruct(row.event, key)
            if ev not in out:
                out.append(ev)
    return out
