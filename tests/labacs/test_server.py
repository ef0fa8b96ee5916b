"""The lab ACS over loopback HTTP: sessions (TR-069 §3.7.2), auth (§3.4.4), REST, tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from proxier.cwmp import rpc
from proxier.cwmp.http import HttpAcsTransport, HttpSettings
from proxier.cwmp.rpc import Envelope
from proxier.cwmp.soap import decode, encode
from proxier.labacs.client import LabAcsClient, LabAcsError
from proxier.labacs.server import LabAcs, LabAcsConfig
from tests.labacs.cpe import DEVICE_ID, inform, run_session


@pytest.fixture
async def acs() -> AsyncIterator[LabAcs]:
    async with LabAcs(LabAcsConfig(port=0, username="cpe", password="pw")) as server:
        yield server


@pytest.fixture
async def client(acs: LabAcs) -> AsyncIterator[LabAcsClient]:
    async with LabAcsClient(acs.base_url) as c:
        yield c


def _gpv_answer(request: Any) -> Any:
    assert isinstance(request, rpc.GetParameterValues)
    return rpc.GetParameterValuesResponse(
        tuple(rpc.ParameterValueStruct(n, "v:" + n) for n in request.parameter_names)
    )


async def test_bootstrap_session_recorded(acs: LabAcs, client: LabAcsClient) -> None:
    """§3.7.2: Inform → InformResponse (MaxEnvelopes 1), empty POST → 204; the Inform's
    events, CommandKeys and parameters are kept per device (GenieACS-style id)."""
    settings = HttpSettings(acs.url, "cpe", "pw")
    received = await run_session(
        settings, _gpv_answer, first=inform((("0 BOOTSTRAP", ""), ("1 BOOT", "")))
    )
    assert received == [rpc.InformResponse(max_envelopes=1)]
    devices = await client.devices()
    assert [d["id"] for d in devices] == [DEVICE_ID]
    device = await client.device(DEVICE_ID)
    assert device["lastInform"]["events"] == [["0 BOOTSTRAP", ""], ["1 BOOT", ""]]
    assert device["parameters"]["Device.DeviceInfo.SoftwareVersion"]["value"] == "1.0"
    assert device["inSession"] is False
    sessions = await client.sessions(DEVICE_ID)
    assert [s["outcome"] for s in sessions] == ["completed"]


async def test_queued_task_runs_in_next_session(acs: LabAcs, client: LabAcsClient) -> None:
    """§3.7.2: queued RPCs go out one per HTTP response after the empty POST; the
    response is recorded on the task; the session ends with 204."""
    settings = HttpSettings(acs.url, "cpe", "pw")
    await run_session(settings, _gpv_answer)
    task = await client.add_task(
        DEVICE_ID,
        {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.UpTime"]},
    )
    assert task["status"] == "pending"
    assert task["connectionRequest"] == "no ConnectionRequestURL known"
    received = await run_session(
        settings, _gpv_answer, first=inform((("6 CONNECTION REQUEST", ""),))
    )
    assert received[1] == rpc.GetParameterValues(("Device.DeviceInfo.UpTime",))
    done = await client.task(DEVICE_ID, task["id"], wait=5)
    assert done["status"] == "done"
    assert done["result"] == {
        "name": "GetParameterValuesResponse",
        "parameterList": [
            {
                "name": "Device.DeviceInfo.UpTime",
                "value": "v:Device.DeviceInfo.UpTime",
                "type": "xsd:string",
            }
        ],
    }
    device = await client.device(DEVICE_ID)
    assert device["parameters"]["Device.DeviceInfo.UpTime"]["value"] == "v:Device.DeviceInfo.UpTime"


async def test_fault_is_recorded(acs: LabAcs, client: LabAcsClient) -> None:
    """§A.5: a CPE fault (with SetParameterValuesFault entries) is the task's result."""
    settings = HttpSettings(acs.url, "cpe", "pw")
    await run_session(settings, _gpv_answer)
    task = await client.add_task(
        DEVICE_ID,
        {"name": "SetParameterValues", "parameterList": [["Device.X", "1", "xsd:int"]]},
    )
    fault = rpc.Fault(
        9003, "Invalid arguments", (rpc.SetParameterValuesFault("Device.X", 9005, "nope"),)
    )
    await run_session(settings, lambda request: fault)
    done = await client.task(DEVICE_ID, task["id"])
    assert done["status"] == "fault"
    assert done["result"]["faultCode"] == 9003
    assert done["result"]["setParameterValuesFault"][0]["parameterName"] == "Device.X"


