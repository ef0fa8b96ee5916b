"""AutonomousTransferComplete from the CPE (TR-069 A.3.3.3, Table 7 "10 AUTONOMOUS TRANSFER
COMPLETE", TR-330 §4.7.1.3): the AutonomousTransferCompletePolicy filter, and the engine
keeping, sending and confirming them against a scripted ACS peer speaking real SOAP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from proxier.cwmp import autonomous
from proxier.cwmp.engine import CpeEngine, EngineConfig
from proxier.cwmp.memory import device2_backend
from proxier.cwmp.mount import MountedBackend
from proxier.cwmp.rpc import (
    UNKNOWN_TIME,
    AutonomousTransferComplete,
    Envelope,
    Fault,
    FaultStruct,
    InformResponse,
    ParameterValueStruct,
    SetParameterValues,
    SetParameterValuesResponse,
)
from proxier.cwmp.store import DeviceStore
from proxier.cwmp.transport import AcsReply
from tests.cwmp import engine_rig
from tests.cwmp.acs_peer import ScriptedAcs
from tests.cwmp.engine_rig import DEVICE, T0, URL, Clock, codes, make_device

MS = "Device.ManagementServer."
TEN = ("10 AUTONOMOUS TRANSFER COMPLETE", "")

FIRMWARE_OK = AutonomousTransferComplete(
    announce_url="",
    transfer_url="http://127.0.0.1:1/fw-2.0.bin",
    is_download=True,
    file_type="1 Firmware Upgrade Image",
    file_size=0,
    target_file_name="",
    fault_struct=FaultStruct(),
    start_time=datetime(2026, 11, 21, 17, 0, 1, 250000, tzinfo=UTC),
    complete_time=datetime(2026, 11, 21, 17, 2, 3, tzinfo=UTC),
)
FIRMWARE_FAILED = replace(
    FIRMWARE_OK,
    fault_struct=FaultStruct(9010, "Download failure"),
    start_time=UNKNOWN_TIME,
    complete_time=UNKNOWN_TIME,
)


class Device(engine_rig.Device):
    async def set_policy(self, **leaves: str) -> None:
        """The ACS writes AutonomousTransferCompletePolicy.<leaf> in one SPV session."""
        plist = tuple(
            ParameterValueStruct(
                MS + autonomous.POLICY + leaf,
                value,
                "xsd:boolean" if leaf == "Enable" else "xsd:string",
            )
            for leaf, value in leaves.items()
        )
        acs = ScriptedAcs()
        acs.queue(SetParameterValues(plist, "policy"))
        await self.session(acs)
        assert acs.responses() == [SetParameterValuesResponse(0)]


@pytest.fixture
def device(tmp_path: Path) -> Iterator[Device]:
    d = make_device(tmp_path / "state" / "dev.sqlite", Clock(), Device)
    assert isinstance(d, Device)
    d.engine.device_booted(d.clock.now)
    yield d
    d.store.close()


def sent_atcs(acs: ScriptedAcs) -> list[AutonomousTransferComplete]:
    return [b for b in acs.bodies() if isinstance(b, AutonomousTransferComplete)]


# --- the policy (TR-181 ManagementServer.AutonomousTransferCompletePolicy) ------------------


def policy(**leaves: str) -> dict[str, str]:
    settings = dict(autonomous.POLICY_DEFAULTS)
    settings.update({autonomous.POLICY + k: v for k, v in leaves.items()})
    return settings


@pytest.mark.parametrize(
    ("leaves", "atc", "expected"),
    [
        ({}, FIRMWARE_OK, False),  # disabled by default
        ({"Enable": "true"}, FIRMWARE_OK, True),  # defaults: firmware, both results
        ({"Enable": "1"}, FIRMWARE_FAILED, True),
        ({"Enable": "true", "TransferTypeFilter": "Upload"}, FIRMWARE_OK, False),
        ({"Enable": "true", "TransferTypeFilter": "Download"}, FIRMWARE_OK, True),
        ({"Enable": "true", "ResultTypeFilter": "Success"}, FIRMWARE_FAILED, False),
        ({"Enable": "true", "ResultTypeFilter": "Failure"}, FIRMWARE_FAILED, True),
        ({"Enable": "true", "ResultTypeFilter": "Failure"}, FIRMWARE_OK, False),
        ({"Enable": "true", "FileTypeFilter": ""}, FIRMWARE_OK, False),  # empty: nothing
        (
            {"Enable": "true", "FileTypeFilter": "2 Web Content, 1 Firmware Upgrade Image"},
            FIRMWARE_OK,
            True,
        ),
        ({"Enable": "true", "FileTypeFilter": "3 Vendor Configuration File"}, FIRMWARE_OK, False),
    ],
)
def test_policy_filter(
    leaves: dict[str, str], atc: AutonomousTransferComplete, expected: bool
) -> None:
    """TR-181 AutonomousTransferCompletePolicy (reference §3.1): Enable, TransferTypeFilter,
    ResultTypeFilter (Success = FaultCode 0) and FileTypeFilter (an empty list reports
    nothing) decide which autonomous transfers are reported."""
    settings = policy(**leaves)
    assert autonomous.reported(lambda leaf: settings[leaf], atc) is expected


# --- the engine ----------------------------------------------------------------------------


async def test_disabled_policy_reports_nothing(device: Device) -> None:
    """TR-330 §4.7.1.3: with the policy disabled (the default) an autonomous transfer is
    neither stored nor announced: no session is due and no event is pending."""
    await device.session(ScriptedAcs())
    device.backend.autonomous_transfer_external(FIRMWARE_OK)
    assert not device.engine.handle_timer(device.clock.now)
    assert device.store.events() == [] and device.store.autonomous_transfers() == []


async def test_autonomous_transfer_complete_delivered_and_confirmed(device: Device) -> None:
    """Table 7 / A.3.3.3: "10 AUTONOMOUS TRANSFER COMPLETE" in the Inform, then the
    AutonomousTransferComplete (all Table 41 arguments) before the empty POST; its
    AutonomousTransferCompleteResponse (not the InformResponse) confirms the event."""
    await device.set_policy(Enable="true")
    device.backend.autonomous_transfer_external(FIRMWARE_OK)
    assert [e.code for e in device.store.events()] == [TEN[0]]
    assert device.engine.handle_timer(device.clock.now)
    acs = ScriptedAcs()
    seen_after_inform: list[list[str]] = []

    def watch(env: Envelope | None) -> AcsReply | None:
        if env is not None and isinstance(env.body, AutonomousTransferComplete):
            # InformResponse already received: the event is still pending until the ATCR.
            seen_after_inform.append([e.code for e in device.store.events()])
        return None

    acs.override = watch
    inform = await device.session(acs)
    assert codes(inform) == {TEN}
    names = [None if b is None else type(b).__name__ for b in acs.bodies()]
    assert names == ["Inform", "AutonomousTransferComplete", None]
    assert sent_atcs(acs) == [FIRMWARE_OK]
    assert seen_after_inform == [[TEN[0]]]
    assert device.store.events() == [] and device.store.autonomous_transfers() == []
    assert not device.engine.handle_timer(device.clock.now)


async def test_fault_keeps_it_for_the_next_session(device: Device) -> None:
    """A.3.3.3: if AutonomousTransferComplete fails the ACS is not informed: both reports
    are sent, the faulted one (and the event, never discarded per Table 7) stays for the
    next session, the confirmed one is not sent again."""
    await device.set_policy(Enable="true")
    device.backend.autonomous_transfer_external(FIRMWARE_OK)
    device.backend.autonomous_transfer_external(FIRMWARE_FAILED)

    def refuse_failed(env: Envelope | None) -> AcsReply | None:
        if env is not None and env.body == FIRMWARE_FAILED:
            return acs.reply(Fault(8002, "Internal error"), cwmp_id=env.cwmp_id)
        return None

    acs = ScriptedAcs(override=refuse_failed)
    inform = await device.session(acs)
    assert codes(inform) == {TEN}
    assert sent_atcs(acs) == [FIRMWARE_OK, FIRMWARE_FAILED]
    assert [atc for _, atc in device.store.autonomous_transfers()] == [FIRMWARE_FAILED]
    assert [e.code for e in device.store.events()] == [TEN[0]]
    acs2 = ScriptedAcs()
    inform = await device.session(acs2)
    assert codes(inform) == {TEN}
    assert sent_atcs(acs2) == [FIRMWARE_FAILED]
    assert device.store.events() == [] and device.store.autonomous_transfers() == []


async def test_failed_session_keeps_it_and_retries(device: Device) -> None:
    """§3.2.1.1 / Table 7: a session that fails after the InformResponse (no HTTP answer to
    the AutonomousTransferComplete) leaves the report and its event pending; the retry
    delivers them."""
    await device.set_policy(Enable="true")
    device.backend.autonomous_transfer_external(FIRMWARE_OK)

    def drop(env: Envelope | None) -> AcsReply | None:
        if env is not None and isinstance(env.body, AutonomousTransferComplete):
            return AcsReply(500, b"")
        return None

    result = await device.engine.run_session(ScriptedAcs(override=drop))
    assert not result.ok
    assert len(device.store.autonomous_transfers()) == 1
    timer = device.engine.get_timer()
    assert timer is not None
    device.clock.now = timer
    assert device.engine.handle_timer(device.clock.now)
    acs = ScriptedAcs()
    inform = await device.session(acs)
    assert codes(inform) == {TEN} and inform.retry_count == 1
    assert sent_atcs(acs) == [FIRMWARE_OK]
    assert device.store.autonomous_transfers() == []


async def test_undelivered_report_survives_restart(device: Device) -> None:
    """Table 7 ("MUST NOT ever discard") and A.3.3.3: the report is in the device store
    before the engine returns; a new process (same state file) informs at once with
    "10 AUTONOMOUS TRANSFER COMPLETE" and sends the identical AutonomousTransferComplete."""
    await device.set_policy(Enable="true")
    device.backend.autonomous_transfer_external(FIRMWARE_FAILED)
    device.backend.autonomous_transfer_external(FIRMWARE_OK)
    again = device.restart()
    try:
        assert again.engine.handle_timer(again.clock.now)
        acs = ScriptedAcs()
        inform = await again.session(acs)
        assert codes(inform) == {TEN}
        assert sent_atcs(acs) == [FIRMWARE_FAILED, FIRMWARE_OK]
        assert again.store.autonomous_transfers() == []
    finally:
        again.store.close()
        device.store = again.store


async def test_reported_during_session_waits_for_a_session_announcing_it(
    device: Device,
) -> None:
    """§3.7.1.5 (event 10 says AutonomousTransferComplete follows in that session) and
    A.3.3.3: a transfer that finishes while a session runs is not slipped into it, even
    once the ACS allows requests again (HoldRequests, §3.7.1.3); a new session is due at
    once, its Inform carries "10 AUTONOMOUS TRANSFER COMPLETE" and it delivers the call."""
    await device.set_policy(Enable="true")
    acs = ScriptedAcs()
    step = 0

    def script(env: Envelope | None) -> AcsReply | None:
        nonlocal step
        step += 1
        if step == 1:
            assert env is not None
            device.backend.autonomous_transfer_external(FIRMWARE_OK)
            return acs.reply(InformResponse(1), cwmp_id=env.cwmp_id, hold=True)
        return None

    acs.override = script
    inform = await device.session(acs)
    assert TEN not in codes(inform)
    assert sent_atcs(acs) == []
    assert device.engine.handle_timer(device.clock.now)  # the next session is due now
    again = ScriptedAcs()
    inform = await device.session(again)
    assert TEN in codes(inform)
    assert sent_atcs(again) == [FIRMWARE_OK]
    assert device.store.events() == [] and device.store.autonomous_transfers() == []


async def test_policy_filters_follow_spv_and_reject_bad_values(device: Device) -> None:
    """TR-181 AutonomousTransferCompletePolicy written by the ACS: ResultTypeFilter
    "Success" drops a failed transfer; a value outside the enumeration is refused with
    9003 + 9007 per parameter (A.3.2.1) and changes nothing."""
    await device.set_policy(Enable="true", ResultTypeFilter="Success")
    device.backend.autonomous_transfer_external(FIRMWARE_FAILED)
    assert device.store.autonomous_transfers() == []
    device.backend.autonomous_transfer_external(FIRMWARE_OK)
    assert [atc for _, atc in device.store.autonomous_transfers()] == [FIRMWARE_OK]
    acs = ScriptedAcs()
    bad = ParameterValueStruct(MS + "AutonomousTransferCompletePolicy.TransferTypeFilter", "Up")
    acs.queue(SetParameterValues((bad,), "bad"))
    await device.session(acs)
    assert sent_atcs(acs) == [FIRMWARE_OK]
    (answer,) = [r for r in acs.responses() if isinstance(r, Fault)]
    assert answer.fault_code == 9003
    assert [f.fault_code for f in answer.set_parameter_values_fault] == [9007]
    assert device.engine.setting("AutonomousTransferCompletePolicy.TransferTypeFilter") == "Both"


async def test_bootstrap_discards_pending_reports(device: Device) -> None:
    """Table 7 BOOTSTRAP row: "All other undelivered events MUST be discarded on
    BOOTSTRAP": a new ACS URL drops "10 AUTONOMOUS TRANSFER COMPLETE" and its report."""
    await device.set_policy(Enable="true")
    device.backend.autonomous_transfer_external(FIRMWARE_OK)
    acs = ScriptedAcs()
    new_url = ParameterValueStruct(MS + "URL", "http://127.0.0.1:7549/acs")

    def fail_atc(env: Envelope | None) -> AcsReply | None:
        if env is not None and isinstance(env.body, AutonomousTransferComplete):
            return acs.reply(Fault(8002, "Internal error"), cwmp_id=env.cwmp_id)
        return None

    acs.override = fail_atc
    acs.queue(SetParameterValues((new_url,), "move"))
    await device.session(acs)
    assert [e.code for e in device.store.events()] == ["0 BOOTSTRAP"]
    assert device.store.autonomous_transfers() == []
    acs2 = ScriptedAcs()
    inform = await device.session(acs2)
    assert codes(inform) == {("0 BOOTSTRAP", "")} and sent_atcs(acs2) == []


