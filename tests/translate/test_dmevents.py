"""TR-330 §4.2.1 Table 1 rows 4, 7, 8 and 10 read from `mappings/table1_events.toml`: what
happened on the device → the Inform events, and a changed table changes the behaviour."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from proxier.cwmp.backend import ValueChange
from proxier.cwmp.rpc import (
    AutonomousTransferComplete,
    FaultStruct,
    ParameterValueStruct,
    SetParameterAttributesStruct,
    TransferComplete,
)
from proxier.lab.local import LocalDmDevice
from proxier.translate.backend import UpnpBackend
from proxier.translate.dmevents import CONFIGURATION_UPDATE, DmEvents
from proxier.translate.instances import InstanceStore
from proxier.translate.tables import MappingError, Tables, default_tables, load_tables

from .conftest import PROXIER, table1_variant
from .labnet import lab_rig

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TC = TransferComplete("fw-1", FaultStruct(), T0, T0)
ATC = AutonomousTransferComplete(
    "", "http://x/fw", True, "1 Firmware Upgrade Image", 0, "", FaultStruct(), T0, T0
)


class Engine:
    """Records what DmEvents hands the CWMP engine."""

    def __init__(self, tables: Tables) -> None:
        self.raised: list[tuple[str, str]] = []
        self.transfers: list[TransferComplete] = []
        self.autonomous: list[AutonomousTransferComplete] = []
        self.events = DmEvents(tables.events)
        self.events.raise_event = lambda code, key: self.raised.append((code, key))
        self.events.on_transfer_complete = self.transfers.append
        self.events.on_autonomous_complete = self.autonomous.append


def test_shipped_table_rows_7_8_10() -> None:
    """TR-330 Table 1 rows 7, 8, 10 as shipped: a finished ACS test → "8 DIAGNOSTICS
    COMPLETE"; a finished ACS operation → its TransferComplete (the engine adds "7 TRANSFER
    COMPLETE" + "M Download"); another control point's firmware → its
    AutonomousTransferComplete ("10 AUTONOMOUS TRANSFER COMPLETE")."""
    e = Engine(default_tables())
    e.events.test_finished()
    assert e.raised == [("8 DIAGNOSTICS COMPLETE", "")]
    e.events.operation_finished(TC)
    e.events.autonomous_firmware_finished(ATC)
    assert e.transfers == [TC] and e.autonomous == [ATC]
    assert e.raised == [("8 DIAGNOSTICS COMPLETE", "")]  # nothing else raised plainly
    assert e.events.occurred(CONFIGURATION_UPDATE)  # row 4: the values go to the engine


def test_removed_rows_raise_nothing(tmp_path: Path) -> None:
    """Table 1 is the source: without rows 8, 7 (+ M Download), 10 and 4 the same
    occurrences reach the engine as nothing at all."""
    drop = (
        "8 DIAGNOSTICS COMPLETE",
        "7 TRANSFER COMPLETE",
        "M Download",
        "10 AUTONOMOUS TRANSFER COMPLETE",
        "4 VALUE CHANGE",
    )
    e = Engine(load_tables(table1_variant(tmp_path, drop=drop)))
    e.events.test_finished()
    e.events.operation_finished(TC)
    e.events.autonomous_firmware_finished(ATC)
    assert not e.events.occurred(CONFIGURATION_UPDATE)
    assert (e.raised, e.transfers, e.autonomous) == ([], [], [])


def test_moved_row_raises_elsewhere(tmp_path: Path) -> None:
    """Row 8 tied to another trigger: a finished test raises nothing, a finished Download
    now brings "8 DIAGNOSTICS COMPLETE" along with its TransferComplete."""
    d = table1_variant(
        tmp_path,
        replace='on = "BMS:ActiveTestIDs"\nwhen = ["acs_test_finished"]'
        '→on = "SMS:OperationIDs"\nwhen = ["acs_operation_finished"]',
    )
    e = Engine(load_tables(d))
    e.events.test_finished()
    assert e.raised == []
    e.events.operation_finished(TC)
    assert e.raised == [("8 DIAGNOSTICS COMPLETE", "")] and e.transfers == [TC]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            'event = "8 DIAGNOSTICS COMPLETE"\non = "BMS:ActiveTestIDz"\nwhen = ["always"]',
            "unknown trigger 'BMS:ActiveTestIDz'",
        ),
        (
            'event = "8 DIAGNOSTICS COMPLETE"\non = "BMS:ActiveTestIDs"\nwhen = ["test_done"]',
            "unknown condition 'test_done'",
        ),
        (
            'event = "1 BOOT"\non = "ssdp:byebye"\nwhen = ["always"]',
            "unknown trigger 'ssdp:byebye'",
        ),
        (
            'event = "8 DIAGNOSTICS COMPLETE"\non = "SMS:OperationIDs"\n'
            'when = ["acs_test_finished"]',
            "condition 'acs_test_finished' never holds on 'SMS:OperationIDs'",
        ),
        (
            'event = "10 AUTONOMOUS TRANSFER COMPLETE"\non = "BMS:ActiveTestIDs"\n'
            'when = ["acs_test_finished"]',
            "only that trigger and condition may raise it",
        ),
        (
            'event = "8 DIAGNOSTICS COMPLETE"\non = "ssdp:alive"\nwhen = ["announced:Nope"]',
            "unknown condition 'announced:Nope'",
        ),
        (
            'event = "8 DIAGNOSTICS COMPLETE"\non = "BMS:ActiveTestIDs"\n'
            'when = ["acs_test_finished"]\ncommand_key = "operation"',
            "command_key 'operation' exists only when 'acs_operation_finished'",
        ),
    ],
)
def test_bad_row_is_refused_with_its_number(tmp_path: Path, row: str, message: str) -> None:
    """Unknown or impossible `on`/`when` values fail at load, naming file and row."""
    n = len(default_tables().events.rows) + 1
    d = table1_variant(tmp_path, append=f"\n[[row]]\n{row}\n")
    with pytest.raises(MappingError) as exc:
        load_tables(d)
    assert f"table1_events.toml: [[row]] row {n}: " in str(exc.value)
    assert message in str(exc.value)


def test_transfer_pair_stays_together(tmp_path: Path) -> None:
    """TR-069 Table 7: "7 TRANSFER COMPLETE" travels only with "M Download"; a table with
    one of them is refused, as is "M Download" without the Download's CommandKey."""
    with pytest.raises(MappingError, match="go together"):
        load_tables(table1_variant(tmp_path / "a", drop=("M Download",)))
    d = table1_variant(tmp_path / "b", replace='command_key = "operation"\n→')
    with pytest.raises(MappingError, match="'M Download' needs the command_key"):
        load_tables(d)


