"""CpeEngine against a scripted ACS peer speaking real SOAP (TR-069 §3.2, §3.7, Annex A)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from proxier.cwmp import events as ev
from proxier.cwmp.engine import CpeEngine, EngineConfig
from proxier.cwmp.memory import device2_backend
from proxier.cwmp.rpc import (
    AddObject,
    AddObjectResponse,
    CancelTransfer,
    CancelTransferResponse,
    DeleteObject,
    Download,
    DownloadResponse,
    Envelope,
    FactoryReset,
    Fault,
    GetAllQueuedTransfers,
    GetAllQueuedTransfersResponse,
    GetParameterAttributes,
    GetParameterValues,
    GetParameterValuesResponse,
    GetQueuedTransfers,
    GetQueuedTransfersResponse,
    GetRPCMethods,
    GetRPCMethodsResponse,
    Inform,
    InformResponse,
    ParameterValueStruct,
    Reboot,
    ScheduleDownload,
    ScheduleInform,
    ScheduleInformResponse,
    SetParameterAttributes,
    SetParameterAttributesStruct,
    SetParameterValues,
    SetParameterValuesResponse,
    TransferComplete,
    Upload,
)
from proxier.cwmp.store import DeviceStore
from proxier.cwmp.transport import AcsReply
from tests.cwmp.acs_peer import ScriptedAcs
from tests.cwmp.engine_rig import DEVICE, T0, URL, Clock, Device, codes, config, make_device


@pytest.fixture
def device(tmp_path: Path) -> Iterator[Device]:
    d = make_device(tmp_path / "state" / "dev.sqlite", Clock())
    d.engine.device_booted(d.clock.now)
    yield d
    d.store.close()


def params(inform: Inform) -> dict[str, str]:
    return {p.name: p.value for p in inform.parameter_list}


async def test_first_session_bootstraps_with_forced_parameters(device: Device) -> None:
    """Table 7: factory-fresh boot → "0 BOOTSTRAP" + "1 BOOT"; §4.6 forced Inform params;
    the Inform uses cwmp-1-2 with SupportedCWMPVersions; the session ends on 204."""
    acs = ScriptedAcs()
    device.engine.set_connection_request_url("http://127.0.0.1:7548/cr/abc")
    assert device.engine.handle_timer(device.clock.now)
    inform = await device.session(acs)
    assert codes(inform) == {("0 BOOTSTRAP", ""), ("1 BOOT", "")}
    assert inform.device_id == DEVICE and inform.max_envelopes == 1 and inform.retry_count == 0
    assert params(inform) == {
        "Device.RootDataModelVersion": "2.12",
        "Device.DeviceInfo.HardwareVersion": "1.0",
        "Device.DeviceInfo.SoftwareVersion": "1.0",
        "Device.DeviceInfo.ProvisioningCode": "",
        "Device.ManagementServer.ParameterKey": "",
        "Device.ManagementServer.ConnectionRequestURL": "http://127.0.0.1:7548/cr/abc",
    }
    first = acs.received[0]
    assert first is not None and first.version == "1.2"
    assert first.supported_cwmp_versions is not None
    assert acs.bodies()[1:] == [None]  # exactly one empty POST, then the 204
    assert device.store.events() == []
    assert not device.engine.handle_timer(device.clock.now)  # nothing left to deliver


async def test_bootstrap_only_once_per_acs_url(device: Device) -> None:
    """Table 7 BOOTSTRAP: first contact with an ACS URL only; a restart is not one."""
    await device.session(ScriptedAcs())
    again = device.restart()
    again.engine.device_booted(again.clock.now)
    inform = await again.session(ScriptedAcs())
    assert codes(inform) == {("1 BOOT", "")}
    again.store.close()


async def test_get_parameter_values_and_rpc_methods(device: Device) -> None:
    """A.3.2.2 GetParameterValues and A.3.1.1 GetRPCMethods answered within the session."""
    acs = ScriptedAcs()
    acs.queue(GetParameterValues(("Device.DeviceInfo.SerialNumber",)), GetRPCMethods())
    await device.session(acs)
    gpv, methods = acs.responses()
    assert gpv == GetParameterValuesResponse(
        (ParameterValueStruct("Device.DeviceInfo.SerialNumber", "SN-1"),)
    )
    assert isinstance(methods, GetRPCMethodsResponse)
    assert "ScheduleDownload" not in methods.method_list
    assert {"GetParameterValues", "SetParameterValues", "Download"} <= set(methods.method_list)


async def test_response_echoes_id_and_acs_namespace(device: Device) -> None:
    """§3.5 Table 4: the response carries the request's ID; answered in the ACS namespace."""
    acs = ScriptedAcs(version="1.1")
    acs.queue(Envelope(GetRPCMethods(), cwmp_id="xyz-7", version="1.1"))
    await device.session(acs)
    answer = acs.received[2]
    assert answer is not None and answer.cwmp_id == "xyz-7" and answer.version == "1.1"