async def test_transfer_complete_and_rpc_methods(acs: LabAcs, client: LabAcsClient) -> None:
    """§3.7.2 / A.3.3: CPE requests before the empty POST are answered and recorded."""
    settings = HttpSettings(acs.url, "cpe", "pw")
    tc = rpc.TransferComplete(
        "ck-1",
        rpc.FaultStruct(0, ""),
        rpc.UNKNOWN_TIME,
        rpc.UNKNOWN_TIME,
    )
    received = await run_session(
        settings,
        _gpv_answer,
        first=inform((("7 TRANSFER COMPLETE", ""), ("M Download", "ck-1"))),
        cpe_requests=(rpc.GetRPCMethods(), tc),
    )
    assert isinstance(received[1], rpc.GetRPCMethodsResponse)
    assert "TransferComplete" in received[1].method_list
    assert received[2] == rpc.TransferCompleteResponse()
    requests = await client.cpe_requests(DEVICE_ID)
    assert [r["name"] for r in requests] == ["GetRPCMethods", "TransferComplete"]
    assert requests[1]["body"]["commandKey"] == "ck-1"


async def test_autonomous_transfer_complete_answered_and_recorded(
    acs: LabAcs, client: LabAcsClient
) -> None:
    """A.3.3.3 / Table 7 "10 AUTONOMOUS TRANSFER COMPLETE": the ACS answers
    AutonomousTransferCompleteResponse and records the request with its Table 41 fields."""
    settings = HttpSettings(acs.url, "cpe", "pw")
    atc = rpc.AutonomousTransferComplete(
        "",
        "http://127.0.0.1:9/fw.bin",
        True,
        "1 Firmware Upgrade Image",
        0,
        "",
        rpc.FaultStruct(9010, "Download failure"),
        rpc.UNKNOWN_TIME,
        rpc.UNKNOWN_TIME,
    )
    received = await run_session(
        settings,
        _gpv_answer,
        first=inform((("10 AUTONOMOUS TRANSFER COMPLETE", ""),)),
        cpe_requests=(atc,),
    )
    assert received[1] == rpc.AutonomousTransferCompleteResponse()
    (request,) = await client.cpe_requests(DEVICE_ID)
    assert request["name"] == "AutonomousTransferComplete"
    assert request["body"]["transferUrl"] == "http://127.0.0.1:9/fw.bin"
    assert request["body"]["faultStruct"] == {"faultCode": 9010, "faultString": "Download failure"}


async def test_answers_in_the_cpe_namespace(acs: LabAcs) -> None:
    """§3.5 / reference §4.1: the ACS answers in the CWMP version the CPE's Inform used."""
    async with HttpAcsTransport(HttpSettings(acs.url, "cpe", "pw")) as transport:
        reply = await transport.post(encode(Envelope(inform(), "id-7", version="1.0")))
    assert b"urn:dslforum-org:cwmp-1-0" in reply.body
    envelope = decode(reply.body)
    assert envelope.cwmp_id == "id-7" and envelope.version == "1.0"


