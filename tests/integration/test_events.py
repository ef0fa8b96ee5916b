"""Event and notification rules end to end (TR-069 §3.7.1.5 Table 7, A.3.2.4, A.4.1.2):
engine + MemoryBackend + HTTP + Connection Request server against the lab ACS."""

from __future__ import annotations

from pathlib import Path

from tests.integration.harness import lab, running_cpe
from tests.integration.test_retry import Clock


async def test_active_notification_opens_a_session(tmp_path: Path) -> None:
    """A.3.2.4 / "4 VALUE CHANGE": a change not made by the ACS to a parameter with active
    notification (SoftwareVersion is forced active) opens a session whose Inform carries
    the event and the new value."""
    async with lab(tmp_path) as (acs, crs), running_cpe(tmp_path, acs, crs) as cpe:
        before = acs.store.informs(cpe.id)[-1]["id"]
        cpe.backend.set_external("Device.DeviceInfo.SoftwareVersion", "2.0")
        (inform,) = await acs.wait_informs(cpe.id, after=before, wait=20.0)
        assert inform["events"] == [["4 VALUE CHANGE", ""]]
        assert inform["parameters"]["Device.DeviceInfo.SoftwareVersion"][0] == "2.0"


async def test_passive_notification_waits_for_the_next_session(tmp_path: Path) -> None:
    """A.3.2.4: with passive notification the change opens no session of its own; the
    next Inform (here for a Connection Request) carries "4 VALUE CHANGE" and the value."""
    async with lab(tmp_path) as (acs, crs), running_cpe(tmp_path, acs, crs) as cpe:
        name = "Device.DeviceInfo.HardwareVersion"
        task = await acs.queue_task(
            cpe.id,
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
        assert (await acs.wait_task(cpe.id, task["id"], 20.0) or {})["status"] == "done"
        await cpe.wait_sessions(2)
        cpe.backend.set_external(name, "hw-2")
        assert len(acs.store.informs(cpe.id)) == 2  # nothing sent for the passive change
        assert await acs.connection_request(cpe.id) == "ok"
        await cpe.wait_sessions(3)
        inform = acs.store.informs(cpe.id)[-1]
        assert sorted(inform["events"]) == [["4 VALUE CHANGE", ""], ["6 CONNECTION REQUEST", ""]]
        assert inform["parameters"][name][0] == "hw-2"


async def test_acs_made_changes_never_notify(tmp_path: Path) -> None:
    """A.3.2.4: a value the ACS itself set is not reported back as a VALUE CHANGE, even on
    an active-notification parameter (ProvisioningCode)."""
    async with lab(tmp_path) as (acs, crs), running_cpe(tmp_path, acs, crs) as cpe:
        task = await acs.queue_task(
            cpe.id,
            {
                "name": "SetParameterValues",
                "parameterList": [["Device.DeviceInfo.ProvisioningCode", "ACS-1"]],
            },
        )
        assert (await acs.wait_task(cpe.id, task["id"], 20.0) or {})["status"] == "done"
        await cpe.wait_sessions(2)
        assert await acs.connection_request(cpe.id) == "ok"
        await cpe.wait_sessions(3)
        assert [i["events"] for i in acs.store.informs(cpe.id)[1:]] == [
            [["6 CONNECTION REQUEST", ""]],
            [["6 CONNECTION REQUEST", ""]],
        ]


async def test_schedule_inform_fires_with_its_command_key(tmp_path: Path) -> None:
    """A.4.1.2 ScheduleInform: after DelaySeconds (injected clock) the CPE informs with
    "3 SCHEDULED" and "M ScheduleInform" carrying the CommandKey (Table 7)."""
    clock = Clock(1_800_000_000.0)
    async with (
        lab(tmp_path) as (acs, crs),
        running_cpe(tmp_path, acs, crs, clock=clock, periodic_inform_enable=False) as cpe,
    ):
        task = await acs.queue_task(
            cpe.id, {"name": "ScheduleInform", "delaySeconds": 120, "commandKey": "sched-1"}
        )
        assert (await acs.wait_task(cpe.id, task["id"], 20.0) or {})["status"] == "done"
        await cpe.wait_sessions(2)
        due = cpe.engine.get_timer()
        assert due is not None and due == clock.now + 120
        clock.now = due
        cpe.runner.wake()
        await cpe.wait_sessions(3)
        inform = acs.store.informs(cpe.id)[-1]
        assert sorted(inform["events"]) == [["3 SCHEDULED", ""], ["M ScheduleInform", "sched-1"]]