async def test_parameter_key_set_only_on_success(device: Device) -> None:
    """A.3.2.1/A.3.2.6/A.3.2.7: ParameterKey changes iff SPV/AddObject/DeleteObject succeed."""
    acs = ScriptedAcs()
    acs.queue(
        SetParameterValues(
            (ParameterValueStruct("Device.DeviceInfo.ProvisioningCode", "P1"),), "key-1"
        ),
        SetParameterValues((ParameterValueStruct("Device.DeviceInfo.SerialNumber", "x"),), "bad"),
        AddObject("Device.Hosts.Host.", "key-2"),
        DeleteObject("Device.Hosts.Host.9.", "bad2"),
    )
    await device.session(acs)
    spv, spv_fault, add, delete_fault = acs.responses()
    assert spv == SetParameterValuesResponse(0)
    assert isinstance(spv_fault, Fault) and spv_fault.fault_code == 9003
    assert spv_fault.set_parameter_values_fault[0].fault_code == 9008
    assert add == AddObjectResponse(1, 0)
    assert isinstance(delete_fault, Fault) and delete_fault.fault_code == 9005
    assert device.engine.parameter_key == "key-2"
    gpv = await device.backend.get_parameter_values(["Device.ManagementServer.ParameterKey"])
    assert gpv[0].value == "key-2"
    device.engine.raise_event(ev.PERIODIC)
    inform = await device.session(ScriptedAcs())
    assert params(inform)["Device.ManagementServer.ParameterKey"] == "key-2"
    assert params(inform)["Device.DeviceInfo.ProvisioningCode"] == "P1"


async def test_duplicate_parameter_in_spv_is_9003(device: Device) -> None:
    """A.3.2.1: the same Parameter twice in ParameterList → fault 9003."""
    acs = ScriptedAcs()
    pv = ParameterValueStruct("Device.DeviceInfo.ProvisioningCode", "a")
    acs.queue(SetParameterValues((pv, pv), "k"))
    await device.session(acs)
    (answer,) = acs.responses()
    assert isinstance(answer, Fault) and answer.fault_code == 9003
    assert device.engine.parameter_key == ""


async def test_failed_session_retries_per_table_3_and_counts(device: Device) -> None:
    """§3.2.1.1: retry after a Table 3 wait; RetryCount in the Inform; reset on success;
    "6 CONNECTION REQUEST" is not retried (Table 7)."""
    await device.session(ScriptedAcs())
    assert device.engine.connection_request(device.clock.now)
    down = ScriptedAcs(override=lambda env: AcsReply(503, b""))
    result = await device.engine.run_session(down)
    assert not result.ok and "503" in result.reason
    assert device.engine.retry_count == 1
    timer = device.engine.get_timer()
    assert timer is not None and 5 <= timer - device.clock.now <= 10
    assert not device.engine.handle_timer(device.clock.now + 4.9)
    device.clock.now = timer
    assert device.engine.handle_timer(device.clock.now)
    await device.engine.run_session(down)
    second = device.engine.get_timer()
    assert second is not None and 10 <= second - device.clock.now <= 20
    device.clock.now = second
    assert device.engine.handle_timer(device.clock.now)
    acs = ScriptedAcs()
    inform = await device.session(acs)
    assert inform.retry_count == 2
    assert ("6 CONNECTION REQUEST", "") not in codes(inform)
    assert device.engine.retry_count == 0


async def test_new_event_retries_at_once(device: Device) -> None:
    """§3.2.1.1: retry after the wait "or when a new event occurs, whichever comes first"."""
    await device.engine.run_session(ScriptedAcs(override=lambda env: AcsReply(500, b"")))
    assert not device.engine.handle_timer(device.clock.now + 1)
    device.engine.raise_event(ev.DIAGNOSTICS_COMPLETE, now=device.clock.now + 1)
    assert device.engine.handle_timer(device.clock.now + 1)


async def test_inform_fault_falls_back_to_cwmp_1_0(device: Device) -> None:
    """§3.2.1.1/§3.7.2.1: an ACS that faults the 1.2 Inform gets the retry in v1.0."""

    def only_v10(env: Envelope | None) -> AcsReply | None:
        if env is not None and isinstance(env.body, Inform) and env.version != "1.0":
            return AcsReply(400, b"Unrecognized CWMP version")
        return None

    acs = ScriptedAcs(version="1.0", override=only_v10)
    first = await device.engine.run_session(acs)
    assert not first.ok
    device.clock.now = device.engine.get_timer() or 0
    assert device.engine.handle_timer(device.clock.now)
    second = await device.engine.run_session(acs)
    assert second.ok and second.version == "1.0"
    retry = acs.received[1]
    assert retry is not None and retry.version == "1.0" and retry.supported_cwmp_versions is None
    device.engine.raise_event(ev.PERIODIC)
    assert (await device.engine.run_session(acs)).version == "1.0"  # stays with what works


