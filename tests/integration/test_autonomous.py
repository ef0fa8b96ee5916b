"""AutonomousTransferComplete over real loopback HTTP against the lab ACS (TR-069 A.3.3.3,
Table 7 "10 AUTONOMOUS TRANSFER COMPLETE", TR-330 §4.7.1.3), incl. a kill -9 before
delivery and the AutonomousTransferCompletePolicy the ACS sets."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from proxier.cwmp.rpc import AutonomousTransferComplete, FaultStruct, Inform
from proxier.labacs.server import LabAcs
from tests.integration.harness import lab, running_cpe
from tests.integration.test_cwmp_session import run
from tests.integration.test_kill9 import spawn
from tests.ports import free_port

DEVICE = "00D09E-VirtualBox-0001"
TEN = "10 AUTONOMOUS TRANSFER COMPLETE"
POLICY = "Device.ManagementServer.AutonomousTransferCompletePolicy."

UPDATED = AutonomousTransferComplete(
    announce_url="",
    transfer_url="http://127.0.0.1:9/fw-3.0.bin",
    is_download=True,
    file_type="1 Firmware Upgrade Image",
    file_size=0,
    target_file_name="",
    fault_struct=FaultStruct(),
    start_time=datetime(2026, 11, 21, 17, 0, 0, tzinfo=UTC),
    complete_time=datetime(2026, 11, 21, 17, 1, 30, tzinfo=UTC),
)
FAILED = AutonomousTransferComplete(
    "",
    "http://127.0.0.1:9/bad.bin",
    True,
    "1 Firmware Upgrade Image",
    0,
    "",
    FaultStruct(9010, "Download failure"),
    UPDATED.start_time,
    UPDATED.complete_time,
)


def enable_policy(**extra: str) -> dict[str, Any]:
    params = [[POLICY + "Enable", "true", "xsd:boolean"]]
    params += [[POLICY + leaf, value, "xsd:string"] for leaf, value in extra.items()]
    return {"name": "SetParameterValues", "parameterList": params, "parameterKey": "atc"}


def autonomous_requests(acs: LabAcs, dev_id: str) -> list[dict[str, Any]]:
    return [r for r in acs.store.cpe_requests(dev_id) if r["name"] == "AutonomousTransferComplete"]


async def test_autonomous_transfer_complete_reaches_the_acs(tmp_path: Path) -> None:
    """A.3.3.3 / Table 7 over HTTP: after the ACS enabled the policy with ResultTypeFilter
    "Success", a failed autonomous update is not reported and a successful one is: one
    Inform with "10 AUTONOMOUS TRANSFER COMPLETE", one AutonomousTransferComplete with the
    Table 41 arguments, answered by the lab ACS; nothing stays pending on the CPE."""
    async with lab(tmp_path) as (acs, crs), running_cpe(tmp_path, acs, crs) as cpe:
        done = await run(acs, cpe, enable_policy(ResultTypeFilter="Success"))
        assert done["result"] == {"name": "SetParameterValuesResponse", "status": 0}
        await acs.wait_for(lambda: not acs.in_session(cpe.id), 20.0)
        before = acs.store.informs(cpe.id)[-1]["id"]
        cpe.backend.autonomous_transfer_external(FAILED)
        cpe.backend.autonomous_transfer_external(UPDATED)
        (inform,) = await acs.wait_informs(cpe.id, after=before, wait=20.0)
        assert inform["events"] == [[TEN, ""]]
        await acs.wait_for(lambda: acs.store.sessions(cpe.id)[-1]["outcome"] == "completed", 20.0)
        (request,) = autonomous_requests(acs, cpe.id)
        body = request["body"]
        assert body["transferUrl"] == UPDATED.transfer_url and body["isDownload"] is True
        assert body["fileType"] == "1 Firmware Upgrade Image"
        assert body["faultStruct"]["faultCode"] == 0
        assert body["completeTime"].startswith("2026-11-21T17:01:30")
        assert cpe.store.autonomous_transfers() == [] and cpe.store.events() == []


async def test_kill9_keeps_undelivered_autonomous_transfer_complete(tmp_path: Path) -> None:
    """Table 7 ("MUST NOT ever discard an undelivered AUTONOMOUS TRANSFER COMPLETE") and
    A.3.3.3: the process is killed (SIGKILL) after sending the Inform carrying the event but
    before the ACS answered; after a restart the next Inform carries the event again, the
    AutonomousTransferComplete is delivered exactly once, and later Informs drop the event."""
    state = tmp_path / "device"
    cr_port = free_port()
    async with lab(tmp_path) as (acs, _):
        child = await spawn(state, acs.url, cr_port, booted=True)
        try:
            (boot,) = await acs.wait_informs(DEVICE, wait=20.0)
            await acs.wait_for(lambda: not acs.in_session(DEVICE), 20.0)
            task = await acs.queue_task(DEVICE, enable_policy())
            assert task["connectionRequest"] == "ok"
            done = await acs.wait_task(DEVICE, task["id"], 20.0)
            assert done is not None and done["status"] == "done", done
            await acs.wait_for(lambda: not acs.in_session(DEVICE), 20.0)

            def carries_ten(inform: Inform) -> bool:
                return any(e.event_code == TEN for e in inform.event)

            acs.hold_inform = carries_ten
            child.send_signal(signal.SIGUSR1)
            informs = await acs.wait_informs(DEVICE, after=boot["id"], count=2, wait=20.0)
            held = informs[1]
            assert held["events"] == [[TEN, ""]]
            os.kill(child.pid, signal.SIGKILL)
            assert await child.wait() == -signal.SIGKILL
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        acs.release_held()
        assert autonomous_requests(acs, DEVICE) == []

        child = await spawn(state, acs.url, cr_port, booted=False)
        try:
            (again,) = await acs.wait_informs(DEVICE, after=held["id"], wait=20.0)
            assert again["events"] == [[TEN, ""]] and again["retryCount"] == 1
            await acs.wait_for(
                lambda: acs.store.sessions(DEVICE)[-1]["outcome"] == "completed", 20.0
            )
            (request,) = autonomous_requests(acs, DEVICE)
            assert request["body"]["transferUrl"] == "http://127.0.0.1:9/fw-2.0.bin"
            task = await acs.queue_task(
                DEVICE,
                {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.UpTime"]},
            )
            assert task["connectionRequest"] == "ok"
            done = await acs.wait_task(DEVICE, task["id"], 20.0)
            assert done is not None and done["status"] == "done"
            assert acs.store.informs(DEVICE)[-1]["events"] == [["6 CONNECTION REQUEST", ""]]
            assert len(autonomous_requests(acs, DEVICE)) == 1
        finally:
            child.kill()
            await child.wait()
