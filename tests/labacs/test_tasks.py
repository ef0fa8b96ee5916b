"""Lab ACS task JSON ⇄ CWMP RPCs (Annex A argument names) and the device id (§3.4.4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from proxier.cwmp import rpc
from proxier.labacs.tasks import (
    REQUESTS,
    TaskError,
    device_id,
    expected_response,
    result_json,
    task_request,
)


def test_device_id_escapes_like_tr069_usernames() -> None:
    """TR-069 §3.4.4 examples: OUI-ProductClass-Serial, OUI-Serial when ProductClass is
    empty, and every non-[A-Za-z0-9_] character percent-encoded (012345-Set%2DTop%2DBox-…)."""
    assert device_id(rpc.DeviceIdStruct("m", "012345", "STB", "0123456789")) == (
        "012345-STB-0123456789"
    )
    assert device_id(rpc.DeviceIdStruct("m", "012345", "", "0123456789")) == "012345-0123456789"
    assert device_id(rpc.DeviceIdStruct("m", "012345", "Set-Top-Box", "0123456789")) == (
        "012345-Set%2DTop%2DBox-0123456789"
    )
    assert device_id(rpc.DeviceIdStruct("m", "00D09E", "Box", "é 1")) == "00D09E-Box-%C3%A9%201"


def test_every_cpe_rpc_is_a_task() -> None:
    """Annex A: the lab ACS can issue every CPE method proxier implements."""
    assert set(REQUESTS) >= {
        "GetRPCMethods",
        "GetParameterNames",
        "GetParameterValues",
        "SetParameterValues",
        "GetParameterAttributes",
        "SetParameterAttributes",
        "AddObject",
        "DeleteObject",
        "Reboot",
        "FactoryReset",
        "Download",
        "Upload",
        "ScheduleInform",
        "GetQueuedTransfers",
        "GetAllQueuedTransfers",
        "CancelTransfer",
        "ScheduleDownload",
    }


@pytest.mark.parametrize(
    ("task", "request_"),
    [
        ({"name": "GetRPCMethods"}, rpc.GetRPCMethods()),
        (
            {"name": "getParameterNames", "parameterPath": "Device.", "nextLevel": True},
            rpc.GetParameterNames("Device.", True),
        ),
        (
            {"name": "GetParameterValues", "parameterNames": ["Device.A", "Device.B."]},
            rpc.GetParameterValues(("Device.A", "Device.B.")),
        ),
        (
            {
                "name": "SetParameterValues",
                "parameterValues": [["Device.A", True], ["Device.B", 7], ["Device.C", "x"]],
                "parameterKey": "pk",
            },
            rpc.SetParameterValues(
                (
                    rpc.ParameterValueStruct("Device.A", "true", "xsd:boolean"),
                    rpc.ParameterValueStruct("Device.B", "7", "xsd:unsignedInt"),
                    rpc.ParameterValueStruct("Device.C", "x", "xsd:string"),
                ),
                "pk",
            ),
        ),
        (
            {
                "name": "SetParameterAttributes",
                "parameterList": [
                    {
                        "name": "Device.A",
                        "notificationChange": True,
                        "notification": 2,
                        "accessListChange": False,
                    }
                ],
            },
            rpc.SetParameterAttributes(
                (rpc.SetParameterAttributesStruct("Device.A", True, 2, False),)
            ),
        ),
        (
            {"name": "AddObject", "objectName": "Device.T.", "parameterKey": "k"},
            rpc.AddObject("Device.T.", "k"),
        ),
        ({"name": "DeleteObject", "objectName": "Device.T.2."}, rpc.DeleteObject("Device.T.2.")),
        ({"name": "Reboot", "commandKey": "r"}, rpc.Reboot("r")),
        ({"name": "FactoryReset"}, rpc.FactoryReset()),
        (
            {"name": "ScheduleInform", "delaySeconds": 30, "commandKey": "s"},
            rpc.ScheduleInform(30, "s"),
        ),
        ({"name": "CancelTransfer", "commandKey": "d"}, rpc.CancelTransfer("d")),
    ],
)
def test_task_to_request(task: dict[str, object], request_: object) -> None:
    """Task JSON uses Annex A argument names in camelCase (GenieACS aliases accepted)."""
    assert task_request(task) == request_


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ({}, "name"),
        ({"name": "Nope"}, "unknown RPC"),
        ({"name": "AddObject"}, "objectName"),
        ({"name": "Reboot", "extra": 1}, "unknown field"),
        ({"name": "ScheduleInform", "delaySeconds": "soon"}, "integer"),
        ({"name": "GetParameterValues", "parameterNames": "Device."}, "list"),
        ({"name": "GetParameterNames", "parameterPath": "", "nextLevel": "maybe"}, "boolean"),
    ],
)
def test_bad_tasks_say_why(task: dict[str, object], message: str) -> None:
    """Bad input gets a precise error naming the field."""
    with pytest.raises(TaskError, match=message):
        task_request(task)


def test_results_as_json() -> None:
    """Results carry the response name and its fields; datetimes in xsd:dateTime form."""
    response = rpc.DownloadResponse(1, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    data = result_json(response)
    assert data["name"] == "DownloadResponse" and data["status"] == 1
    assert data["startTime"].startswith("2026-01-02T03:04:05")
    assert result_json(rpc.Fault(9005, "Invalid parameter name"))["name"] == "Fault"
    assert expected_response(rpc.Reboot()) is rpc.RebootResponse
    assert (
        expected_response(
            task_request(
                {"name": "ScheduleDownload", "commandKey": "", "fileType": "1", "url": "u"}
            )
        )
        is None
    )