async def test_v10_inform_response_reverts_session_to_v10(device: Device) -> None:
    """§3.7.1.1: an InformResponse in the v1.0 namespace → v1.0 for the rest of the session."""
    acs = ScriptedAcs(version="1.0")
    acs.queue(Envelope(GetRPCMethods(), cwmp_id="1", version="1.0"))
    result = await device.engine.run_session(acs)
    assert result.ok and result.version == "1.0"
    assert all(e is None or e.version == "1.0" for e in acs.received[1:])


async def test_connection_request_rules(device: Device) -> None:
    """§3.2.2: one session per burst carrying "6 CONNECTION REQUEST"; 503 while in
    session; rate limit."""
    await device.session(ScriptedAcs())
    now = device.clock.now
    assert device.engine.connection_request(now)
    assert device.engine.connection_request(now)  # same burst: 200, no second session
    seen: list[bool] = []

    def during(env: Envelope | None) -> AcsReply | None:
        seen.append(device.engine.connection_request(device.clock.now))
        return None

    acs = ScriptedAcs(override=during)
    inform = await device.session(acs)
    assert codes(inform) == {("6 CONNECTION REQUEST", "")}
    assert seen and not any(seen)
    assert not device.engine.handle_timer(device.clock.now)  # no extra session
    limited = EngineConfig(DEVICE, URL, connection_request_limit=2, connection_request_window=60)
    device.engine.config = limited  # a token bucket of 2, refilled at 2 per 60 s
    for _ in range(2):
        assert device.engine.connection_request(device.clock.now)
        await device.session(ScriptedAcs())
    assert not device.engine.connection_request(device.clock.now)  # bucket empty
    assert device.engine.connection_request(device.clock.now + 30)  # one token back


async def test_schedule_inform(device: Device) -> None:
    """A.4.1.2 ScheduleInform → "3 SCHEDULED" + "M ScheduleInform" with its CommandKey;
    DelaySeconds 0 is invalid (9003)."""
    acs = ScriptedAcs()
    acs.queue(ScheduleInform(30, "sched-1"), ScheduleInform(0, "bad"))
    await device.session(acs)
    ok, bad = acs.responses()
    assert ok == ScheduleInformResponse()
    assert isinstance(bad, Fault) and bad.fault_code == 9003
    assert device.engine.get_timer() == pytest.approx(device.clock.now + 30)
    assert not device.engine.handle_timer(device.clock.now + 29)
    device.clock.now += 30
    assert device.engine.handle_timer(device.clock.now)
    inform = await device.session(ScriptedAcs())
    assert codes(inform) == {("3 SCHEDULED", ""), ("M ScheduleInform", "sched-1")}


async def test_scheduled_inform_survives_restart(device: Device) -> None:
    """A.4.1.2 + store: a scheduled inform still fires after a process restart."""
    acs = ScriptedAcs()
    acs.queue(ScheduleInform(100, "s"))
    await device.session(acs)
    again = device.restart()
    assert again.engine.get_timer() == pytest.approx(again.clock.now + 100)
    again.store.close()


async def test_periodic_inform_phase(tmp_path: Path) -> None:
    """TR-181 PeriodicInformTime sets the phase; Informs at phase + n × interval with
    "2 PERIODIC"."""
    from datetime import UTC, datetime

    clock = Clock()
    store = DeviceStore(tmp_path / "p.sqlite")
    backend = device2_backend(DEVICE, acs_url=URL)
    phase = datetime.fromtimestamp(T0 - 7, UTC)
    engine = CpeEngine(
        backend,
        store,
        config(periodic_inform_interval=60, periodic_inform_time=phase),
        clock=clock,
    )
    await engine.run_session(ScriptedAcs())  # the bootstrap
    assert engine.get_timer() == pytest.approx(T0 + 53)
    clock.now = T0 + 53
    assert engine.handle_timer(clock.now)
    acs = ScriptedAcs()
    await engine.run_session(acs)
    assert codes(acs.informs()[0]) == {("2 PERIODIC", "")}
    assert engine.get_timer() == pytest.approx(T0 + 113)
    store.close()


async def test_periodic_settings_follow_spv(device: Device) -> None:
    """TR-181 ManagementServer.PeriodicInform*: an SPV by the ACS reschedules the timer."""
    acs = ScriptedAcs()
    acs.queue(
        SetParameterValues(
            (
                ParameterValueStruct(
                    "Device.ManagementServer.PeriodicInformInterval", "300", "xsd:unsignedInt"
                ),
                ParameterValueStruct(
                    "Device.ManagementServer.PeriodicInformTime",
                    "1970-01-01T00:00:00Z",
                    "xsd:dateTime",
                ),
            ),
            "",
        )
    )
    await device.session(acs)
    timer = device.engine.get_timer()
    assert timer is not None and timer % 300 == 0 and 0 < timer - device.clock.now <= 300