async def test_mounted_backend_forwards_the_listener(tmp_path: Path) -> None:
    """Design (virtual device = translated model + mounted ManagementServer): the engine's
    autonomous listener reaches the main backend through MountedBackend."""
    store = DeviceStore(tmp_path / "dev.sqlite")
    main = device2_backend(DEVICE, acs_url=URL)
    ms = device2_backend(DEVICE, acs_url=URL)
    engine = CpeEngine(
        MountedBackend(main, {MS: ms}), store, EngineConfig(DEVICE, URL), clock=Clock()
    )
    try:
        await engine.run_session(ScriptedAcs())
        store.set_meta("ms." + autonomous.ENABLE, "true")
        main.autonomous_transfer_external(FIRMWARE_OK)
        assert [atc for _, atc in store.autonomous_transfers()] == [FIRMWARE_OK]
        assert engine.handle_timer(T0)
    finally:
        store.close()


def test_datetimes_round_trip_through_the_store(tmp_path: Path) -> None:
    """A.3.3.3 StartTime/CompleteTime: stored and reloaded unchanged, incl. fractions of
    a second, a UTC offset and the Unknown Time."""
    store = DeviceStore(tmp_path / "dev.sqlite")
    try:
        offset = replace(
            FIRMWARE_OK,
            start_time=datetime.fromisoformat("2026-11-21T18:00:00.5+01:00"),
        )
        for atc in (FIRMWARE_OK, FIRMWARE_FAILED, offset):
            store.add_autonomous_transfer(atc)
        assert [a for _, a in store.autonomous_transfers()] == [
            FIRMWARE_OK,
            FIRMWARE_FAILED,
            offset,
        ]
    finally:
        store.close()