async def test_authentication_required(acs: LabAcs) -> None:
    """§3.4.4: without TLS the ACS authenticates the CPE with digest; wrong password fails."""
    async with aiohttp.ClientSession() as session:
        async with session.post(acs.url, data=encode(Envelope(inform(), "1"))) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Digest ")
    async with HttpAcsTransport(HttpSettings(acs.url, "cpe", "wrong")) as transport:
        with pytest.raises(Exception, match="401"):
            await transport.post(encode(Envelope(inform(), "1")))


async def test_session_needs_inform_first(acs: LabAcs) -> None:
    """§3.7.2 (GenieACS Q5): an empty POST with no session is "Invalid session" (400)."""
    async with HttpAcsTransport(HttpSettings(acs.url, "cpe", "pw")) as transport:
        reply = await transport.post(b"")
    assert reply.status == 400 and reply.body == b"Invalid session"


async def test_new_inform_supersedes_dead_session(acs: LabAcs, client: LabAcsClient) -> None:
    """A CPE killed mid-session comes back with a new Inform; the task in flight is
    re-sent in the new session instead of being lost."""
    settings = HttpSettings(acs.url, "cpe", "pw")
    await run_session(settings, _gpv_answer)
    task = await client.add_task(DEVICE_ID, {"name": "Reboot", "commandKey": "r1"})
    dead = HttpAcsTransport(settings)
    await dead.post(encode(Envelope(inform(), "1")))
    reply = await dead.post(b"")
    assert decode(reply.body).body == rpc.Reboot("r1")
    await dead.close()  # vanishes without answering
    assert acs.in_session(DEVICE_ID)
    received = await run_session(settings, lambda request: rpc.RebootResponse())
    assert received[1] == rpc.Reboot("r1")
    assert (await client.task(DEVICE_ID, task["id"]))["status"] == "done"
    outcomes = [s["outcome"] for s in await client.sessions(DEVICE_ID)]
    assert outcomes == ["completed", "superseded by a new session", "completed"]


async def test_rest_errors(acs: LabAcs, client: LabAcsClient) -> None:
    """Bad input gets a precise error, never a crash."""
    with pytest.raises(LabAcsError) as unknown:
        await client.device("nobody")
    assert unknown.value.status == 404
    await run_session(HttpSettings(acs.url, "cpe", "pw"), _gpv_answer)
    with pytest.raises(LabAcsError) as bad:
        await client.add_task(DEVICE_ID, {"name": "Explode"})
    assert bad.value.status == 400 and "unknown RPC" in bad.value.body["error"]
    with pytest.raises(LabAcsError) as missing:
        await client.add_task(DEVICE_ID, {"name": "AddObject"})
    assert "objectName" in missing.value.body["error"]


async def test_task_passwords_redacted(acs: LabAcs, client: LabAcsClient) -> None:
    """Secrets never reach output: Download passwords are masked in task listings."""
    await run_session(HttpSettings(acs.url, "cpe", "pw"), _gpv_answer)
    task = await client.add_task(
        DEVICE_ID,
        {
            "name": "Download",
            "commandKey": "d",
            "fileType": "1 Firmware Upgrade Image",
            "url": "http://127.0.0.1/fw.bin",
            "username": "u",
            "password": "hunter2",
        },
        connection_request=False,
    )
    assert task["args"]["password"] == "***"
    assert "hunter2" not in str(await client.tasks(DEVICE_ID))


async def test_connection_request_only_to_loopback(acs: LabAcs) -> None:
    """Network safety: by default the lab ACS sends Connection Requests to loopback only;
    an https ConnectionRequestURL is refused too (TR-069 §3.2.2: HTTP, not HTTPS)."""
    settings = HttpSettings(acs.url, "cpe", "pw")
    await run_session(settings, _gpv_answer, first=inform(cr_url="http://192.0.2.1:7548/cr/x"))
    assert (await acs.connection_request(DEVICE_ID)).startswith("refused")
    await run_session(settings, _gpv_answer, first=inform(cr_url="https://127.0.0.1:7548/cr/x"))
    assert "not an http URL" in await acs.connection_request(DEVICE_ID)