async def test_reboot_after_session_then_boot_events(device: Device) -> None:
    """A.3.2.9: reboot only after the session; the next Inform has "1 BOOT" and one
    "M Reboot" per request (§3.7.1.5)."""
    acs = ScriptedAcs()
    reboots_during: list[int] = []
    acs.override = lambda env: reboots_during.append(device.backend.reboots) or None
    acs.queue(Reboot("r1"), Reboot("r2"))
    await device.session(acs)
    assert reboots_during == [0, 0, 0, 0]
    assert device.backend.reboots == 1
    assert device.engine.handle_timer(device.clock.now)
    inform = await device.session(ScriptedAcs())
    assert codes(inform) == {("1 BOOT", ""), ("M Reboot", "r1"), ("M Reboot", "r2")}


async def test_factory_reset_bootstraps_again(device: Device) -> None:
    """A.4.1.6 + Table 7: after a factory reset the next contact is a BOOTSTRAP (+ BOOT);
    ACS-made state is gone, the proxier-assigned ConnectionRequestURL stays."""
    device.engine.set_connection_request_url("http://h:1/cr/x")
    acs = ScriptedAcs()
    acs.queue(
        SetParameterValues((ParameterValueStruct("Device.DeviceInfo.ProvisioningCode", "X"),), "k"),
        FactoryReset(),
    )
    await device.session(acs)
    assert device.backend.factory_resets == 1
    inform = await device.session(ScriptedAcs())
    assert codes(inform) == {("0 BOOTSTRAP", ""), ("1 BOOT", "")}
    assert params(inform)["Device.DeviceInfo.ProvisioningCode"] == ""
    assert params(inform)["Device.ManagementServer.ParameterKey"] == ""
    assert params(inform)["Device.ManagementServer.ConnectionRequestURL"] == "http://h:1/cr/x"


async def test_acs_url_change_bootstraps_new_acs(device: Device) -> None:
    """Table 7: first connection after the ACS URL was modified → "0 BOOTSTRAP", sent to
    the new URL."""
    acs = ScriptedAcs()
    acs.queue(
        SetParameterValues(
            (ParameterValueStruct("Device.ManagementServer.URL", "http://127.0.0.1:9/new"),), ""
        )
    )
    await device.session(acs)
    assert device.engine.acs_settings().url == "http://127.0.0.1:9/new"
    assert device.engine.handle_timer(device.clock.now)
    inform = await device.session(ScriptedAcs())
    assert codes(inform) == {("0 BOOTSTRAP", "")}


async def test_download_transfer_complete_in_later_session(device: Device) -> None:
    """A.3.2.8/A.3.3.2: Download answered Status 1, then a session with
    "7 TRANSFER COMPLETE" + "M Download" and TransferComplete; confirmed by its response."""
    acs = ScriptedAcs()
    acs.queue(Download("dl-1", "1 Firmware Upgrade Image", "http://127.0.0.1:1/fw.bin"))
    await device.session(acs)
    assert acs.responses() == [DownloadResponse(1)]
    assert device.engine.handle_timer(device.clock.now)
    acs2 = ScriptedAcs()
    inform = await device.session(acs2)
    assert codes(inform) == {("7 TRANSFER COMPLETE", ""), ("M Download", "dl-1")}
    tc = acs2.bodies()[1]
    assert isinstance(tc, TransferComplete) and tc.command_key == "dl-1"
    assert tc.fault_struct.fault_code == 0
    assert acs2.bodies()[2] is None  # empty POST after the CPE request
    assert device.store.events() == [] and device.store.transfers() == []


async def test_transfer_complete_retried_when_unconfirmed(device: Device) -> None:
    """Table 7: TRANSFER COMPLETE is never discarded: a fault to TransferComplete keeps it
    for the next session (§3.7.1.4, A.3.3.2)."""
    acs = ScriptedAcs()
    acs.queue(Upload("up-1", "2 Vendor Log File", "http://127.0.0.1:1/log"))
    await device.session(acs)

    def refuse(env: Envelope | None) -> AcsReply | None:
        if env is not None and isinstance(env.body, TransferComplete):
            return acs2.reply(Fault(8002, "Internal error"), cwmp_id=env.cwmp_id)
        return None

    acs2 = ScriptedAcs(override=refuse)
    inform = await device.session(acs2)
    assert ("M Upload", "up-1") in codes(inform)
    acs3 = ScriptedAcs()
    inform = await device.session(acs3)
    assert codes(inform) == {("7 TRANSFER COMPLETE", ""), ("M Upload", "up-1")}
    assert device.store.transfers() == []


