"""Issue 12 item 11 end to end: a notification the device itself turned on is honoured.

Lab ACS ⇄ proxier ⇄ lab device over real sockets. The lab device has EventOnChange set on a
parameter by itself (no ACS ever asked); GetParameterAttributes therefore answers
Notification=1 (passive), and TR-069 A.3.2.4 says that is what the CPE does: a device-side
change is reported as "4 VALUE CHANGE" with the next Inform, without a session of its own.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from proxier.upnp.device import NodeAttributes
from tests.virtual.rig import events_of, rig

NAME = "Device.Time.NTPServer1"
UPNP = "/BBF/Time/NTPServer1"


async def test_passive_notification_set_by_the_device_is_reported_next_inform(
    tmp_path: Path,
) -> None:
    """Issue 12 item 11 (TR-069 A.3.2.4): EventOnChange set by the device → GPA
    Notification=1 → a device-side change opens no session (passive) and rides in the next
    Inform as "4 VALUE CHANGE" with the new value."""
    async with rig(tmp_path) as r:
        r.lab.devices[0].model.set_attributes([NodeAttributes(UPNP, event_on_change=True)])
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        gpa = await r.rpc(dev_id, {"name": "GetParameterAttributes", "parameterNames": [NAME]})
        assert gpa["status"] == "done", gpa
        assert [(a["name"], a["notification"]) for a in gpa["result"]["parameterList"]] == [
            (NAME, 1)
        ]
        await asyncio.sleep(0.5)  # the GPA session is over
        mark = r.last_inform_id(dev_id)
        r.lab_device(dev_id).model.device_set({UPNP: "ntp.device.example"})
        await asyncio.sleep(1.5)
        assert r.last_inform_id(dev_id) == mark  # passive: no session of its own
        assert await r.client.connection_request(dev_id) == "ok"
        inform = await r.inform_with(dev_id, "4 VALUE CHANGE", after=mark)
        assert ("6 CONNECTION REQUEST", "") in events_of(inform)
        assert inform["parameters"][NAME][0] == "ntp.device.example"
