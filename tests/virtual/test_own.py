"""The proxier's own CWMP endpoint: VirtualDevice table and its "4 VALUE CHANGE" (TR-330 §4.3.1)."""

from __future__ import annotations

from pathlib import Path

from proxier.gatewayid import SERIAL_FILE
from tests.virtual.rig import Rig, rig

COUNT = "Device.ManagementServer.VirtualDeviceNumberOfEntries"


def own_serial(r: Rig) -> str:
    """The proxier's own serial: derived from the gateway, kept in the state dir (#17)."""
    return (r.state / SERIAL_FILE).read_text().strip()


async def test_own_model_lists_virtual_devices_and_notifies_count(tmp_path: Path) -> None:
    """TR-330 §4.3.1: the proxier instantiates VirtualDevice.{i}, increments
    VirtualDeviceNumberOfEntries and, with notification set on it, sends "4 VALUE CHANGE"."""
    async with rig(tmp_path, devices=2) as r:
        late = r.lab.devices[1]
        late.set_silent(True)  # not there yet when the proxier starts
        r.own_cwmp = True
        await r.start_proxier()
        found = await r.devices(2)  # the proxier itself + the first lab device
        own = next(d["id"] for d in found if d["deviceId"]["serialNumber"] == own_serial(r))
        rows = await r.rpc(
            own, {"name": "GetParameterValues", "parameterNames": ["Device.ManagementServer."]}
        )
        assert rows["status"] == "done", {k: v for k, v in rows.items() if k != "args"}
        values = {p["name"]: p["value"] for p in rows["result"]["parameterList"]}
        assert values[COUNT] == "1"
        assert values["Device.ManagementServer.VirtualDevice.1.SerialNumber"] == (
            r.lab.devices[0].serial_number
        )
        spa = await r.rpc(
            own,
            {
                "name": "SetParameterAttributes",
                "parameterList": [
                    {
                        "name": COUNT,
                        "notificationChange": True,
                        "notification": 2,
                        "accessListChange": False,
                        "accessList": [],
                    }
                ],
            },
        )
        assert spa["status"] == "done", spa
        mark = r.last_inform_id(own)
        late.set_silent(False)
        change = await r.inform_with(own, "4 VALUE CHANGE", after=mark)
        assert change["parameters"][COUNT][0] == "2"


async def test_own_table_is_read_only(tmp_path: Path) -> None:
    """TR-181: VirtualDevice.{i} is a read-only table; SPV on it faults 9008 per parameter."""
    async with rig(tmp_path) as r:
        r.own_cwmp = True
        await r.start_proxier()
        found = await r.devices(2)
        own = next(d["id"] for d in found if d["deviceId"]["serialNumber"] == own_serial(r))
        spv = await r.rpc(
            own,
            {
                "name": "SetParameterValues",
                "parameterList": [
                    ["Device.ManagementServer.VirtualDevice.1.SerialNumber", "X", "xsd:string"]
                ],
                "parameterKey": "k",
            },
        )
        assert spv["status"] == "fault", spv
        assert spv["result"]["faultCode"] == 9003
        detail = spv["result"]["setParameterValuesFault"][0]
        assert detail["faultCode"] == 9008