async def test_queued_transfers_and_cancel(device: Device) -> None:
    """A.4.1.1/A.4.1.7 list queued transfers; CancelTransfer removes a not-started one and
    refuses others with 9021."""
    acs = ScriptedAcs()
    acs.queue(
        Download("later", "3 Vendor Configuration File", "http://127.0.0.1:1/c", delay_seconds=60),
        GetQueuedTransfers(),
        GetAllQueuedTransfers(),
        CancelTransfer("later"),
        CancelTransfer("none"),
        GetQueuedTransfers(),
        ScheduleDownload("s", "1 Firmware Upgrade Image", "http://127.0.0.1:1/x"),
        Download("u", "1 Firmware Upgrade Image", "ftp://127.0.0.1/x"),
        Download("u", "1 Firmware Upgrade Image", "http://user:pw@127.0.0.1/x"),
    )
    await device.session(acs)
    r = acs.responses()
    assert r[0] == DownloadResponse(1)
    assert isinstance(r[1], GetQueuedTransfersResponse) and len(r[1].transfer_list) == 1
    assert r[1].transfer_list[0].command_key == "later" and r[1].transfer_list[0].state == 1
    assert isinstance(r[2], GetAllQueuedTransfersResponse)
    assert r[2].transfer_list[0].file_type == "3 Vendor Configuration File"
    assert r[3] == CancelTransferResponse()
    assert isinstance(r[4], Fault) and r[4].fault_code == 9003
    assert r[5] == GetQueuedTransfersResponse(())
    assert isinstance(r[6], Fault) and r[6].fault_code == 9000
    assert isinstance(r[7], Fault) and r[7].fault_code == 9013
    assert isinstance(r[8], Fault) and r[8].fault_code == 9003


async def test_delayed_download_starts_when_due(device: Device) -> None:
    """A.3.2.8 DelaySeconds: the transfer starts after the delay, reported by
    TransferComplete; an in-progress one cannot be cancelled (9021)."""
    acs = ScriptedAcs()
    acs.queue(Download("d", "1 Firmware Upgrade Image", "http://127.0.0.1:1/f", delay_seconds=5))
    await device.session(acs)
    assert device.engine.get_timer() == pytest.approx(device.clock.now + 5)
    device.clock.now += 5
    assert device.engine.transfers_due(device.clock.now)
    await device.engine.start_due_transfers(device.clock.now)
    assert len(device.backend.transfers) == 1
    for _ in range(3):
        await asyncio.sleep(0)  # the simulated transfer finishes
    assert device.engine.handle_timer(device.clock.now)
    inform = await device.session(ScriptedAcs())
    assert ("M Download", "d") in codes(inform)


async def test_passive_and_active_notification(device: Device) -> None:
    """A.3.2.4: passive → value in the next Inform with "4 VALUE CHANGE" but no session of
    its own; active → a session now. ACS-made changes never notify."""
    acs = ScriptedAcs()
    acs.queue(
        SetParameterAttributes(
            (
                SetParameterAttributesStruct("Device.Hosts.HostNumberOfEntries", True, 1, False),
                SetParameterAttributesStruct("Device.ManagementServer.URL", True, 2, False),
            )
        ),
        GetParameterAttributes(("Device.DeviceInfo.SoftwareVersion",)),
    )
    await device.session(acs)
    b = device.backend
    b.add_instance_external("Device.Hosts.Host.", {"HostName": "tv"})
    b.set_external("Device.Hosts.HostNumberOfEntries", "1")
    assert not device.engine.handle_timer(device.clock.now)  # passive: no session
    device.engine.raise_event(ev.PERIODIC)
    inform = await device.session(ScriptedAcs())
    assert codes(inform) == {("2 PERIODIC", ""), ("4 VALUE CHANGE", "")}
    assert params(inform)["Device.Hosts.HostNumberOfEntries"] == "1"
    b.set_external("Device.DeviceInfo.SoftwareVersion", "2.0")  # forced active
    assert device.engine.handle_timer(device.clock.now)
    inform = await device.session(ScriptedAcs())
    assert codes(inform) == {("4 VALUE CHANGE", "")}
    assert params(inform)["Device.DeviceInfo.SoftwareVersion"] == "2.0"
    acs = ScriptedAcs()
    acs.queue(
        SetParameterValues((ParameterValueStruct("Device.ManagementServer.URL", URL + "?x"),), "")
    )
    await device.session(acs)
    b.set_external("Device.ManagementServer.URL", URL + "?x")  # echo of the ACS's change
    pending = [e.code for e in device.store.events()]
    assert "4 VALUE CHANGE" not in pending


async def test_value_change_during_session_gets_own_session(device: Device) -> None:
    """§3.2.1: a change during a session does not affect it; a new session follows."""
    acs = ScriptedAcs()
    changed = False

    def change(env: Envelope | None) -> AcsReply | None:
        nonlocal changed
        if not changed:
            changed = True
            device.backend.set_external("Device.DeviceInfo.ProvisioningCode", "late")
        return None

    acs.override = change
    first = await device.session(acs)
    assert "Device.DeviceInfo.ProvisioningCode" in params(first)
    assert device.engine.handle_timer(device.clock.now)
    inform = await device.session(ScriptedAcs())
    assert codes(inform) == {("4 VALUE CHANGE", "")}
    assert params(inform)["Device.DeviceInfo.ProvisioningCode"] == "late"


