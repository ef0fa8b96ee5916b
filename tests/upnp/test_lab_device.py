"""The control point against the lab DM device over loopback (issue 3 "Done when": reads
identities, calls every CMS/BMS/SMS action). Spec clauses: TR-330 §4.1.1 (discovery steps,
OUI/PC/SN), §4.3.1 (required actions), §4.5 (diagnostics: TestID, GetTestInfo, results),
§4.7.1 (firmware Update on DUID 0, GetOperationInfo), upnp-dm.md §2.2/§2.7 (CMS actions and
701-708), §3.2, §4.2."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import aiohttp
import pytest

from proxier.lab.server import LabServer
from proxier.lab.sms import make_image
from proxier.upnp import cms_xml
from proxier.upnp.client import NetworkDmDevice, SoapTransport
from proxier.upnp.description import describe
from proxier.upnp.device import NodeAttributes, ParameterValue, UpnpError
from proxier.upnp.identity import (
    IdentifiedDevice,
    group_virtual_devices,
    read_identity,
)

NET = "/UPnP/DM/Configuration/Network/"
HOSTNAME = NET + "HostName"
SW = "/UPnP/DM/DeviceInfo/SoftwareVersion"
T = TypeVar("T")


@pytest.fixture
async def lab() -> AsyncIterator[LabServer]:
    faults = {"reboot_delay": 0.2, "test_duration": 0.01, "operation_delay": 0.01}
    async with LabServer(2, faults=faults) as server:
        yield server


@pytest.fixture
async def devices(lab: LabServer) -> AsyncIterator[list[NetworkDmDevice]]:
    async with aiohttp.ClientSession() as session:
        transport = SoapTransport(session, timeout=3.0)
        found = []
        for url in lab.description_urls:
            result = await describe(session, url)
            assert result.skipped == ()
            found.extend(NetworkDmDevice.from_description(d, transport) for d in result.devices)
        yield found


async def until(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
    """Poll `probe` until `done` (the device works asynchronously); fail after 5 s."""
    async with asyncio.timeout(5):
        while True:
            value = await probe()
            if done(value):
                return value
            await asyncio.sleep(0.02)


async def test_lab_devices_are_described_and_identified(
    lab: LabServer, devices: list[NetworkDmDevice]
) -> None:
    """TR-330 §4.1.1/§4.3.1: every lab device passes the checks and has its own identity
    from the Common Objects; two devices stay two virtual devices."""
    assert [d.udn for d in devices] == [d.udn for d in lab.devices]
    identified = []
    for device in devices:
        assert device.bms is not None and device.sms is not None
        assert device.description is not None and device.description.problems == ()
        identity = await read_identity(
            device.cms, udn=device.udn, candidate=device.description.candidate
        )
        assert identity.from_common_objects
        identified.append(
            IdentifiedDevice(device.udn, identity, device.description.candidate.description_url)
        )
    assert identified[0].identity.key != identified[1].identity.key
    assert len(group_virtual_devices(identified)) == 2


async def test_cms_read_actions(devices: list[NetworkDmDevice]) -> None:
    """upnp-dm.md §2.2: the required CMS getters answer with well-formed documents."""
    cms = devices[0].cms
    models = await cms.get_supported_data_models()
    assert any(m.location == "/UPnP/DM/" for m in models)
    structure = await cms.get_supported_parameters(NET, 0)
    assert NET + "IPInterface/#/IPv4/IPAddress" in structure
    assert await cms.get_instances(NET + "IPInterface/", 0) == [NET + "IPInterface/0/"]
    values = await cms.get_values([SW, NET + "IPInterface/0/IPv4/"])
    assert values[0].path == SW and len(values) > 2
    selected = await cms.get_selected_values(NET + "IPInterface/#/", "")
    assert any(v.path == NET + "IPInterface/0/SystemName" for v in selected)
    cms_xml.parse_version_stamp(await cms.get_supported_data_models_update())
    cms_xml.parse_version_stamp(await cms.get_supported_parameters_update())
    cms_xml.parse_version_stamp(await cms.get_attribute_values_update())
    assert await cms.get_inconsistent_status() is False


async def test_cms_write_actions_and_versioning(devices: list[NetworkDmDevice]) -> None:
    """SetValues/CreateInstance/DeleteInstance/SetAttributes/AlarmsEnabled change the device
    and bump CurrentConfigurationVersion (upnp-dm.md §2.6)."""
    cms = devices[0].cms
    before = await cms.get_current_configuration_version()
    assert await cms.set_values([ParameterValue(HOSTNAME, "renamed")]) in (
        "ChangesApplied",
        "ChangesCommitted",
    )
    assert await cms.get_values([HOSTNAME]) == [ParameterValue(HOSTNAME, "renamed")]
    after = await cms.get_current_configuration_version()
    assert after > before
    update = cms_xml.parse_configuration_update(await cms.get_configuration_update())
    assert update.version == after

    path, _status = await cms.create_instance(
        NET + "IPInterface/", [ParameterValue("SystemName", "eth7")]
    )
    assert path.startswith(NET + "IPInterface/") and path.endswith("/")
    assert await cms.get_values([path + "SystemName"]) == [
        ParameterValue(path + "SystemName", "eth7")
    ]
    await cms.delete_instance(path)
    assert path not in await cms.get_instances(NET + "IPInterface/", 0)

    await cms.set_attributes([NodeAttributes(HOSTNAME, event_on_change=False)])
    (attrs,) = await cms.get_attributes([HOSTNAME])
    assert attrs.event_on_change is False and attrs.access == "readWrite"
    await cms.set_alarms_enabled(True)
    assert await cms.get_alarms_enabled() is True


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.get_values(["/UPnP/DM/NoSuchThing"]), 703),
        (lambda c: c.get_values(["not/a/path"]), 701),
        (lambda c: c.set_values([ParameterValue(SW, "9.9")]), 706),
        (
            lambda c: c.set_values([ParameterValue(HOSTNAME, "a"), ParameterValue(HOSTNAME, "b")]),
            707,
        ),
    ],
    ids=["703-no-such-name", "701-syntax", "706-read-only", "707-multiple-set"],
)
async def test_cms_errors_carry_their_codes(
    devices: list[NetworkDmDevice], call: Callable[..., Awaitable[object]], code: int
) -> None:
    """upnp-dm.md §2.7: the device's CMS error code reaches the caller for Table 2 mapping."""
    with pytest.raises(UpnpError) as info:
        await call(devices[0].cms)
    assert info.value.code == code


