"""TR-330 §4.7 firmware: CWMP Download "1 Firmware Upgrade Image" as SMS::Update on DUID 0,
tracked to its TransferComplete, and firmware updates started by other control points
reported as AutonomousTransferComplete (§4.7.1.3). This module reports what happened
(`on_transfer_complete`: an ACS-started SMS operation finished; `on_autonomous_complete`:
another control point's firmware operation finished); `proxier.translate.dmevents` reads
Table 1 rows 7 and 10 to decide the Inform events.

§4.7.1.1: the Download is validated, answered Status 1, then SMS::Update(DUID 0, NewDUURI =
the Download URL, HandleDependencies 0) is called; its OperationID is cached with the
CommandKey. SMS::Update has no credential arguments and TR-330 passes the URL, so Download
Username/Password go in NewDUURI's userinfo (`proxier.upnp.userinfo`; never logged, and
stripped from what the device says back); a pair userinfo cannot carry is 9003. DelaySeconds is
the engine's business (it queues the transfer and calls `download` when due). Only FileType
"1 Firmware Upgrade Image" exists in UPnP DM (Table 1 row 7: "Upload or Download of
Configuration files is not supported"): other FileTypes are 9003; a device without SMS
Update/GetOperationInfo answers 9000; a URL that is not http(s) is 9013.

§4.7.1.2: completion is seen when the OperationID leaves SMS OperationIDs (GENA events, or
GetOperationIDs polling as the fallback); GetOperationInfo gives ErrorDescription and
AdditionalInfo, mapped by Table 3 (`mappings/table3_firmware.toml`: ErrorDescription →
FaultCode, AdditionalInfo → FaultString); SMS::Update UPnP errors map by the same table's
update rows. StartTime is when Update returned the OperationID (it is then in
OperationIDs), CompleteTime when the OperationIDs change without it arrived. Table 3 maps
Error_DiskFull to 9027 although TR-069 lists 9027 outside the TransferComplete set: the
table is followed as written.

§4.7.1 exception 2: an OperationID lost across a device reboot (GetOperationInfo fails with a
UPnP error) is judged from the DU 0 version (SMS::GetDUInfo) recorded before the update:
changed → success; unchanged or unknown → the table's `unknown` fault (9001) with a
FaultString saying the result was lost. CompleteTime is then the ssdp:alive time given to
`device_alive()`, when known.

Operations are persisted (OperationID ↔ CommandKey, StartTime, version) in a KeyValueStore
(the device's `DeviceStore`), so a restarted proxier keeps tracking them (`device_alive`).
Every autonomous firmware transfer is handed to `on_autonomous_complete`: the CWMP engine
applies ManagementServer.AutonomousTransferCompletePolicy (`proxier.cwmp.autonomous`) and
keeps what it reports until delivered. Wired through `proxier.translate.operations`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from proxier.cwmp.faults import fault_info
from proxier.cwmp.rpc import (
    UNKNOWN_TIME,
    AutonomousTransferComplete,
    Download,
    DownloadResponse,
    FaultStruct,
    TransferComplete,
)
from proxier.logsafe import get_logger
from proxier.translate.opcommon import (
    KeyValueStore,
    bounded,
    cwmp_error,
    parse_ids,
    supports,
)
from proxier.translate.tables import FirmwareTable, default_tables
from proxier.upnp.device import DmDevice, DmEvent, SmsApi, UpnpError
from proxier.upnp.userinfo import (
    CredentialsRefused,
    check_credentials,
    strip_userinfo,
    with_credentials,
)

log = get_logger(__name__)

FIRMWARE_FILE_TYPE = "1 Firmware Upgrade Image"
FIRMWARE_DUID = 0
KEY_PREFIX = "tr330.firmware.operation."
ACS = "acs"
AUTONOMOUS = "autonomous"
ACTIVE_STATES = ("Requested", "InProgress")
#: OperationIDs seen not to be firmware updates, remembered (bounded) to ask only once.
IGNORE_LIMIT = 1024
SNAPSHOT_LIMIT = 256


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class TrackedOperation:
    """One firmware operation the proxier waits for (persisted as JSON)."""

    op_id: int
    origin: str  # ACS (Download) or AUTONOMOUS (another control point)
    command_key: str
    start: str  # ISO 8601, UTC
    version_before: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> TrackedOperation:
        data = json.loads(text)
        return cls(
            int(data["op_id"]),
            str(data["origin"]),
            str(data["command_key"]),
            str(data["start"]),
            str(data.get("version_before", "")),
        )


def is_firmware_update(action: str, targeted_ids: str) -> bool:
    """§4.7.1.3 step 2: Action "Update" and the first TargetedIDs entry is 0."""
    first = targeted_ids.replace(",", " ").split()
    return action == "Update" and bool(first) and first[0] == str(FIRMWARE_DUID)


def operation_fault(table: FirmwareTable, state: str, description: str, info: str) -> FaultStruct:
    """Table 3: ErrorDescription → FaultCode, AdditionalInfo → FaultString on error."""
    code = table.operation_fault(description)
    if state == "Error" and code == 0:
        code = table.unknown  # an Error without a description of what went wrong
    if code == 0:
        return FaultStruct()
    return FaultStruct(code, strip_userinfo(info) or fault_info(code).fault_string)


class Firmware:
    """Firmware management of one proxied device (see the module docstring)."""

    def __init__(
        self,
        device: DmDevice,
        *,
        store: KeyValueStore,
        on_transfer_complete: Callable[[TransferComplete], None],
        on_autonomous_complete: Callable[[AutonomousTransferComplete], None],
        timeout: float = 10.0,
        poll_interval: float = 30.0,
        table: FirmwareTable | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.device = device
        self.store = store
        self.on_transfer_complete = on_transfer_complete
        self.on_autonomous_complete = on_autonomous_complete
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.table = table if table is not None else default_tables().firmware
        self.now = now
        self.operations: dict[int, TrackedOperation] = {}
        for key, text in store.kv_items(KEY_PREFIX).items():
            try:
                op = TrackedOperation.from_json(text)
            except (ValueError, KeyError, TypeError):
                log.warning("dropping unreadable firmware record %s", key)
                store.kv_delete(key)
                continue
            self.operations[op.op_id] = op
        # Made on first use, and the worker only runs while there is something to follow:
        # an idle device holds no deque, Event or task here (issue 13, memory).
        self._ignored: deque[int] | None = None
        self._snapshots: deque[tuple[set[int], datetime]] | None = None
        self._poll_wanted = False
        self._alive_at: datetime | None = None
        self._wake: asyncio.Event | None = None
        self._lock = asyncio.Lock()  # Update registration vs. classifying unknown IDs
        self._worker: asyncio.Task[None] | None = None
        self._updates: set[asyncio.Task[None]] = set()

    # -- CWMP Download (§4.7.1.1) --

    @property
    def sms(self) -> SmsApi | None:
        return self.device.sms

    @property
    def supported(self) -> bool:
        sms = self.sms
        return sms is not None and all(
            supports(sms, a) for a in ("Update", "GetOperationInfo", "GetOperationIDs")
        )

    async def download(self, request: Download) -> DownloadResponse:
        """Validate (step 1), answer Status 1 (step 2); SMS::Update follows (steps 3-4)."""
        if not self.supported:
            raise cwmp_error(9000, "the device has no SMS firmware update")
        if request.file_type != FIRMWARE_FILE_TYPE:
            raise cwmp_error(
                9003, f"FileType {request.file_type[:64]!r}: UPnP DM only updates firmware"
            )
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https"):
            raise cwmp_error(9013, f"scheme {parts.scheme[:16]!r}")
        if not parts.hostname:
            raise cwmp_error(9003, "URL without a host")
        try:  # forwarded in NewDUURI's userinfo (`proxier.upnp.userinfo`, issue 12 #15)
            check_credentials(request.username, request.password)
        except CredentialsRefused as exc:
            raise cwmp_error(9003, f"Download credentials: {exc}") from None
        task = asyncio.create_task(self._update(request))
        self._updates.add(task)
        task.add_done_callback(self._updates.discard)
        return DownloadResponse(1)

    async def settled(self) -> None:
        """Wait until every accepted Download has its SMS::Update answered."""
        while self._updates:
            await asyncio.gather(*list(self._updates), return_exceptions=True)

    async def _update(self, request: Download) -> None:
        sms = self.sms
        assert sms is not None
        version = await self._version()
        async with self._lock:
            try:
                uri = with_credentials(request.url, request.username, request.password)
                op_id = await bounded(sms.update(FIRMWARE_DUID, uri, False), self.timeout)
            except (UpnpError, TimeoutError) as exc:
                code = exc.code if isinstance(exc, UpnpError) else 0
                fault = self.table.update_fault(code)
                said = strip_userinfo(str(exc))  # a device may echo the URI it was given
                log.info("device %s: SMS::Update refused: %s", self.device.udn, said)
                detail = f"SMS::Update: {said}" if said else "SMS::Update timed out"
                self._report(
                    TransferComplete(
                        request.command_key,
                        FaultStruct(fault, f"{fault_info(fault).fault_string}: {detail}"[:256]),
                        UNKNOWN_TIME,
                        UNKNOWN_TIME,
                    )
                )
                return
            op = TrackedOperation(op_id, ACS, request.command_key, self.now().isoformat(), version)
            self._track(op)
        log.info("device %s: firmware update is operation %d", self.device.udn, op_id)
        self._request_poll()

    async def _version(self) -> str:
        sms = self.sms
        if sms is None or not supports(sms, "GetDUInfo"):
            return ""
        try:
            info = await bounded(sms.get_du_info(FIRMWARE_DUID), self.timeout)
        except (UpnpError, TimeoutError):
            return ""
        return info.du_version

    def _track(self, op: TrackedOperation) -> None:
        self.operations[op.op_id] = op
        self.store.kv_set(f"{KEY_PREFIX}{op.op_id}", op.to_json())

    def _untrack(self, op: TrackedOperation) -> None:
        self.operations.pop(op.op_id, None)
        self.store.kv_delete(f"{KEY_PREFIX}{op.op_id}")

    # -- observing the device (§4.7.1.2 step 1, §4.7.1.3 step 1) --

    def handle_event(self, event: DmEvent) -> None:
        """SMS OperationIDs (Table 1 rows 7 and 10): reconcile in the background."""
        if event.service != "SMS" or "OperationIDs" not in event.variables:
            return
        if self._snapshots is None:
            self._snapshots = deque(maxlen=SNAPSHOT_LIMIT)
        self._snapshots.append((parse_ids(event.variables["OperationIDs"]), self.now()))
        self._kick()

    def device_alive(self, at: datetime | None = None) -> None:
        """Attached to the device again (its ssdp:alive after a reboot, or a proxier restart
        with operations restored from the store): check every tracked operation; one lost
        in a reboot completes at this time (§4.7.1.2 CompleteTime)."""
        if self.operations:
            self._alive_at = at or self.now()
            self._request_poll()

    async def close(self) -> None:
        tasks = [*self._updates, *([self._worker] if self._worker else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._worker = None

    def _request_poll(self) -> None:
        self._poll_wanted = True
        self._kick()

    def _kick(self) -> None:
        if self._wake is not None:
            self._wake.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work())

    async def _work(self) -> None:
        while True:
            if not self._snapshots and not self._poll_wanted:
                if not self.operations:
                    # nothing to follow: end (the next snapshot or Download kicks a new one)
                    self._snapshots = None
                    self._wake = None
                    return
                wake = self._wake = self._wake or asyncio.Event()
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.poll_interval)
                if not self._snapshots and not self._poll_wanted:
                    self._poll_wanted = bool(self.operations)  # the timer: poll
            try:
                if self._snapshots:
                    ids, at = self._snapshots.popleft()
                    await self._reconcile(ids, at)
                elif self._poll_wanted:
                    self._poll_wanted = False
                    await self._poll()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("device %s: firmware tracking failed", self.device.udn)

    def _ignore(self, op_id: int) -> None:
        if self._ignored is None:
            self._ignored = deque(maxlen=IGNORE_LIMIT)
        self._ignored.append(op_id)

    async def _poll(self) -> None:
        sms = self.sms
        if sms is None:
            return
        at = self.now()
        try:
            ids = await bounded(sms.get_operation_ids(), self.timeout)
        except (UpnpError, TimeoutError) as exc:
            log.info("device %s: GetOperationIDs: %s", self.device.udn, exc)
            return
        await self._reconcile(set(ids), at)

    async def _reconcile(self, ids: set[int], at: datetime) -> None:
        async with self._lock:
            for op in list(self.operations.values()):
                if op.op_id not in ids:
                    await self._resolve(op, at)
            for op_id in sorted(ids):
                if op_id not in self.operations and op_id not in (self._ignored or ()):
                    await self._classify(op_id, at)

    async def _classify(self, op_id: int, at: datetime) -> None:
        """§4.7.1.3 steps 2-3: an unknown OperationID; cache it when it updates firmware."""
        sms = self.sms
        assert sms is not None
        try:
            info = await bounded(sms.get_operation_info(op_id), self.timeout)
        except TimeoutError:
            return
        except UpnpError as exc:
            if exc.code != 0:
                self._ignore(op_id)
            return
        if not is_firmware_update(info.action, info.targeted_ids):
            self._ignore(op_id)
            return
        version = await self._version()
        self._track(TrackedOperation(op_id, AUTONOMOUS, "", at.isoformat(), version))
        log.info("device %s: firmware update %d by another control point", self.device.udn, op_id)

    async def _resolve(self, op: TrackedOperation, at: datetime) -> None:
        """§4.7.1.2 step 2 / §4.7.1.3 step 5: the operation left OperationIDs."""
        sms = self.sms
        assert sms is not None
        try:
            info = await bounded(sms.get_operation_info(op.op_id), self.timeout)
        except TimeoutError:
            return  # unreachable for now; retried on the next change or poll
        except UpnpError as exc:
            if exc.code == 0:
                return
            await self._lost(op, at, exc)
            return
        if info.operation_state in ACTIVE_STATES:
            return
        fault = operation_fault(
            self.table, info.operation_state, info.error_description, info.additional_info
        )
        await self._finish(op, fault, at)

    async def _lost(self, op: TrackedOperation, at: datetime, exc: UpnpError) -> None:
        """§4.7.1 exception 2: no OperationID after a reboot; judge by the DU 0 version."""
        version = await self._version()
        if op.version_before and version and version != op.version_before:
            fault = FaultStruct()
        else:
            fault = FaultStruct(
                self.table.unknown,
                f"operation {op.op_id} lost by the device ({exc.code}) and the firmware version "
                "did not change",
            )
        start = datetime.fromisoformat(op.start)
        complete = self._alive_at if self._alive_at is not None and self._alive_at >= start else at
        await self._finish(op, fault, complete)

    async def _finish(self, op: TrackedOperation, fault: FaultStruct, at: datetime) -> None:
        """Report, then forget: a crash in between repeats the report (the engine ignores a
        second TransferComplete) rather than losing it (Table 7: never discarded)."""
        start = datetime.fromisoformat(op.start)
        if op.origin == ACS:
            self._report(TransferComplete(op.command_key, fault, start, at))
            self._untrack(op)
            return
        transfer_url = ""
        sms = self.sms
        if sms is not None and supports(sms, "GetDUInfo"):
            try:
                info = await bounded(sms.get_du_info(FIRMWARE_DUID), self.timeout)
                transfer_url = strip_userinfo(info.du_uri)
            except (UpnpError, TimeoutError):
                pass
        atc = AutonomousTransferComplete(
            announce_url="",
            transfer_url=transfer_url,
            is_download=True,
            file_type=FIRMWARE_FILE_TYPE,
            file_size=0,
            target_file_name="",
            fault_struct=fault,
            start_time=start,
            complete_time=at,
        )
        try:
            self.on_autonomous_complete(atc)
        except Exception:
            log.exception("on_autonomous_complete failed")
        self._untrack(op)

    def _report(self, tc: TransferComplete) -> None:
        try:
            self.on_transfer_complete(tc)
        except Exception:
            log.exception("on_transfer_complete failed")