async def test_backend_bug_is_9002(device: Device) -> None:
    """§A.5: an unexpected backend exception is answered 9002 Internal error; the session
    goes on."""

    async def broken(names: object) -> object:
        raise RuntimeError("bug")

    device.backend.get_parameter_attributes = broken  # type: ignore[assignment,method-assign]
    acs = ScriptedAcs()
    acs.queue(GetParameterAttributes(("Device.",)), GetRPCMethods())
    await device.session(acs)
    fault, methods = acs.responses()
    assert isinstance(fault, Fault) and fault.fault_code == 9002
    assert isinstance(methods, GetRPCMethodsResponse)


async def test_malformed_request_gets_fault_with_id(device: Device) -> None:
    """§3.7.1.4 + codec: an ACS request that cannot be parsed gets a fault, the session
    survives, the ID is echoed."""
    bad = (
        b'<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"'
        b' xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><soap-env:Header>'
        b'<cwmp:ID soap-env:mustUnderstand="1">m1</cwmp:ID></soap-env:Header>'
        b"<soap-env:Body><cwmp:FrobnicateAll/></soap-env:Body></soap-env:Envelope>"
    )
    sent = False

    def inject(env: Envelope | None) -> AcsReply | None:
        nonlocal sent
        if env is None and not sent:
            sent = True
            return AcsReply(200, bad)
        return None

    acs = ScriptedAcs(override=inject)
    await device.session(acs)
    answer = acs.received[2]
    assert answer is not None and isinstance(answer.body, Fault)
    assert answer.body.fault_code == 9000 and answer.cwmp_id == "m1"


async def test_pending_events_survive_restart(device: Device) -> None:
    """§3.7.1.5 + store: undelivered events (BOOTSTRAP, BOOT, M Download) survive a
    restart and are delivered; a restart with pending events starts a session."""
    acs = ScriptedAcs()
    acs.queue(Download("dl", "1 Firmware Upgrade Image", "http://127.0.0.1:1/fw"))
    await device.session(acs)
    again = device.restart()
    assert again.engine.handle_timer(again.clock.now)
    inform = await again.session(ScriptedAcs())
    assert codes(inform) == {("7 TRANSFER COMPLETE", ""), ("M Download", "dl")}
    again.store.close()


async def test_inform_rejects_empty_reply(device: Device) -> None:
    """§3.7.1.1: the session is initiated only by a successful InformResponse."""
    result = await device.engine.run_session(ScriptedAcs(override=lambda e: AcsReply(204, b"")))
    assert not result.ok
    assert {e.code for e in device.store.events()} == {"0 BOOTSTRAP", "1 BOOT"}


_SESSION_CHILD = """
from proxier.cwmp.rpc import TransferComplete
engine.device_booted(0.0)
engine.connection_request(0.0)

def hang_on_transfer_complete(env):
    if env is not None and isinstance(env.body, TransferComplete):
        print("TC", flush=True)
        import time
        time.sleep(3600)
    return None

asyncio.run(engine.run_session(ScriptedAcs(override=hang_on_transfer_complete)))
"""


async def test_kill_9_during_session_then_restart_delivers_per_table_7(device: Device) -> None:
    """Kill -9 inside a session, after the InformResponse but before the
    TransferCompleteResponse: after restart the Inform carries RetryCount 1 and exactly the
    undelivered events — "7 TRANSFER COMPLETE" + "M Download" (never discarded), not the
    confirmed "1 BOOT" nor "6 CONNECTION REQUEST" (never retried) (§3.7.1.5, §3.2.1.1)."""

    acs = ScriptedAcs()
    acs.queue(Download("dl-9", "1 Firmware Upgrade Image", "http://127.0.0.1:1/fw"))
    await device.session(acs)  # the download finishes: TransferComplete pending
    again = await device.killed_in_child(_SESSION_CHILD, b"TC")
    assert again.engine.handle_timer(again.clock.now)
    acs2 = ScriptedAcs()
    inform = await again.session(acs2)
    assert inform.retry_count == 1
    assert codes(inform) == {("7 TRANSFER COMPLETE", ""), ("M Download", "dl-9")}
    tc = acs2.bodies()[1]
    assert isinstance(tc, TransferComplete) and tc.command_key == "dl-9"
    assert again.store.events() == [] and again.engine.retry_count == 0
    again.store.close()


