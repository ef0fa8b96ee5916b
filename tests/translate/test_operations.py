"""`Operations` as the backend would use it, against a lab device over loopback: the
proxier-held objects of TR-330 §4.3.2.1 (diagnostics, VendorLogFile) in one answer, a
diagnostics run ending in "8 DIAGNOSTICS COMPLETE" (Table 1 row 8), and Download/Upload
ending in TransferComplete (Table 1 row 7)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web

from proxier.cwmp.rpc import (
    CwmpFaultError,
    Download,
    ParameterValueStruct,
    TransferComplete,
    Upload,
)
from proxier.cwmp.store import DeviceStore
from proxier.lab.sms import make_image
from proxier.translate.operations import Operations
from proxier.upnp.client import NetworkDmDevice

from .labnet import lab_rig

PING = "Device.IP.Diagnostics.IPPing."


async def test_operations_facade_end_to_end(tmp_path: Path) -> None:
    """TR-330 §4.3.2.1, §4.4, §4.5, §4.7 through one object: names and values merged,
    SPV validated then applied, the test started after the session with the event raised,
    and both transfers reported to the transfer listener."""
    store = DeviceStore(tmp_path / "dev.sqlite")
    events: list[str] = []
    done: asyncio.Queue[TransferComplete] = asyncio.Queue()
    raised = asyncio.Event()

    def raise_event(code: str, command_key: str) -> None:
        events.append(code)
        raised.set()

    received: dict[str, bytes] = {}

    async def put(request: web.Request) -> web.Response:
        received[request.match_info["n"]] = await request.read()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_put("/{n}", put)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with lab_rig() as rig:
            ops = Operations(rig.device, session=rig.session, store=store, timeout=5)
            ops.set_listeners(
                transfer=done.put_nowait,
                event=raise_event,
            )
            rig.sinks.append(ops.handle_event)
            try:
                top = [n.name for n in await ops.names("Device.", True)]
                assert top == ["Device.IP.", "Device.DNS.", "Device.DeviceInfo."]
                names = {v.name for v in await ops.values(["Device."])}
                assert PING + "DiagnosticsState" in names
                assert "Device.DeviceInfo.VendorLogFile.1.Name" in names
                assert ops.owns(PING + "Host") and not ops.owns("Device.DeviceInfo.Manufacturer")
                params = [
                    ParameterValueStruct(PING + "Host", "127.0.0.1"),
                    ParameterValueStruct(PING + "DiagnosticsState", "Requested"),
                ]
                assert ops.validate(params) == []
                ops.apply(params)
                await ops.after_session()
                await asyncio.wait_for(raised.wait(), 10)
                assert events == ["8 DIAGNOSTICS COMPLETE"]
                url = rig.lab.host_file("fw.img", make_image("firmware", "8.0"))
                await ops.download(Download("fw", "1 Firmware Upgrade Image", url))
                await ops.upload(Upload("log", "4 Vendor Log File 1", f"http://127.0.0.1:{port}/l"))
                got = {
                    tc.command_key: tc.fault_struct.fault_code
                    for tc in [
                        await asyncio.wait_for(done.get(), 10),
                        await asyncio.wait_for(done.get(), 10),
                    ]
                }
                assert got == {"fw": 0, "log": 0}
                # the log kept growing (the firmware operation logs its end): a prefix
                assert received["l"]
                assert rig.lab_device.bms.logs["syslog"].content().startswith(received["l"])
            finally:
                await ops.close()
            bare = Operations(
                NetworkDmDevice(rig.device.udn, rig.device.cms), session=rig.session, store=store
            )
            assert await bare.names("Device.", False) == []
            with pytest.raises(CwmpFaultError) as exc:
                await bare.download(Download("k", "1 Firmware Upgrade Image", url))
            assert exc.value.fault.fault_code == 9000
            with pytest.raises(CwmpFaultError) as exc:
                await bare.upload(Upload("k", "2 Vendor Log File", "http://127.0.0.1:9/x"))
            assert exc.value.fault.fault_code == 9011
    finally:
        await runner.cleanup()
        store.close()
