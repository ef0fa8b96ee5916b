"""Firmware Download through SMS::Update (TR-330 §4.7.1, Figure 8, Table 3).

A CWMP Download with FileType "1 Firmware Upgrade Image" becomes SMS::Update(DUID 0, URL,
HandleDependencies 0) (§4.7.1.1 step 3). Errors of Update itself are Table 3's first rows.
Once accepted, the OperationID is followed until it leaves OperationIDs (an SMS event wakes
the tracker; a bounded poll of GetOperationInfo covers missed events, §4.7.1 "may choose to
poll"), and the result becomes the TransferComplete (§4.7.1.2 step 4): FaultCode from the
ErrorDescription through Table 3, FaultString from AdditionalInfo, StartTime when Update was
accepted, CompleteTime when the end was seen. When the device rebooted and forgot the
operation (§4.7.1 exception 2) the firmware version (GetDUInfo of DU 0) tells the outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from proxier.cwmp.backend import TransferListener
from proxier.cwmp.faults import fault
from proxier.cwmp.rpc import (
    CwmpFaultError,
    Download,
    DownloadResponse,
    FaultStruct,
    TransferComplete,
)
from proxier.translate.tables import FirmwareTable
from proxier.upnp.device import DmDevice, UpnpError

log = logging.getLogger(__name__)

FIRMWARE_FILE_TYPE = "1 Firmware Upgrade Image"
FIRMWARE_DUID = 0
#: How long a firmware update may take before it is reported as failed (9010).
MAX_UPDATE_SECONDS = 3600.0


def _now() -> datetime:
    return datetime.now(UTC)


class FirmwareUpdates:
    """Runs the Download → SMS::Update → TransferComplete flow of one device."""

    def __init__(
        self,
        device: DmDevice,
        table: FirmwareTable,
        *,
        timeout: float,
        poll_interval: float = 5.0,
        max_seconds: float = MAX_UPDATE_SECONDS,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.device = device
        self.table = table
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.max_seconds = max_seconds
        self.clock = clock
        self.listener: TransferListener | None = None
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        #: OperationID → CommandKey of updates the ACS asked for (Table 1 row 7)
        self.pending: dict[int, str] = {}

    def operation_ids_changed(self) -> None:
        """An SMS OperationIDs event arrived: look at the pending operations now."""
        self._changed.set()

    async def download(self, request: Download) -> DownloadResponse:
        """Start the update; Status 1, the TransferComplete follows (§4.7.1.1 steps 2-4)."""
        sms = self.device.sms
        if request.file_type != FIRMWARE_FILE_TYPE:
            raise _err(9001, f"FileType {request.file_type!r}: only firmware (TR-330 §4.7)")
        if sms is None:
            raise _err(9001, "the device has no SoftwareManagement service")
        old_version = await self._firmware_version()
        try:
            op = await asyncio.wait_for(sms.update(FIRMWARE_DUID, request.url, False), self.timeout)
        except TimeoutError:
            log.warning("device %s: SMS::Update timed out", self.device.udn)
            raise _err(self.table.transport, "SMS::Update: no answer") from None
        except UpnpError as exc:
            raise _err(self.table.update_fault(exc.code), f"SMS::Update: {exc}") from None
        start = self.clock()
        self.pending[op] = request.command_key
        task = asyncio.create_task(self._follow(op, request.command_key, start, old_version))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return DownloadResponse(status=1)

    async def _firmware_version(self) -> str | None:
        sms = self.device.sms
        if sms is None:
            return None
        try:
            info = await asyncio.wait_for(sms.get_du_info(FIRMWARE_DUID), self.timeout)
        except (TimeoutError, UpnpError):
            return None
        return info.du_version

    async def _follow(self, op: int, command_key: str, start: datetime, old: str | None) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_seconds
        sms = self.device.sms
        assert sms is not None
        code, text = 9010, "firmware update did not finish in time"
        while loop.time() < deadline:
            self._changed.clear()
            try:
                info = await asyncio.wait_for(sms.get_operation_info(op), self.timeout)
            except TimeoutError:
                info = None
            except UpnpError as exc:
                info = None
                if exc.code != 0:
                    # The device no longer knows the operation (rebooted into the new
                    # firmware, or rolled back): the version says which (§4.7.1.2 step 1).
                    version = await self._firmware_version()
                    if version is not None and old is not None and version != old:
                        code, text = 0, ""
                        break
                    if version is not None:
                        code, text = 9010, f"operation {op} lost and firmware unchanged"
                        break
            if info is not None and info.operation_state in ("Completed", "Error"):
                code = self.table.operation_fault(info.error_description)
                if info.operation_state == "Error" and code == 0:
                    code = self.table.unknown
                text = info.additional_info if code else ""
                break
            try:
                await asyncio.wait_for(self._changed.wait(), self.poll_interval)
            except TimeoutError:
                pass
        self.pending.pop(op, None)
        result = TransferComplete(command_key, FaultStruct(code, text), start, self.clock())
        log.info("device %s: firmware operation %d ended with %d", self.device.udn, op, code)
        if self.listener is not None:
            self.listener(result)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except asyncio.CancelledError:
                pass


def _err(code: int, detail: str) -> CwmpFaultError:
    f = fault(code, detail)
    return CwmpFaultError(f.fault_code, f.fault_string)
