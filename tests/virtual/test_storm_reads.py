"""A device-side change costs the device one CMS::GetValues (issue 13, storms), over real
sockets (lab ACS ⇄ proxier ⇄ lab device).

The "4 VALUE CHANGE" Inform still carries every Forced Inform parameter with its current
value (TR-069 Table 7 / A.3.3.1): they ride in the GetValues that re-reads the notified
parameters, instead of a second request when the Inform is built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.virtual.rig import rig
from tests.virtual.tasks import spa

NAME = "Device.DeviceInfo.ProvisioningCode"
UPNP = "/BBF/DeviceInfo/ProvisioningCode"
FORCED = (
    "Device.DeviceInfo.HardwareVersion",
    "Device.DeviceInfo.SoftwareVersion",
    "Device.DeviceInfo.ProvisioningCode",
)


def record_actions(device: Any) -> list[str]:
    """The SOAP actions the lab device answers from now on (a recorder on the device side)."""
    seen: list[str] = []
    original = device.call

    async def call(service: Any, action: str, raw: dict[str, str]) -> Any:
        seen.append(action)
        return await original(service, action, raw)

    device.call = call
    return seen


async def test_value_change_reads_the_device_once_and_informs_forced_values(
    tmp_path: Path,
) -> None:
    """Issue 13 (storms) / TR-069 Table 7: one ConfigurationUpdate → one GetValues at the
    device, and the "4 VALUE CHANGE" Inform carries the new value and every forced
    parameter as the device holds it."""
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        assert (await r.rpc(dev_id, spa(NAME, 2)))["status"] == "done"
        device = r.lab_device(dev_id)
        # the first change finds the proxier still learning which parameters notify (its
        # subscription's initial event, TR-330 §4.6.5): steady state from the second on
        mark = r.last_inform_id(dev_id)
        device.model.device_set({UPNP: "warm-up"})
        await r.inform_with(dev_id, "4 VALUE CHANGE", after=mark)
        for turn in range(2):  # the second one too: nothing left over from the first
            mark = r.last_inform_id(dev_id)
            seen = record_actions(device)
            device.model.device_set({UPNP: f"storm-{turn}"})
            inform = await r.inform_with(dev_id, "4 VALUE CHANGE", after=mark)
            assert inform["parameters"][NAME][0] == f"storm-{turn}"
            for name in FORCED:
                upnp = "/BBF/" + name.removeprefix("Device.").replace(".", "/")
                assert inform["parameters"][name][0] == device.model.value(upnp), name
            assert seen.count("GetValues") == 1, seen
            del device.call  # back to the class's method


async def test_inform_after_an_acs_set_carries_the_acs_value(tmp_path: Path) -> None:
    """Issue 13 (storms) / TR-069 A.3.3.1: after a change was read (with the forced values)
    and the ACS then set ProvisioningCode, the next Inform carries the value the ACS set,
    not one handed over from the change's read (the handoff is per change, once)."""
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        assert (await r.rpc(dev_id, spa(NAME, 2)))["status"] == "done"
        device = r.lab_device(dev_id)
        mark = r.last_inform_id(dev_id)
        device.model.device_set({UPNP: "before-set"})
        await r.inform_with(dev_id, "4 VALUE CHANGE", after=mark)
        done = await r.rpc(
            dev_id, {"name": "SetParameterValues", "parameterList": [[NAME, "acs-set"]]}
        )
        assert done["status"] == "done", done
        mark = r.last_inform_id(dev_id)
        assert await r.client.connection_request(dev_id) == "ok"
        inform = await r.inform_with(dev_id, "6 CONNECTION REQUEST", after=mark)
        assert inform["parameters"][NAME][0] == "acs-set"
        hw = "Device.DeviceInfo.HardwareVersion"
        assert inform["parameters"][hw][0] == device.model.value("/BBF/DeviceInfo/HardwareVersion")
