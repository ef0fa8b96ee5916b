"""TR-330 Table 1: announcements and DM events → Inform events (pure function)."""

from __future__ import annotations

from proxier.cwmp.rpc import EventStruct
from proxier.translate.events import (
    AcsUrlChanged,
    Announcement,
    EventState,
    inform_events,
    parse_ids,
)
from proxier.upnp.device import DmEvent

ALIVE = Announcement("ssdp:alive")


def codes(events: list[EventStruct]) -> list[tuple[str, str]]:
    return [(e.event_code, e.command_key) for e in events]


def test_first_discovery_is_bootstrap() -> None:
    """Table 1 row 0: first ssdp:alive → "0 BOOTSTRAP" (+ "1 BOOT", issue 4)."""
    events, state = inform_events(ALIVE, EventState())
    assert codes(events) == [("0 BOOTSTRAP", ""), ("1 BOOT", "")]
    assert state.known
    again, _ = inform_events(ALIVE, state)
    assert again == []  # a re-advertisement is not a new boot


def test_baseline_reset_announcement_then_alive_is_bootstrap() -> None:
    """Table 1 row 0: byebye with AboutToBaselineReset cached, then alive → "0 BOOTSTRAP"."""
    state = EventState(known=True)
    events, state = inform_events(Announcement("ssdp:byebye", "AboutToBaselineReset"), state)
    assert events == []
    events, state = inform_events(ALIVE, state)
    assert codes(events) == [("0 BOOTSTRAP", "")]
    assert state.announcements == frozenset()


def test_baseline_reset_with_reboot() -> None:
    """Table 1 row 1: a BaselineReset that reboots also announces AboutToReboot."""
    state = EventState(known=True)
    _, state = inform_events(Announcement("ssdp:byebye", "AboutToBaselineReset"), state)
    _, state = inform_events(Announcement("ssdp:byebye", "AboutToReboot"), state)
    events, _ = inform_events(ALIVE, state)
    assert codes(events) == [("0 BOOTSTRAP", ""), ("1 BOOT", "")]


def test_reboot_announcement_then_alive_is_boot() -> None:
    """Table 1 row 1: byebye with AboutToReboot cached, then alive → "1 BOOT" only."""
    state = EventState(known=True)
    _, state = inform_events(Announcement("ssdp:byebye", "AboutToReboot"), state)
    events, _ = inform_events(ALIVE, state)
    assert codes(events) == [("1 BOOT", "")]


def test_acs_reboot_adds_m_reboot_with_command_key() -> None:
    """Table 1 row 1: BMS::Reboot from the ACS's Reboot RPC → "1 BOOT" and "M Reboot"."""
    state = EventState(known=True).with_acs_reboot("ck-42")
    events, state = inform_events(ALIVE, state)
    assert events == []  # still up (no byebye, same BOOTID): not rebooted yet
    _, state = inform_events(Announcement("ssdp:byebye", "AboutToReboot"), state)
    events, state = inform_events(ALIVE, state)
    assert codes(events) == [("1 BOOT", ""), ("M Reboot", "ck-42")]
    assert state.acs_reboot is None


def test_acs_reboot_detected_by_boot_id() -> None:
    """Without byebye or announcement header, a new BOOTID shows the reboot happened."""
    state = EventState(known=True, boot_id=7).with_acs_reboot("ck")
    events, _ = inform_events(Announcement("ssdp:alive", boot_id=8), state)
    assert codes(events) == [("1 BOOT", ""), ("M Reboot", "ck")]


def test_acs_url_change_is_bootstrap() -> None:
    """Table 1 row 0: ACS URL of a Proxied Device modified → "0 BOOTSTRAP"."""
    events, _ = inform_events(AcsUrlChanged(), EventState(known=True))
    assert codes(events) == [("0 BOOTSTRAP", "")]


def test_configuration_update_is_value_change_candidate() -> None:
    """Table 1 row 4: CMS ConfigurationUpdate → "4 VALUE CHANGE" (confirmed by notify)."""
    events, _ = inform_events(
        DmEvent("CMS", {"ConfigurationUpdate": "3,2026-01-01T00:00:00Z"}), EventState(known=True)
    )
    assert codes(events) == [("4 VALUE CHANGE", "")]
    events, _ = inform_events(DmEvent("CMS", {"AlarmsEnabled": "1"}), EventState(known=True))
    assert events == []


def test_transfer_complete_when_acs_operation_leaves() -> None:
    """Table 1 row 7: an ACS-started OperationID removed → "7 TRANSFER COMPLETE" +
    "M Download" with the Download's CommandKey."""
    state = EventState(known=True).with_acs_operation(5, "fw-1")
    events, state = inform_events(DmEvent("SMS", {"OperationIDs": "5,6"}), state)
    assert events == []
    events, state = inform_events(DmEvent("SMS", {"OperationIDs": "6"}), state)
    assert codes(events) == [("7 TRANSFER COMPLETE", ""), ("M Download", "fw-1")]
    assert state.acs_operations == ()


def test_autonomous_transfer_complete() -> None:
    """Table 1 row 10: a firmware OperationID of another control point removed."""
    state = EventState(known=True).with_autonomous_firmware(9)
    events, state = inform_events(DmEvent("SMS", {"OperationIDs": ""}), state)
    assert codes(events) == [("10 AUTONOMOUS TRANSFER COMPLETE", "")]
    assert state.autonomous_firmware == frozenset()


def test_diagnostics_complete() -> None:
    """Table 1 row 8: an ACS-started TestID leaves ActiveTestIDs → "8 DIAGNOSTICS COMPLETE"."""
    state = EventState(known=True).with_acs_test(3)
    events, state = inform_events(DmEvent("BMS", {"ActiveTestIDs": "3"}), state)
    assert events == []
    events, state = inform_events(DmEvent("BMS", {"ActiveTestIDs": "4"}), state)
    assert codes(events) == [("8 DIAGNOSTICS COMPLETE", "")]
    # another control point's test finishing is not ours to report
    events, _ = inform_events(DmEvent("BMS", {"ActiveTestIDs": ""}), state)
    assert events == []


def test_parse_ids() -> None:
    assert parse_ids("1, 2,x,,30") == {1, 2, 30}
    assert parse_ids("") == set()
