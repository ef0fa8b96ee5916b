"""`Operations`: the TR-330 §4.4 / §4.5 / §4.7 parts of one Virtual CWMP Device behind one
object, so `UpnpBackend` delegates to it in one line per RPC.

It holds `Diagnostics` (IPPing, TraceRoute, NSLookupDiagnostics), `VendorLogs` (the
VendorLogFile table and Upload; only with an HTTP session and a device offering BMS logs)
and `Firmware` (Download, and other control points' firmware updates). Each part answers
for a device without the service it needs (no objects, 9000/9011). What they report (a test
or an operation finished) goes through `DmEvents`, which reads Table 1 rows 7, 8 and 10 to
decide the Inform events.

The proxier-held objects (TR-330 §4.3.2.1) are merged here: `owns` says whether a name is one
of them, `names` / `values` / `parameter_names` give their part of an answer, `validate`
then `apply` split a SetParameterValues. Listeners are set late (the engine is built after
the backend): `set_listeners`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import aiohttp

from proxier.cwmp.backend import AutonomousTransferListener, TransferListener
from proxier.cwmp.rpc import (
    Download,
    DownloadResponse,
    ParameterInfoStruct,
    ParameterValueStruct,
    SetParameterValuesFault,
    Upload,
    UploadResponse,
)
from proxier.logsafe import get_logger
from proxier.translate.diagnostics import Diagnostics
from proxier.translate.dmevents import DmEvents, EventRaiser
from proxier.translate.firmware import Firmware
from proxier.translate.logs import VendorLogs
from proxier.translate.opcommon import KeyValueStore, cwmp_error
from proxier.translate.tables import Tables, default_tables
from proxier.upnp.device import DmDevice, DmEvent

log = get_logger(__name__)


class Operations:
    """Diagnostics, vendor logs and firmware of one proxied device (module docstring)."""

    def __init__(
        self,
        device: DmDevice,
        *,
        store: KeyValueStore,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        tables: Tables | None = None,
    ) -> None:
        tables = tables if tables is not None else default_tables()
        #: What happened → Table 1 events (rows 7, 8, 10 here; row 4 in the backend).
        self.events = DmEvents(tables.events)
        self.diagnostics = Diagnostics(
            device,
            on_complete=self.events.test_finished,
            timeout=timeout,
            tables=tables,
        )
        self.firmware = Firmware(
            device,
            store=store,
            on_transfer_complete=self.events.operation_finished,
            on_autonomous_complete=self.events.autonomous_firmware_finished,
            timeout=timeout,
            table=tables.firmware,
        )
        self.logs: VendorLogs | None = None
        if session is not None:
            logs = VendorLogs(device, session, timeout=timeout, store=store)
            self.logs = logs if logs.supported else None

    def set_listeners(
        self,
        *,
        transfer: TransferListener | None = None,
        autonomous: AutonomousTransferListener | None = None,
        event: EventRaiser | None = None,
    ) -> None:
        """Where TransferComplete, AutonomousTransferComplete and the other events Table 1
        gives an occurrence ("8 DIAGNOSTICS COMPLETE" …) go: the CWMP engine. Vendor log
        uploads are not a Table 1 row: their TransferComplete goes straight to `transfer`."""
        if transfer is not None:
            self.events.on_transfer_complete = transfer
            if self.logs is not None:
                self.logs.listener = transfer
        if autonomous is not None:
            self.events.on_autonomous_complete = autonomous
        if event is not None:
            self.events.raise_event = event

    # -- the proxier-held objects --

    def owns(self, name: str) -> bool:
        return self.diagnostics.owns(name) or (self.logs is not None and self.logs.owns(name))

    async def names(self, path: str, next_level: bool) -> list[ParameterInfoStruct]:
        found = self.diagnostics.names(path, next_level)
        if self.logs is not None:
            found.extend(await self.logs.names(path, next_level))
        return list(dict.fromkeys(found))  # shared ancestors (Device.) once

    async def values(self, names: Sequence[str]) -> list[ParameterValueStruct]:
        out = self.diagnostics.values(names)
        if self.logs is not None:
            out.extend(await self.logs.values(names))
        return out

    async def parameter_names(self, prefix: str) -> list[str]:
        out = self.diagnostics.parameter_names(prefix)
        if self.logs is not None:
            out.extend(await self.logs.parameter_names(prefix))
        return out

    def validate(self, params: Sequence[ParameterValueStruct]) -> list[SetParameterValuesFault]:
        faults = self.diagnostics.validate([pv for pv in params if self.diagnostics.owns(pv.name)])
        if self.logs is not None:
            faults.extend(self.logs.validate(params))
        return faults

    def apply(self, params: Sequence[ParameterValueStruct]) -> None:
        """After the device's part of the SetParameterValues succeeded (logs are read-only)."""
        self.diagnostics.apply([pv for pv in params if self.diagnostics.owns(pv.name)])

    # -- transfers --

    async def download(self, request: Download) -> DownloadResponse:
        return await self.firmware.download(request)

    async def upload(self, request: Upload) -> UploadResponse:
        if self.logs is None:
            raise cwmp_error(9011, "the device offers no vendor logs")
        return await self.logs.upload(request)

    # -- life cycle --

    def handle_event(self, event: DmEvent) -> None:
        self.diagnostics.handle_event(event)
        self.firmware.handle_event(event)

    async def after_session(self) -> None:
        """TR-069: diagnostics requested in a session start once it has ended."""
        await self.diagnostics.start_pending()

    def resume(self) -> None:
        """Firmware operations restored from the store are checked again (proxier restart,
        device back from a reboot); logs get their mark for VendorLogFile.Persistent."""
        self.firmware.device_alive()
        if self.logs is not None:
            self.logs.attached()

    def defer_to(self, turn: Callable[[], Awaitable[None]]) -> None:
        """Listing the logs waits for `turn` (virtual/firstinforms: first Informs first)."""
        if self.logs is not None:
            self.logs.turn = turn

    def device_rebooted(self) -> None:
        """TR-330 Table 1 "1 BOOT": what the logs kept decides their Persistent (§4.4.1)."""
        if self.logs is not None:
            self.logs.device_rebooted()

    async def close(self) -> None:
        await self.diagnostics.close()
        await self.firmware.close()
        if self.logs is not None:
            await self.logs.close()