async def test_replay_genieacs_bootstrap_session(device: Device) -> None:
    """Reference §5: the recorded GenieACS 1.2.16 bootstrap session replayed against the
    engine: same message shapes in the same order (one empty POST, responses to GPN, GPV,
    SPV), its "inform" provision SPV applied (CR credentials, periodic settings) and the
    session ending on GenieACS's 204."""
    from tests.cwmp.genieacs_trace import load_trace

    trace = load_trace()
    start = next(i for i, e in enumerate(trace) if e.from_cpe and "cwmp:Inform>" in (e.body or ""))
    end = next(i for i in range(start, len(trace)) if trace[i].fields.get("statusCode") == "204")
    recorded = trace[start : end + 1]
    replies = [
        AcsReply(int(e.fields["statusCode"] or 0), (e.body or "").encode())
        for e in recorded
        if e.from_acs
    ]
    expected = [None if not e.body else soap_name(e.body) for e in recorded if e.from_cpe]
    queue = iter(replies)
    acs = ScriptedAcs(override=lambda env: next(queue))
    result = await device.engine.run_session(acs)
    assert result.ok, result.reason
    assert [None if b is None else type(b).__name__ for b in acs.bodies()] == expected
    assert result.version == "1.0"  # GenieACS answered in cwmp-1-0: §3.7.1.1 revert
    user, password = device.engine.connection_request_credentials()
    assert user == "DEC0DE-PyCPE-TRANSCRIPT1" and password
    assert device.engine.setting("PeriodicInformInterval") == "300"
    timer = device.engine.get_timer()
    assert timer is not None and timer - device.clock.now <= 300


def soap_name(body: str) -> str:
    import re

    m = re.search(r"<cwmp:(\w+)>", body)
    assert m is not None
    return m.group(1)


async def test_reboot_restarts_retry_intervals_not_retry_count(device: Device) -> None:
    """§3.2.1.1: after an intervening reboot the wait intervals start again from #1, while
    RetryCount keeps counting until a session succeeds (Table 34)."""
    down = ScriptedAcs(override=lambda env: AcsReply(500, b""))
    for _ in range(3):
        await device.engine.run_session(down)
        device.clock.now = device.engine.get_timer() or 0
        assert device.engine.handle_timer(device.clock.now)
    await device.engine.run_session(down)
    timer = device.engine.get_timer()
    assert timer is not None and 40 <= timer - device.clock.now <= 80  # retry #4
    device.engine.device_booted(device.clock.now)
    await device.engine.run_session(down)
    timer = device.engine.get_timer()
    assert timer is not None and 5 <= timer - device.clock.now <= 10  # #1 again
    device.clock.now = timer
    assert device.engine.handle_timer(device.clock.now)
    inform = await device.session(ScriptedAcs())
    assert inform.retry_count == 5


async def test_connection_request_url_notification_default_active_acs_may_turn_off(
    device: Device,
) -> None:
    """TR-181: ConnectionRequestURL has active notification by default (a new URL informs
    at once), but unlike forced active parameters the ACS may turn it off."""
    device.engine.set_connection_request_url("http://127.0.0.1:1/cr/a")
    await device.session(ScriptedAcs())
    device.engine.set_connection_request_url("http://127.0.0.1:1/cr/b")
    assert device.engine.handle_timer(device.clock.now)
    inform = await device.session(ScriptedAcs())
    assert codes(inform) == {("4 VALUE CHANGE", "")}
    acs = ScriptedAcs()
    acs.queue(
        SetParameterAttributes(
            (
                SetParameterAttributesStruct(
                    "Device.ManagementServer.ConnectionRequestURL", True, 0, False
                ),
                SetParameterAttributesStruct("Device.DeviceInfo.SoftwareVersion", True, 0, False),
            )
        )
    )
    await device.session(acs)
    device.engine.set_connection_request_url("http://127.0.0.1:1/cr/c")
    assert not device.engine.handle_timer(device.clock.now)
    device.backend.set_external("Device.DeviceInfo.SoftwareVersion", "3")  # still forced
    assert device.engine.handle_timer(device.clock.now)


async def test_transfer_complete_in_same_session_while_acs_holds_requests(device: Device) -> None:
    """TR-069 Figure 4 / A.3.3.2: with HoldRequests true the ACS sends Download; the
    transfer finishes during the session and its TransferComplete goes in the same session
    once requests are allowed."""
    await device.session(ScriptedAcs())

    class Figure4(ScriptedAcs):
        async def post(self, body: bytes) -> AcsReply:
            for _ in range(3):
                await asyncio.sleep(0)  # let the simulated transfer finish meanwhile
            return await super().post(body)

    acs = Figure4()
    step = 0

    def script(env: Envelope | None) -> AcsReply | None:
        nonlocal step
        step += 1
        if step == 1:
            assert env is not None
            return acs.reply(InformResponse(1), cwmp_id=env.cwmp_id, hold=True)
        if step == 2:
            download = Download("fig4", "1 Firmware Upgrade Image", "http://127.0.0.1:1/f")
            return acs.reply(download, cwmp_id="d1", hold=True)
        return None

    acs.override = script
    await device.session(acs)
    names = [None if b is None else type(b).__name__ for b in acs.bodies()]
    assert names == ["Inform", None, "DownloadResponse", "TransferComplete", None]
    assert device.store.events() == [] and device.store.transfers() == []
    assert not device.engine.handle_timer(device.clock.now)


