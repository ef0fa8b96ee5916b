"""`Operations`: the TR-330 §4.4 / §4.5 / §4.7 parts of one Virtual CWMP Device behind one
object, so `UpnpBackend` delegates in a few lines.

It holds `Diagnostics` (IPPing, TraceRoute, NSLookupDiagnostics; "8 DIAGNOSTICS COMPLETE"),
`VendorLogs` (VendorLogFile table, Upload) and `Firmware` (Download, TransferComplete,
AutonomousTransferComplete), each created only when the device has the service they need.

Wiring in `UpnpBackend` (replacing `FirmwareUpdates` and the `tables.diagnostics` locals):

    self.operations = Operations(device, session=http_session, store=device_store,
        raise_event=engine.raise_event, on_autonomous_complete=engine_atc_hook,
        autonomous_enabled=lambda: policy_enable, timeout=self.timeout)
    set_listeners:              self.operations.set_transfer_listener(on_transfer_complete)
    GetParameterNames:          names += await self.operations.names(path, next_level)
                                (a path is known if the device has it or operations.owns(path))
    GetParameterValues:         out += await self.operations.values([name])
    SetParameterValues:         mine = [pv for pv in params if self.operations.owns(pv.name)]
                                faults += self.operations.validate(mine)   # before writing
                                self.operations.apply(mine)                # after SetValues
    Get/SetParameterAttributes: await self.operations.parameter_names(prefix)
    download / upload:          return await self.operations.download(request) / upload(...)
    handle_event(event):        self.operations.handle_event(event)
    after each CWMP session:    await self.operations.after_session()
    device ssdp:alive (reboot): self.operations.device_alive()
    start / shutdown:           await self.operations.resume() / await self.operations.close()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import aiohttp

from proxier.cwmp.rpc import (
    AutonomousTransferComplete,
    Download,
    DownloadResponse,
    ParameterInfoStruct,
    ParameterValueStruct,
    SetParameterValuesFault,
    TransferComplete,
    Upload,
    UploadResponse,
)
from proxier.translate.diagnostics import Diagnostics
from proxier.translate.firmware import Firmware
from proxier.translate.logs import VendorLogs
from proxier.translate.opcommon import KeyValueStore, cwmp_error
from proxier.translate.tables import Tables, default_tables
from proxier.upnp.device import DmDevice, DmEvent

DIAGNOSTICS_COMPLETE = "8 DIAGNOSTICS COMPLETE"


class Operations:
    """Diagnostics, vendor logs and firmware of one proxied device (module docstring)."""

    def __init__(
        self,
        device: DmDevice,
        *,
        session: aiohttp.ClientSession,
        store: KeyValueStore,
        raise_event: Callable[[str], None],
        on_autonomous_complete: Callable[[AutonomousTransferComplete], None],
        autonomous_enabled: Callable[[], bool] = lambda: True,
        timeout: float = 10.0,
        tables: Tables | None = None,
    ) -> None:
        tables = tables if tables is not None else default_tables()
        self._listener: Callable[[TransferComplete], None] | None = None
        self.diagnostics: Diagnostics | None = None
        self.logs: VendorLogs | None = None
        self.firmware: Firmware | None = None
        if device.bms is not None:
            self.diagnostics = Diagnostics(
                device,
                on_complete=lambda: raise_event(DIAGNOSTICS_COMPLETE),
                timeout=timeout,
                tables=tables,
            )
            self.logs = VendorLogs(
                device, session, on_transfer_complete=self._transfer, timeout=timeout, store=store
            )
        if device.sms is not None:
            self.firmware = Firmware(
                device,
                store=store,
                on_transfer_complete=self._transfer,
                on_autonomous_complete=on_autonomous_complete,
                autonomous_enabled=autonomous_enabled,
                timeout=timeout,
                table=tables.firmware,
            )

    def set_transfer_listener(self, listener: Callable[[TransferComplete], None]) -> None:
        self._listener = listener

    def _transfer(self, tc: TransferComplete) -> None:
        if self._listener is not None:
            self._listener(tc)

    # -- data model --

    def owns(self, name: str) -> bool:
        return bool(
            (self.diagnostics is not None and self.diagnostics.owns(name))
            or (self.logs is not None and self.logs.supported and self.logs.owns(name))
        )

    async def names(self, path: str, next_level: bool) -> list[ParameterInfoStruct]:
        out: dict[str, ParameterInfoStruct] = {}
        found: list[ParameterInfoStruct] = []
        if self.diagnostics is not None:
            found.extend(self.diagnostics.names(path, next_level))
        if self.logs is not None:
            found.extend(await self.logs.names(path, next_level))
        for info in found:
            out.setdefault(info.name, info)
        return list(out.values())

    async def values(self, names: Sequence[str]) -> list[ParameterValueStruct]:
        out: list[ParameterValueStruct] = []
        if self.diagnostics is not None:
            out.extend(self.diagnostics.values(names))
        if self.logs is not None:
            out.extend(await self.logs.values(names))
        return out

    async def parameter_names(self, prefix: str) -> list[str]:
        out: list[str] = []
        if self.diagnostics is not None:
            out.extend(self.diagnostics.parameter_names(prefix))
        if self.logs is not None:
            out.extend(await self.logs.parameter_names(prefix))
        return out

    def validate(self, params: Sequence[ParameterValueStruct]) -> list[SetParameterValuesFault]:
        faults: list[SetParameterValuesFault] = []
        if self.diagnostics is not None:
            faults.extend(self.diagnostics.validate(params))
        if self.logs is not None:
            faults.extend(self.logs.validate(params))
        return faults

    def apply(self, params: Sequence[ParameterValueStruct]) -> None:
        if self.diagnostics is not None:
            self.diagnostics.apply(params)

    # -- transfers --

    async def download(self, request: Download) -> DownloadResponse:
        if self.firmware is None:
            raise cwmp_error(9000, "the device has no SoftwareManagement service")
        return await self.firmware.download(request)

    async def upload(self, request: Upload) -> UploadResponse:
        if self.logs is None:
            raise cwmp_error(9011, "the device has no BasicManagement logs")
        return await self.logs.upload(request)

    # -- life cycle --

    def handle_event(self, event: DmEvent) -> None:
        if self.diagnostics is not None:
            self.diagnostics.handle_event(event)
        if self.firmware is not None:
            self.firmware.handle_event(event)

    async def after_session(self) -> None:
        if self.diagnostics is not None:
            await self.diagnostics.start_pending()

    def device_alive(self) -> None:
        if self.firmware is not None:
            self.firmware.device_alive()

    async def resume(self) -> None:
        if self.firmware is not None:
            await self.firmware.resume()

    async def close(self) -> None:
        for part in (self.diagnostics, self.logs, self.firmware):
            if part is not None:
                await part.close()
