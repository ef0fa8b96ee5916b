"""Lab SMS over SOAP: firmware Update on DUID 0 and every failure the lab can be asked for.

TR-330 §4.7.1 and Figure 8 (OperationID at once, OperationIDs/DUIDs/EUIDs events, the ID
leaves OperationIDs when done, GetOperationInfo Completed/Error, reboot loses running
operations); reference upnp-dm.md §4.1–4.2 (ErrorDescription values).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from proxier.lab.device import LabDevice
from proxier.lab.server import LabServer
from proxier.lab.sms import make_image, parse_image
from proxier.upnp import cms_xml
from proxier.upnp.device import UpnpError

from .helpers import CallbackServer, SsdpRecorder, call


@pytest.fixture
async def lab() -> AsyncIterator[LabServer]:
    async with LabServer(1, faults={"reboot_delay": 0.1, "operation_delay": 0.01}) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def events(lab: LabServer, session: aiohttp.ClientSession) -> AsyncIterator[CallbackServer]:
    cb = CallbackServer()
    await cb.start()
    d = lab.devices[0]
    headers = {"CALLBACK": f"<{cb.url}>", "NT": "upnp:event", "TIMEOUT": "Second-300"}
    async with session.request(
        "SUBSCRIBE", f"{d.base_url}{d.base_path}/sms/event", headers=headers
    ) as r:
        assert r.status == 200
    initial = await cb.next()
    assert initial.variables["DUIDs"] == "0,1" and initial.variables["OperationIDs"] == ""
    yield cb
    await cb.stop()


async def update(session: aiohttp.ClientSession, d: LabDevice, url: str) -> str:
    out = await call(
        session, d, "SMS", "Update", [("DUID", "0"), ("NewDUURI", url), ("HandleDependencies", "0")]
    )
    return out["OperationID"]


async def until_done(cb: CallbackServer, op_id: str) -> list[dict[str, str]]:
    """Collect SMS events until `op_id` has been listed and then left OperationIDs."""
    seen: list[dict[str, str]] = []
    listed = False
    while True:
        event = await cb.next()
        seen.append(event.variables)
        ids = event.variables.get("OperationIDs")
        if ids is None:
            continue
        if op_id in ids.split(","):
            listed = True
        elif listed:
            return seen


async def operation(session: aiohttp.ClientSession, d: LabDevice, op_id: str) -> dict[str, str]:
    return await call(session, d, "SMS", "GetOperationInfo", [("OperationID", op_id)])


async def test_firmware_update_success(
    lab: LabServer, session: aiohttp.ClientSession, events: CallbackServer
) -> None:
    """TR-330 Figure 8: Update(DUID 0) → events → Completed, SoftwareVersion changed."""
    d = lab.devices[0]
    url = lab.host_file("fw-2.0.bin", make_image("firmware", "2.0.0", b"\x00" * 1000))
    op_id = await update(session, d, url)
    seen = await until_done(events, op_id)
    assert any("DUIDs" in e and "EUIDs" in e for e in seen)
    info = await operation(session, d, op_id)
    assert info == {
        "OperationState": "Completed",
        "TargetedIDs": "0",
        "Action": "Update",
        "ErrorDescription": "Error_None",
        "AdditionalInfo": "",
    }
    du = await call(session, d, "SMS", "GetDUInfo", [("DUID", "0")])
    assert (du["DUVersion"], du["DUType"], du["DUState"], du["DUURI"]) == (
        "2.0.0",
        "Firmware",
        "Installed",
        url,
    )
    out = await call(
        session,
        d,
        "CMS",
        "GetValues",
        [("Parameters", cms_xml.build_content_path_list(["/UPnP/DM/DeviceInfo/SoftwareVersion"]))],
    )
    assert cms_xml.parse_parameter_value_list(out["ParameterValueList"])[0].value == "2.0.0"
    assert (await call(session, d, "SMS", "GetOperationIDs"))["OperationIDs"] == ""


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("refused", "Error_Network"),
        ("not-found", "Error_Network"),
        ("not-loopback", "Error_Network"),
        ("corrupt", "Error_CorruptedFile"),
        ("disk-full", "Error_DiskFull"),
    ],
)
async def test_firmware_update_failures(
    lab: LabServer, session: aiohttp.ClientSession, events: CallbackServer, case: str, error: str
) -> None:
    """Reference §4.1 ErrorDescription: each failure ends the operation in Error."""
    d = lab.devices[0]
    good = lab.host_file("good.bin", make_image("firmware", "9.9"))
    url = {
        "refused": "http://127.0.0.1:1/fw.bin",
        "not-found": f"{lab.base_url}/files/missing.bin",
        "not-loopback": "http://192.0.2.1/fw.bin",
        "corrupt": lab.host_file("bad.bin", b"MZ\x90\x00 not a lab image"),
        "disk-full": good,
    }[case]
    if case == "disk-full":
        async with session.post(
            f"{lab.base_url}/_lab/{d.udn}/faults", json={"disk_full": True}
        ) as r:
            assert r.status == 200
    op_id = await update(session, d, url)
    await until_done(events, op_id)
    info = await operation(session, d, op_id)
    assert (info["OperationState"], info["ErrorDescription"]) == ("Error", error)
    assert (await call(session, d, "SMS", "GetDUInfo", [("DUID", "0")]))["DUVersion"] == "1.0.0"


async def test_reboot_during_update_loses_the_operation(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    """TR-330 §4.7.1 exception 2: after a reboot the OperationID is unknown."""
    d = lab.devices[0]
    d.faults.operation_delay = 30.0
    recorder = SsdpRecorder()
    d.ssdp = recorder
    op_id = await update(session, d, lab.host_file("fw.bin", make_image("firmware", "3.0")))
    assert (await call(session, d, "SMS", "GetOperationIDs"))["OperationIDs"] == op_id
    await call(session, d, "BMS", "Reboot")
    await recorder.alive_event.wait()
    with pytest.raises(UpnpError) as exc:
        await operation(session, d, op_id)
    assert exc.value.code == 600
    assert (await call(session, d, "SMS", "GetOperationIDs"))["OperationIDs"] == ""


async def test_install_start_stop_uninstall(
    lab: LabServer, session: aiohttp.ClientSession, events: CallbackServer
) -> None:
    """Reference §4.2: Install makes a DU/EU, Stop/Start change EU state, Uninstall removes it."""
    d = lab.devices[0]
    url = lab.host_file("app.bin", make_image("weather", "0.3"))
    op_id = (
        await call(
            session,
            d,
            "SMS",
            "Install",
            [("DUURI", url), ("DUType", "Application"), ("HandleDependencies", "0")],
        )
    )["OperationID"]
    await until_done(events, op_id)
    info = await operation(session, d, op_id)
    assert info["OperationState"] == "Completed"
    duid, euid = info["TargetedIDs"].split(",")
    assert (await call(session, d, "SMS", "GetDUInfo", [("DUID", duid)]))["DUName"] == "weather"
    op_id = (await call(session, d, "SMS", "Stop", [("EUID", euid), ("HandleDependencies", "0")]))[
        "OperationID"
    ]
    await until_done(events, op_id)
    eu = await call(session, d, "SMS", "GetEUInfo", [("EUID", euid)])
    assert (eu["EURequestedState"], eu["EURunningState"]) == ("Inactive", "Stopped")
    assert euid not in (await call(session, d, "SMS", "GetRunningEUIDs"))["RunningEUIDs"].split(",")
    op_id = (await call(session, d, "SMS", "Start", [("EUID", euid), ("HandleDependencies", "0")]))[
        "OperationID"
    ]
    await until_done(events, op_id)
    assert euid in (await call(session, d, "SMS", "GetActiveEUIDs"))["ActiveEUIDs"].split(",")
    op_id = (
        await call(session, d, "SMS", "Uninstall", [("DUID", duid), ("HandleDependencies", "0")])
    )["OperationID"]
    await until_done(events, op_id)
    assert duid not in (await call(session, d, "SMS", "GetDUIDs"))["DUIDs"].split(",")
    assert (await call(session, d, "SMS", "GetErrorEUIDs"))["ErrorEUIDs"] == ""
    for action, args in (
        ("Uninstall", [("DUID", "0"), ("HandleDependencies", "0")]),
        ("Stop", [("EUID", "0"), ("HandleDependencies", "0")]),
        ("Update", [("DUID", "77"), ("NewDUURI", url), ("HandleDependencies", "0")]),
        ("GetEUInfo", [("EUID", "77")]),
    ):
        with pytest.raises(UpnpError) as exc:
            await call(session, d, "SMS", action, args)
        assert exc.value.code == 600, action


def test_image_format() -> None:
    assert parse_image(make_image("a", "1.2", b"payload")) == {"Name": "a", "Version": "1.2"}
    for bad in (b"", b"PROXIER-LAB-IMAGE 1\nName: a\n", b"PROXIER-LAB-IMAGE 1\nName: a\n\n"):
        with pytest.raises(ValueError):
            parse_image(bad)
