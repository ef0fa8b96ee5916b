"""The diagnostics objects as the ACS sees them through UpnpBackend (TR-330 §4.3.2.1,
§4.5.1 Figure 6, Table 1 row 8), against a lab device over loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

from proxier.cwmp.rpc import CwmpFaultError, ParameterValueStruct
from proxier.translate.backend import UpnpBackend
from proxier.translate.instances import InstanceStore

from .conftest import PROXIER
from .labnet import lab_rig

PING = "Device.IP.Diagnostics.IPPing."


async def test_ping_through_the_backend(tmp_path: Path) -> None:
    """GPN inserts IPPing where Figure 7 puts it; SPV Requested + inputs is accepted with the
    device's own parameters; after the session the BMS Ping runs and "8 DIAGNOSTICS
    COMPLETE" is asked for; GPV reads the results."""
    async with lab_rig(services=("BMS",)) as rig:
        store = InstanceStore(tmp_path / "i.sqlite")
        backend = UpnpBackend(rig.device, instance_store=store, proxier_info=PROXIER, timeout=5)
        done: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        backend.set_event_listener(lambda code, key: done.put_nowait((code, key)))
        rig.sinks.append(lambda e: asyncio.ensure_future(backend.handle_event(e)))
        try:
            top = {p.name for p in await backend.get_parameter_names("Device.", False)}
            assert {PING, PING + "Host", "Device.IP.Diagnostics.", "Device.Hosts.Host.1."} <= top
            status = await backend.set_parameter_values(
                [
                    ParameterValueStruct(PING + "Host", "127.0.0.1"),
                    ParameterValueStruct(PING + "NumberOfRepetitions", "3", "xsd:unsignedInt"),
                    ParameterValueStruct(PING + "DiagnosticsState", "Requested"),
                    ParameterValueStruct("Device.Time.Enable", "1", "xsd:boolean"),
                ],
                "k",
            )
            assert status == 0
            await backend.after_session()
            assert await asyncio.wait_for(done.get(), 10) == ("8 DIAGNOSTICS COMPLETE", "")
            got = {v.name: v.value for v in await backend.get_parameter_values([PING])}
            assert got[PING + "DiagnosticsState"] == "Complete"
            assert got[PING + "SuccessCount"] == "3"
            # a value the ACS may not write is refused with the device's parameters untouched
            try:
                await backend.set_parameter_values(
                    [ParameterValueStruct(PING + "DiagnosticsState", "Complete")], "k"
                )
            except CwmpFaultError as exc:
                assert exc.fault.set_parameter_values_fault[0].fault_code == 9007
            else:
                raise AssertionError("DiagnosticsState=Complete accepted")
        finally:
            await backend.close()
            store.close()
