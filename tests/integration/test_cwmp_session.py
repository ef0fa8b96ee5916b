"""Engine ⇄ lab ACS over loopback HTTP: session flow and every RPC and fault end to end
(TR-069 §3.7.1, Annex A; engine + MemoryBackend + HttpAcsTransport + Connection Request
server against the lab ACS)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.labacs.server import LabAcs
from tests.integration.harness import VirtualCpe, lab, running_cpe


@pytest.fixture
async def stack(
    tmp_path: Path,
) -> AsyncIterator[tuple[LabAcs, ConnectionRequestServer, VirtualCpe]]:
    async with lab(tmp_path) as (acs, crs), running_cpe(tmp_path, acs, crs) as cpe:
        yield acs, crs, cpe


async def run(acs: LabAcs, cpe: VirtualCpe, task: dict[str, Any]) -> dict[str, Any]:
    """Queue a task (the lab ACS sends a Connection Request) and wait for its outcome."""
    queued = await acs.queue_task(cpe.id, task)
    assert queued["connectionRequest"] == "ok", queued
    done = await acs.wait_task(cpe.id, queued["id"], 20.0)
    assert done is not None and done["status"] in ("done", "fault"), done
    return done


def events(inform: dict[str, Any]) -> list[list[str]]:
    return [list(e) for e in inform["events"]]


async def test_bootstrap_session(stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe]) -> None:
    """§3.7.1 session flow and Table 7: a fresh device's first Inform carries exactly
    "0 BOOTSTRAP" and "1 BOOT", the forced Inform parameters (incl. its own
    ConnectionRequestURL), RetryCount 0, in cwmp-1-2; the ACS ends the session with 204."""
    acs, _, cpe = stack
    assert cpe.results[0].ok
    (first,) = acs.store.informs(cpe.id)
    assert events(first) == [["0 BOOTSTRAP", ""], ["1 BOOT", ""]]
    assert first["retryCount"] == 0 and first["cwmpVersion"] == "1.2"
    params = first["parameters"]
    assert params["Device.ManagementServer.ConnectionRequestURL"][0] == cpe.cr_url
    assert params["Device.ManagementServer.ParameterKey"][0] == ""
    for name in ("HardwareVersion", "SoftwareVersion", "ProvisioningCode"):
        assert "Device.DeviceInfo." + name in params
    assert [s["outcome"] for s in acs.store.sessions(cpe.id)] == ["completed"]


async def test_connection_request_then_gpv(
    stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe],
) -> None:
    """§3.2.2 + §3.7.1: a queued GetParameterValues makes the ACS send a Connection
    Request; the CPE opens a session with "6 CONNECTION REQUEST" and answers it."""
    acs, _, cpe = stack
    done = await run(
        acs, cpe, {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo."]}
    )
    values = {p["name"]: p["value"] for p in done["result"]["parameterList"]}
    assert values["Device.DeviceInfo.SerialNumber"] == "0001"
    assert values["Device.DeviceInfo.ManufacturerOUI"] == "00D09E"
    assert events(acs.store.informs(cpe.id)[-1]) == [["6 CONNECTION REQUEST", ""]]


async def test_get_rpc_methods(stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe]) -> None:
    """A.3.1.1 GetRPCMethods: every CPE method proxier implements, not ScheduleDownload."""
    acs, _, cpe = stack
    done = await run(acs, cpe, {"name": "GetRPCMethods"})
    methods = set(done["result"]["methodList"])
    assert {"GetParameterValues", "SetParameterValues", "Download", "Reboot"} <= methods
    assert "ScheduleDownload" not in methods


async def test_get_parameter_names(
    stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe],
) -> None:
    """A.3.2.3 GetParameterNames: NextLevel true lists the children, objects end in '.';
    the empty path is the root (GenieACS sends it)."""
    acs, _, cpe = stack
    done = await run(
        acs,
        cpe,
        {
            "name": "GetParameterNames",
            "parameterPath": "Device.ManagementServer.",
            "nextLevel": True,
        },
    )
    names = {p["name"]: p["writable"] for p in done["result"]["parameterList"]}
    assert names["Device.ManagementServer.URL"] is True
    assert names["Device.ManagementServer.ParameterKey"] is False
    root = await run(
        acs, cpe, {"name": "GetParameterNames", "parameterPath": "", "nextLevel": True}
    )
    assert [p["name"] for p in root["result"]["parameterList"]] == ["Device."]


async def test_set_parameter_values_and_parameter_key(
    stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe],
) -> None:
    """A.3.2.1 SetParameterValues: applied, and the ParameterKey becomes the forced
    Inform parameter ManagementServer.ParameterKey of the next session."""
    acs, _, cpe = stack
    done = await run(
        acs,
        cpe,
        {
            "name": "SetParameterValues",
            "parameterList": [["Device.DeviceInfo.ProvisioningCode", "PC-7", "xsd:string"]],
            "parameterKey": "spv-1",
        },
    )
    assert done["result"] == {"name": "SetParameterValuesResponse", "status": 0}
    read = await run(
        acs,
        cpe,
        {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.ProvisioningCode"]},
    )
    assert read["result"]["parameterList"][0]["value"] == "PC-7"
    inform = acs.store.informs(cpe.id)[-1]
    assert inform["parameters"]["Device.ManagementServer.ParameterKey"][0] == "spv-1"


async def test_set_parameter_values_fault_list(
    stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe],
) -> None:
    """A.3.2.1 / A.5: an SPV with a bad parameter is refused whole (9003) with a
    SetParameterValuesFault per offending parameter; nothing is applied."""
    acs, _, cpe = stack
    done = await run(
        acs,
        cpe,
        {
            "name": "SetParameterValues",
            "parameterList": [
                ["Device.DeviceInfo.ProvisioningCode", "ok", "xsd:string"],
                ["Device.DeviceInfo.Nope", "x", "xsd:string"],
                ["Device.DeviceInfo.Manufacturer", "x", "xsd:string"],
            ],
            "parameterKey": "bad",
        },
    )
    assert done["status"] == "fault" and done["result"]["faultCode"] == 9003
    per_param = {
        f["parameterName"]: f["faultCode"] for f in done["result"]["setParameterValuesFault"]
    }
    assert per_param == {"Device.DeviceInfo.Nope": 9005, "Device.DeviceInfo.Manufacturer": 9008}
    read = await run(
        acs,
        cpe,
        {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.ProvisioningCode"]},
    )
    assert read["result"]["parameterList"][0]["value"] == ""
    inform = acs.store.informs(cpe.id)[-1]
    assert inform["parameters"]["Device.ManagementServer.ParameterKey"][0] == ""


async def test_gpv_invalid_name_fault(
    stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe],
) -> None:
    """A.5 fault 9005 Invalid parameter name, through the whole stack."""
    acs, _, cpe = stack
    done = await run(acs, cpe, {"name": "GetParameterValues", "parameterNames": ["Device.Nope."]})
    assert done["status"] == "fault" and done["result"]["faultCode"] == 9005


async def test_attributes(stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe]) -> None:
    """A.3.2.4/A.3.2.5 Set/GetParameterAttributes: notification set is read back."""
    acs, _, cpe = stack
    name = "Device.DeviceInfo.HardwareVersion"
    await run(
        acs,
        cpe,
        {
            "name": "SetParameterAttributes",
            "parameterList": [
                {
                    "name": name,
                    "notificationChange": True,
                    "notification": 1,
                    "accessListChange": False,
                }
            ],
        },
    )
    done = await run(acs, cpe, {"name": "GetParameterAttributes", "parameterNames": [name]})
    (attr,) = done["result"]["parameterList"]
    assert attr["name"] == name and attr["notification"] == 1


async def test_add_and_delete_object(
    stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe],
) -> None:
    """A.3.2.6/A.3.2.7 AddObject/DeleteObject with ParameterKey; deleting twice → 9005."""
    acs, _, cpe = stack
    added = await run(
        acs, cpe, {"name": "AddObject", "objectName": "Device.Hosts.Host.", "parameterKey": "add"}
    )
    number = added["result"]["instanceNumber"]
    assert number >= 1 and added["result"]["status"] == 0
    path = f"Device.Hosts.Host.{number}."
    read = await run(acs, cpe, {"name": "GetParameterValues", "parameterNames": [path]})
    assert {p["name"] for p in read["result"]["parameterList"]} >= {path + "HostName"}
    deleted = await run(
        acs, cpe, {"name": "DeleteObject", "objectName": path, "parameterKey": "del"}
    )
    assert deleted["result"]["status"] == 0
    again = await run(acs, cpe, {"name": "DeleteObject", "objectName": path})
    assert again["status"] == "fault" and again["result"]["faultCode"] == 9005
    keys = [
        i["parameters"]["Device.ManagementServer.ParameterKey"][0]
        for i in acs.store.informs(cpe.id)
    ]
    assert keys[-2:] == ["add", "del"]


async def test_reboot(stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe]) -> None:
    """A.3.2.8 Reboot after the session; then "1 BOOT" + "M Reboot" with its CommandKey."""
    acs, _, cpe = stack
    before = acs.store.informs(cpe.id)[-1]["id"]
    await run(acs, cpe, {"name": "Reboot", "commandKey": "rb-1"})
    informs = await acs.wait_informs(cpe.id, after=before, count=2)
    assert sorted(events(informs[1])) == [["1 BOOT", ""], ["M Reboot", "rb-1"]]
    assert cpe.backend.reboots == 1


async def test_factory_reset(stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe]) -> None:
    """A.4.1.6 FactoryReset: afterwards the device bootstraps again ("0 BOOTSTRAP")."""
    acs, _, cpe = stack
    before = acs.store.informs(cpe.id)[-1]["id"]
    await run(acs, cpe, {"name": "FactoryReset"})
    informs = await acs.wait_informs(cpe.id, after=before, count=2)
    codes = [e[0] for e in informs[1]["events"]]
    assert "0 BOOTSTRAP" in codes and "1 BOOT" in codes


async def test_download_transfer_complete(
    stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe],
) -> None:
    """A.3.2.8 Download with Status 1, then a session with "7 TRANSFER COMPLETE" +
    "M Download" (its CommandKey) carrying TransferComplete (A.3.3.2)."""
    acs, _, cpe = stack
    before = acs.store.informs(cpe.id)[-1]["id"]
    done = await run(
        acs,
        cpe,
        {
            "name": "Download",
            "commandKey": "dl-1",
            "fileType": "1 Firmware Upgrade Image",
            "url": "http://127.0.0.1:9/fw.bin",
        },
    )
    assert done["result"]["status"] == 1
    informs = await acs.wait_informs(cpe.id, after=before, count=2)
    assert sorted(events(informs[1])) == [["7 TRANSFER COMPLETE", ""], ["M Download", "dl-1"]]
    requests = await acs.wait_for(lambda: acs.store.cpe_requests(cpe.id), 10.0)
    assert requests[-1]["name"] == "TransferComplete"
    assert requests[-1]["body"]["commandKey"] == "dl-1"


async def test_upload_and_queued_transfers(
    stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe],
) -> None:
    """A.4.1.5 Upload; A.4.1.1/A.4.1.7 Get(All)QueuedTransfers list a delayed transfer;
    A.4.1.8 CancelTransfer removes it (unknown key → 9003)."""
    acs, _, cpe = stack
    upload = await run(
        acs,
        cpe,
        {
            "name": "Upload",
            "commandKey": "ul-1",
            "fileType": "3 Vendor Configuration File",
            "url": "http://127.0.0.1:9/cfg",
            "delaySeconds": 3600,
        },
    )
    assert upload["result"]["status"] == 1
    queued = await run(acs, cpe, {"name": "GetQueuedTransfers"})
    assert queued["result"]["transferList"] == [{"commandKey": "ul-1", "state": 1}]
    every = await run(acs, cpe, {"name": "GetAllQueuedTransfers"})
    assert every["result"]["transferList"][0]["isDownload"] is False
    cancelled = await run(acs, cpe, {"name": "CancelTransfer", "commandKey": "ul-1"})
    assert cancelled["status"] == "done"
    unknown = await run(acs, cpe, {"name": "CancelTransfer", "commandKey": "ul-1"})
    assert unknown["status"] == "fault" and unknown["result"]["faultCode"] == 9003


async def test_schedule_inform(stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe]) -> None:
    """A.4.1.2 ScheduleInform: DelaySeconds 0 is refused (9003); a valid one is accepted
    (the "3 SCHEDULED" session itself is checked with an injected clock elsewhere)."""
    acs, _, cpe = stack
    bad = await run(acs, cpe, {"name": "ScheduleInform", "delaySeconds": 0})
    assert bad["status"] == "fault" and bad["result"]["faultCode"] == 9003
    ok = await run(acs, cpe, {"name": "ScheduleInform", "delaySeconds": 3600, "commandKey": "s"})
    assert ok["status"] == "done"


async def test_schedule_download_refused(
    stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe],
) -> None:
    """TR-330 §4.7.1.1: ScheduleDownload is answered 9000 Method not supported."""
    acs, _, cpe = stack
    done = await run(
        acs,
        cpe,
        {
            "name": "ScheduleDownload",
            "commandKey": "sd",
            "fileType": "1 Firmware Upgrade Image",
            "url": "http://127.0.0.1:9/fw",
            "timeWindowList": [[0, 3600, "1 At Any Time"]],
        },
    )
    assert done["status"] == "fault" and done["result"]["faultCode"] == 9000


async def test_several_tasks_in_one_session(
    stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe],
) -> None:
    """§3.7.1.3/MaxEnvelopes 1: queued RPCs go one per HTTP exchange in one session."""
    acs, _, cpe = stack
    first = await acs.queue_task(
        cpe.id,
        {"name": "GetParameterValues", "parameterNames": ["Device.RootDataModelVersion"]},
        connection_request=False,
    )
    second = await acs.queue_task(cpe.id, {"name": "GetRPCMethods"})
    for task in (first, second):
        done = await acs.wait_task(cpe.id, task["id"], 20.0)
        assert done is not None and done["status"] == "done"
    sessions = acs.store.sessions(cpe.id)
    assert len(sessions) == 2 and sessions[-1]["outcome"] == "completed"


async def test_schedule_inform_bounded_answers_9004_beyond_the_limit(
    stack: tuple[LabAcs, ConnectionRequestServer, VirtualCpe],
) -> None:
    """Issue 12 item 8 (TR-069 A.4.1.2, fault 9004 Resources exceeded): pending
    ScheduleInforms are bounded like queued transfers; one more in the same CWMP session is
    refused with 9004 and the store keeps only the bounded number."""
    from proxier.cwmp.engine import MAX_SCHEDULED_INFORMS

    acs, _, cpe = stack
    queued = [
        await acs.queue_task(
            cpe.id,
            {"name": "ScheduleInform", "delaySeconds": 3600 + i, "commandKey": f"s{i}"},
            connection_request=(i == MAX_SCHEDULED_INFORMS),
        )
        for i in range(MAX_SCHEDULED_INFORMS + 1)
    ]
    done = [await acs.wait_task(cpe.id, t["id"], 20.0) for t in queued]
    assert all(d is not None for d in done)
    statuses = [d["status"] for d in done if d is not None]
    assert statuses[:MAX_SCHEDULED_INFORMS] == ["done"] * MAX_SCHEDULED_INFORMS
    last = done[-1]
    assert last is not None and last["status"] == "fault"
    assert last["result"]["faultCode"] == 9004
    assert len(cpe.store.scheduled_informs()) == MAX_SCHEDULED_INFORMS