async def test_bms_diagnostics(devices: list[NetworkDmDevice]) -> None:
    """TR-330 §4.5: start a test, get a TestID, poll GetTestInfo, then read the result."""
    bms = devices[0].bms
    assert bms is not None
    assert await bms.get_device_status()
    ping = await bms.ping("127.0.0.1", 2, 1000, 64, 0)
    nsl = await bms.nslookup("localhost", "", 1, 1000)
    trace = await bms.traceroute("127.0.0.1", 1000, 38, 4, 0)
    selftest = await bms.self_test()
    reset = await bms.interface_reset("AllInterfaces")
    assert {ping, nsl, trace, selftest, reset} <= set(await bms.get_test_ids())
    await until(bms.get_active_test_ids, lambda ids: not ids)
    for test_id, kind in [(ping, "Ping"), (nsl, "NSLookup"), (trace, "Traceroute")]:
        info = await bms.get_test_info(test_id)
        assert (info.type, info.state) == (kind, "Completed")
    assert (await bms.get_ping_result(ping)).success_count == 2
    assert (await bms.get_nslookup_result(nsl)).status
    assert (await bms.get_traceroute_result(trace)).status
    assert isinstance((await bms.get_self_test_result(selftest)).status, bool)
    assert (await bms.get_interface_reset_result(reset)).status


async def test_bms_cancel_sequence_mode_and_logs(
    lab: LabServer, devices: list[NetworkDmDevice]
) -> None:
    """CancelTest of a running test; SequenceMode round trip; log URIs and LogInfo."""
    bms = devices[0].bms
    assert bms is not None
    lab.devices[0].faults.test_duration = 30.0
    test_id = await bms.ping("127.0.0.1", 1, 1000, 64, 0)
    await bms.cancel_test(test_id)
    assert (await bms.get_test_info(test_id)).state == "Canceled"
    old = await bms.get_sequence_mode()
    assert await bms.set_sequence_mode(not old) == old
    assert await bms.get_sequence_mode() is (not old)
    uris = await bms.get_log_uris()
    assert uris
    await bms.set_log_info(uris[0], True, "Debug")
    info = await bms.get_log_info(uris[0])
    assert info.enabled and info.log_level == "Debug" and info.log_url.startswith("http://")


async def test_bms_reboot_and_baseline_reset(
    lab: LabServer, devices: list[NetworkDmDevice]
) -> None:
    """Reboot: the device goes away (transport errors, code 0) and comes back; BaselineReset
    restores the default data model."""
    device = devices[1]
    bms = device.bms
    assert bms is not None
    await device.cms.set_values([ParameterValue(HOSTNAME, "changed")])
    assert await bms.reboot() in ("RebootNow", "RebootLater")
    await until(_reachable(bms.get_device_status), bool)
    await bms.baseline_reset()
    await until(_reachable(bms.get_device_status), bool)
    (value,) = await device.cms.get_values([HOSTNAME])
    assert value.value != "changed"