async def test_row_8_removed_the_test_completes_without_event(tmp_path: Path) -> None:
    """TR-330 §4.5.1 with Table 1 row 8 removed: the BMS Ping of an ACS request still runs to
    Complete on a lab device over loopback, but no "8 DIAGNOSTICS COMPLETE" is raised."""
    tables = load_tables(table1_variant(tmp_path, drop=("8 DIAGNOSTICS COMPLETE",)))
    ping = "Device.IP.Diagnostics.IPPing."
    async with lab_rig(services=("BMS",)) as rig:
        store = InstanceStore(tmp_path / "i.sqlite")
        backend = UpnpBackend(
            rig.device, instance_store=store, proxier_info=PROXIER, timeout=5, tables=tables
        )
        raised: list[tuple[str, str]] = []
        backend.set_event_listener(lambda code, key: raised.append((code, key)))
        rig.sinks.append(lambda e: asyncio.ensure_future(backend.handle_event(e)))
        try:
            await backend.set_parameter_values(
                [
                    ParameterValueStruct(ping + "Host", "127.0.0.1"),
                    ParameterValueStruct(ping + "DiagnosticsState", "Requested"),
                ],
                "k",
            )
            await backend.after_session()
            await asyncio.wait_for(backend.operations.diagnostics.wait_idle(), 10)
            got = await backend.get_parameter_values([ping + "DiagnosticsState"])
            assert got[0].value == "Complete"
            assert raised == []
        finally:
            await backend.close()
            store.close()


@pytest.mark.parametrize("heard", [True, False], ids=["event", "events-restart"])
async def test_row_4_decides_whether_device_changes_are_reported(
    tmp_path: Path, device: LocalDmDevice, store: InstanceStore, heard: bool
) -> None:
    """TR-330 §4.6.5.2.1 and Table 1 row 4: a notified parameter changes on the device. Heard
    as a CMS ConfigurationUpdate, or found when events (re)start (a change made while nobody
    listened, TR-069 §3.7.1.5), it reaches the engine with the shipped table and not with
    row 4 removed."""
    seen: list[list[ValueChange]] = []
    for tables, expect in (
        (load_tables(table1_variant(tmp_path, drop=("4 VALUE CHANGE",))), 0),
        (default_tables(), 1),
    ):
        backend = UpnpBackend(
            device, instance_store=store, proxier_info=PROXIER, timeout=5.0, tables=tables
        )
        seen.clear()
        backend.set_listeners(lambda changes: seen.append(list(changes)), lambda _tc: None)
        events = device.events()
        await backend.handle_event(await anext(events))  # the initial event: a baseline
        name = "Device.Hosts.Host.1.HostName"
        await backend.set_parameter_attributes([SetParameterAttributesStruct(name, True, 2, False)])
        device.model.device_set({"/BBF/Hosts/Host/0/HostName": f"laptop{expect}{heard}"})
        if heard:
            while "ConfigurationUpdate" not in (event := await anext(events)).variables:
                await backend.handle_event(event)
            await backend.handle_event(event)
        else:
            await backend.discover_notified()  # as when a restarted proxier's events begin
        assert len(seen) == expect
        await backend.close()