async def test_transfer_complete_during_an_unrelated_session_waits_for_its_own_inform(
    device: Device,
) -> None:
    """TR-069 §3.7.1.5 (TRANSFER COMPLETE announces a TransferComplete later in that session;
    "TransferComplete sent in a new session … 7 TRANSFER COMPLETE, M Download") and A.3.3.2
    (same session only for the session that made the Download): a transfer that ends while
    another session runs is reported in a session of its own, announced by its Inform."""
    await device.session(ScriptedAcs())
    acs = ScriptedAcs()
    acs.queue(Download("late", "1 Firmware Upgrade Image", "http://127.0.0.1:1/f", delay_seconds=5))
    await device.session(acs)
    device.clock.now += 5

    class EndsMeanwhile(ScriptedAcs):
        started = False

        async def post(self, body: bytes) -> AcsReply:
            if not self.started:  # while the ACS reads this session's Inform
                self.started = True
                await device.engine.start_due_transfers(device.clock.now)
                for _ in range(3):
                    await asyncio.sleep(0)  # the simulated transfer finishes
            return await super().post(body)

    other = EndsMeanwhile()
    inform = await device.session(other)
    assert ("7 TRANSFER COMPLETE", "") not in codes(inform)
    assert not any(isinstance(b, TransferComplete) for b in other.bodies())
    assert device.engine.handle_timer(device.clock.now)
    own = ScriptedAcs()
    inform = await device.session(own)
    assert {("7 TRANSFER COMPLETE", ""), ("M Download", "late")} <= codes(inform)
    assert [b.command_key for b in own.bodies() if isinstance(b, TransferComplete)] == ["late"]
    assert device.store.events() == [] and device.store.transfers() == []


async def test_change_while_inform_is_built_goes_to_the_next_inform(device: Device) -> None:
    """TR-069 A.3.3.1 / §3.7.1.5: each change is reported once, with its own value. A change
    recorded while the engine reads the forced Inform values (ProvisioningCode is forced and
    forced active) is not carried by that Inform, whose InformResponse does not clear it;
    the Inform that announces a change carries that change's value, not one read later."""
    name = "Device.DeviceInfo.ProvisioningCode"
    await device.session(ScriptedAcs())  # BOOTSTRAP delivered
    b = device.backend
    b.set_external(name, "first")
    read = b.get_parameter_values
    changed_meanwhile = False

    async def read_and_change(names: Sequence[str]) -> list[ParameterValueStruct]:
        nonlocal changed_meanwhile
        if name in names and not changed_meanwhile:
            changed_meanwhile = True
            b.set_external(name, "second")  # the device changes while we build the Inform
        return await read(names)

    b.get_parameter_values = read_and_change  # type: ignore[method-assign]
    assert device.engine.handle_timer(device.clock.now)
    first = await device.session(ScriptedAcs())
    assert codes(first) == {("4 VALUE CHANGE", "")}
    assert params(first)[name] == "first"
    assert device.engine.handle_timer(device.clock.now)
    second = await device.session(ScriptedAcs())
    assert codes(second) == {("4 VALUE CHANGE", "")}
    assert params(second)[name] == "second"
    assert not device.store.changed_values()
    assert not device.engine.handle_timer(device.clock.now)


_REBOOT_CHILD = """
from proxier.cwmp.rpc import Reboot, RebootResponse

def hang_on_reboot_response(env):
    if env is not None and isinstance(env.body, RebootResponse):
        print("RR", flush=True)  # the ACS has its answer; the CPE dies before rebooting
        time.sleep(3600)
    return None

acs = ScriptedAcs(override=hang_on_reboot_response)
acs.queue(Reboot("rb-k9"))
asyncio.run(engine.run_session(acs))
"""


async def test_kill_9_after_reboot_response_still_reboots(device: Device) -> None:
    """A.3.2.9 / Table 7 ("M Reboot" never discarded): the ACS has its RebootResponse, then
    the process is SIGKILLed before the device reboots. The restarted engine still reboots
    it after its next session, and "1 BOOT" + "M Reboot" with the CommandKey follow."""

    await device.session(ScriptedAcs())  # BOOTSTRAP delivered
    again = await device.killed_in_child(_REBOOT_CHILD, b"RR")
    assert again.backend.reboots == 0
    assert again.engine.handle_timer(again.clock.now)
    await again.session(ScriptedAcs())
    assert again.backend.reboots == 1
    assert again.engine.handle_timer(again.clock.now)
    inform = await again.session(ScriptedAcs())
    assert codes(inform) == {("1 BOOT", ""), ("M Reboot", "rb-k9")}
    again.store.close()
    third = again.restart()
    assert not third.engine.handle_timer(third.clock.now)  # nothing owed any more
    assert third.backend.reboots == 0
    third.store.close()