def _reachable(probe: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        try:
            await probe()
        except UpnpError as exc:
            assert exc.code == 0, exc  # while down: transport failure only
            return False
        return True

    return check


async def test_sms_firmware_update_and_units(
    lab: LabServer, devices: list[NetworkDmDevice]
) -> None:
    """TR-330 §4.7.1: Update on DUID 0 → OperationID → GetOperationInfo Completed → new
    SoftwareVersion; plus Install/Start/Stop/Uninstall and the ID lists."""
    device = devices[0]
    sms = device.sms
    assert sms is not None
    url = lab.host_file("fw.img", make_image("firmware", "2.0.0"))
    op = await sms.update(0, url, False)
    info = await until(
        lambda: sms.get_operation_info(op), lambda i: i.operation_state in ("Completed", "Error")
    )
    assert (info.operation_state, info.action, info.error_description) == (
        "Completed",
        "Update",
        "Error_None",
    )
    assert (await sms.get_du_info(0)).du_version == "2.0.0"
    assert (await device.cms.get_values([SW]))[0].value == "2.0.0"
    assert op not in await sms.get_operation_ids()

    app = lab.host_file("app.img", make_image("app2", "1.0"))
    op = await sms.install(app, "Application", False)
    await until(lambda: sms.get_operation_info(op), lambda i: i.operation_state == "Completed")
    du_ids = await sms.get_du_ids()
    assert len(du_ids) >= 3
    eu_ids = await sms.get_eu_ids()
    eu = max(eu_ids)
    eu_info = await sms.get_eu_info(eu)
    assert eu_info.eu_name
    for action in (sms.stop, sms.start):
        op = await action(eu, False)
        await until(
            lambda op=op: sms.get_operation_info(op),  # type: ignore[misc]
            lambda i: i.operation_state == "Completed",
        )
    assert eu in await sms.get_active_eu_ids() or eu in await sms.get_running_eu_ids()
    assert isinstance(await sms.get_error_eu_ids(), list)
    op = await sms.uninstall(max(du_ids), False)
    await until(lambda: sms.get_operation_info(op), lambda i: i.operation_state == "Completed")
    assert max(du_ids) not in await sms.get_du_ids()


async def test_injected_error_and_latency(lab: LabServer, devices: list[NetworkDmDevice]) -> None:
    """Fault knobs: an injected UPnP error surfaces with its code; an answer later than the
    call's bound is a transport failure (code 0)."""
    lab.devices[0].faults.errors = {"GetDeviceStatus": (501, "Action Failed")}
    bms = devices[0].bms
    assert bms is not None
    with pytest.raises(UpnpError) as info:
        await bms.get_device_status()
    assert info.value.code == 501
    lab.devices[0].faults.errors = {}
    lab.devices[0].faults.latency = 0.5
    bms.timeout = 0.1
    with pytest.raises(UpnpError) as info:
        await bms.get_device_status()
    assert info.value.code == 0


async def test_read_evented_and_resync(lab: LabServer, devices: list[NetworkDmDevice]) -> None:
    """Issue 3 GENA resync/polling fallback: every evented variable of each DM service is
    re-read with actions (upnp-dm.md §2.1, §3.1, §4.1) and pushed as one resync event."""
    device = devices[0]
    cms_vars = await device.read_evented("CMS")
    assert {"ConfigurationUpdate", "SupportedDataModelsUpdate", "SupportedParametersUpdate"} <= set(
        cms_vars
    )
    assert cms_xml.parse_configuration_update(cms_vars["ConfigurationUpdate"]).version >= 1
    bms_vars = await device.read_evented("BMS")
    assert bms_vars["DeviceStatus"] and "ActiveTestIDs" in bms_vars
    sms_vars = await device.read_evented("SMS")
    assert set(sms_vars) == {
        "OperationIDs",
        "DUIDs",
        "EUIDs",
        "ActiveEUIDs",
        "RunningEUIDs",
        "ErrorEUIDs",
    }
    assert "0" in sms_vars["DUIDs"].split(",")

    stream = device.events()
    await device.resync("SMS")
    device.close()
    events = [e async for e in stream]
    assert [(e.service, e.resync, e.variables) for e in events] == [("SMS", True, sms_vars)]


async def test_read_evented_of_unreachable_device_raises(
    lab: LabServer, devices: list[NetworkDmDevice]
) -> None:
    """A silent device is a transport failure (code 0), not an empty resync."""
    lab.devices[0].faults.silent = True
    with pytest.raises(UpnpError) as info:
        await devices[0].read_evented("CMS")
    assert info.value.code == 0
