"""A virtual device across proxier restarts, over real sockets (lab ACS ⇄ proxier ⇄ lab
device): what it owes the ACS is kept in its store, not in memory (issue 5, "Restart of the
proxier: … undelivered events delivered")."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.virtual.rig import Rig, rig
from tests.virtual.tasks import spa

NAME = "Device.Time.NTPServer1"
UPNP = "/BBF/Time/NTPServer1"


async def test_change_made_while_the_proxier_is_stopped_is_reported_once(
    tmp_path: Path,
) -> None:
    """TR-069 §3.7.1.5 / Table 7 ("4 VALUE CHANGE" is kept until delivered unless the CPE
    reboots; a proxier restart is no reboot of the virtual device): a value changed on the
    device while the proxier is down reaches the ACS after the restart in exactly one
    "4 VALUE CHANGE" Inform with the new value, and the next change is reported as usual."""
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        attrs = await r.rpc(
            dev_id,
            spa(NAME, 2),
        )
        assert attrs["status"] == "done", attrs.get("result")
        await r.stop_proxier()
        mark = r.last_inform_id(dev_id)
        r.lab_device(dev_id).model.device_set({UPNP: "while.down"})
        await r.start_proxier()
        await changes_reported(r, dev_id, mark, ["while.down"])
        r.lab_device(dev_id).model.device_set({UPNP: "after.restart"})
        await changes_reported(r, dev_id, mark, ["while.down", "after.restart"])


async def changes_reported(r: Rig, dev_id: str, after: int, expected: list[str]) -> None:
    """Wait until the "4 VALUE CHANGE" Informs after #`after` carrying NAME (the restart
    also changes ConnectionRequestURL: that one is reported on its own) show `expected`."""
    reported: list[str] = []
    for _ in range(300):
        reported = [
            i["parameters"][NAME][0]
            for i in r.acs.store.informs(dev_id, after=after)
            if any(code == "4 VALUE CHANGE" for code, _ in i["events"]) and NAME in i["parameters"]
        ]
        if len(reported) >= len(expected):
            break
        await asyncio.sleep(0.1)
    assert reported == expected
