"""`CpeEngine`: one Virtual CWMP Device's CWMP brain (TR-069 §3.2, §3.7, Annex A).

It decides when a session is due (boot, BOOTSTRAP, periodic, scheduled, Connection Request,
active notification, transfer completion, retry), builds the Inform, runs one session over
an `AcsTransport` with the sans-IO `CpeSession`, dispatches each ACS request to the
`DataModelBackend`, and keeps everything that must survive a restart in the `DeviceStore`.

Timers follow the aioquic style: `get_timer()` says when to call `handle_timer(now)` next,
which answers whether a session should start; `now` is wall-clock seconds (time.time()) so
periodic phases and persisted due times mean the same after a restart. The only coroutine
entry points are `run_session(transport)` and `start_due_transfers(now)`.

Wiring one virtual device (what `DeviceRunner` and the proxier do):

    store = DeviceStore(state_dir / "<device>.sqlite")
    engine = CpeEngine(backend, store, EngineConfig(device_id, acs_url, ...))
    runner = DeviceRunner(engine, http.transport_factory(...))
    token = cr_server.register(runner.connection_request, engine.connection_request_credentials)
    engine.set_connection_request_url(cr_server.url(token))
    runner.start(booted=True)   # or engine.device_booted(now) when the device comes back

Other layers raise events with `raise_event` ("8 DIAGNOSTICS COMPLETE" …); backends report
external value changes and finished transfers through the listeners the engine registers,
and transfers the ACS did not ask for through `autonomous_transfer_complete` (registered
as the listener of a backend that is an `AutonomousTransferNotifier`).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from proxier.cwmp import autonomous, soap
from proxier.cwmp import events as ev
from proxier.cwmp.backend import AutonomousTransferNotifier, DataModelBackend, ValueChange
from proxier.cwmp.faults import fault, refuse_when_full
from proxier.cwmp.forced import read_forced_separately
from proxier.cwmp.notification import effective_level
from proxier.cwmp.ratelimit import DEFAULT_RATE_LIMIT, DEFAULT_RATE_WINDOW, TokenBucket
from proxier.cwmp.retry import RetryPolicy
from proxier.cwmp.rpc import (
    UNKNOWN_TIME,
    AddObject,
    AddObjectResponse,
    AllQueuedTransferStruct,
    AutonomousTransferComplete,
    CancelTransfer,
    CancelTransferResponse,
    CpeRequest,
    CpeResponse,
    CwmpFaultError,
    DeleteObject,
    DeleteObjectResponse,
    DeviceIdStruct,
    Download,
    DownloadResponse,
    EventStruct,
    FactoryReset,
    FactoryResetResponse,
    Fault,
    FaultStruct,
    GetAllQueuedTransfers,
    GetAllQueuedTransfersResponse,
    GetParameterAttributes,
    GetParameterAttributesResponse,
    GetParameterNames,
    GetParameterNamesResponse,
    GetParameterValues,
    GetParameterValuesResponse,
    GetQueuedTransfers,
    GetQueuedTransfersResponse,
    GetRPCMethods,
    GetRPCMethodsResponse,
    Inform,
    ParameterValueStruct,
    QueuedTransferStruct,
    Reboot,
    RebootResponse,
    ScheduleDownload,
    ScheduleInform,
    ScheduleInformResponse,
    SetParameterAttributes,
    SetParameterAttributesResponse,
    SetParameterValues,
    SetParameterValuesResponse,
    TransferComplete,
    Upload,
    UploadResponse,
)
from proxier.cwmp.session import CpeSession, Execute, Finished, Post
from proxier.cwmp.store import (
    COMPLETED,
    IN_PROGRESS,
    NOT_STARTED,
    DeviceStore,
    TransferRecord,
    from_iso,
    to_iso,
)
from proxier.cwmp.transferurl import split_transfer_url
from proxier.cwmp.transport import AcsTransport, TransportError
from proxier.logsafe import get_logger

log = get_logger(__name__)

DI = "Device.DeviceInfo."
MS = "Device.ManagementServer."
PARAMETER_KEY = MS + "ParameterKey"
CONNECTION_REQUEST_URL = MS + "ConnectionRequestURL"
#: Forced Inform parameters read from the backend (reference §4.6); ParameterKey and
#: ConnectionRequestURL, also forced, are the engine's own. RootDataModelVersion (Device:2.4)
#: goes in when the backend has it.
FORCED_INFORM_FROM_BACKEND = (
    "Device.RootDataModelVersion",
    DI + "HardwareVersion",
    DI + "SoftwareVersion",
    DI + "ProvisioningCode",
)
#: Retry and periodic-inform jitter of every engine without its own `rng` (a Random is
#: 2.5 KiB: one per virtual device adds up on a gateway).
_RNG = random.Random()

#: GetRPCMethodsResponse (A.3.1.1). ScheduleDownload is answered 9000 (TR-330 §4.7.1.1).
SUPPORTED_METHODS = (
    "GetRPCMethods",
    "SetParameterValues",
    "GetParameterValues",
    "GetParameterNames",
    "SetParameterAttributes",
    "GetParameterAttributes",
    "AddObject",
    "DeleteObject",
    "Reboot",
    "Download",
    "Upload",
    "FactoryReset",
    "ScheduleInform",
    "GetQueuedTransfers",
    "GetAllQueuedTransfers",
    "CancelTransfer",
)

#: ManagementServer parameters the engine acts on, mirrored from successful SPVs.
_MIRRORED = frozenset(
    {
        "URL",
        "Username",
        "Password",
        "PeriodicInformEnable",
        "PeriodicInformInterval",
        "PeriodicInformTime",
        "ConnectionRequestUsername",
        "ConnectionRequestPassword",
        "CWMPRetryMinimumWaitInterval",
        "CWMPRetryIntervalMultiplier",
        "DefaultActiveNotificationThrottle",
        *autonomous.POLICY_DEFAULTS,
    }
)
#: Queued transfers the CPE keeps (GetQueuedTransfers returns at most 16, A.4.1.1).
MAX_TRANSFERS = 16
#: Pending ScheduleInform requests kept (issue 12 item 8: bounded like the transfer queue).
MAX_SCHEDULED_INFORMS = 8
FIRST_VERSION = "1.2"
#: Store meta: "reboot"/"reset" the ACS asked for and that has not been carried out yet.
OWED_AFTER_SESSION = "owed_after_session"
FALLBACK_VERSION = "1.0"


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Per-device settings that are not in the store yet (the ACS may override most)."""

    device_id: DeviceIdStruct
    acs_url: str
    acs_username: str = ""
    acs_password: str = field(default="", repr=False)
    periodic_inform_enable: bool = True
    periodic_inform_interval: int = 3600
    #: PeriodicInformTime phase; None lets the engine pick a random per-device phase so
    #: hundreds of virtual devices do not inform at the same second.
    periodic_inform_time: datetime | None = None
    connection_request_username: str = ""
    connection_request_password: str = field(default="", repr=False)
    session_timeout: float = 30.0
    #: §3.2.2 rate limit: a token bucket of this many sessions started by Connection
    #: Requests, refilled over the window (`proxier.cwmp.ratelimit`).
    connection_request_limit: int = DEFAULT_RATE_LIMIT
    connection_request_window: float = DEFAULT_RATE_WINDOW


@dataclass(frozen=True, slots=True)
class AcsSettings:
    """What a transport needs to reach the ACS now (ManagementServer.URL/Username/Password)."""

    url: str
    username: str = ""
    password: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class SessionResult:
    ok: bool
    reason: str = ""
    events: tuple[str, ...] = ()
    version: str = FIRST_VERSION
    rpcs: int = 0
    #: The ACS's requests in the order they were answered, and the session's length (s).
    rpc_names: tuple[str, ...] = ()
    duration: float = 0.0


@runtime_checkable
class BootNotifier(Protocol):
    """Optional backend capability: tells when the device is up again after a reboot."""

    def set_boot_listener(self, listener: Callable[[], None]) -> None: ...


@runtime_checkable
class ValueBinder(Protocol):
    """Optional backend capability: serve a read-only parameter from the engine."""

    def bind_value(self, name: str, getter: Callable[[], str]) -> None: ...


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true")


class CpeEngine:
    """CWMP behaviour of one virtual device: events, timers, sessions and RPC dispatch."""

    def __init__(
        self,
        backend: DataModelBackend,
        store: DeviceStore,
        config: EngineConfig,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.backend = backend
        self.store = store
        self.config = config
        self._clock = clock
        self._rng = rng or _RNG
        self._wakeup: Callable[[], None] | None = None
        self._in_session = False
        self._session_due: float | None = None
        self._retry_at: float | None = None
        self._post_boot_retries = 0
        #: Inform namespace: 1.2, or 1.0 once an ACS accepted only that (§3.2.1.1).
        self._next_version = store.get_meta("inform_version") or FIRST_VERSION
        self._cr_pending = False
        self._cr_bucket = TokenBucket()
        self._last_success_end = -math.inf
        self._acs_set: dict[str, str] = {}
        self._missing_forced: set[str] = set()
        self._last_forced: dict[str, ParameterValueStruct] = {}  # name → last value read
        self._session: CpeSession | None = None
        #: CommandKeys of the transfers the running session started (A.3.3.2: only their
        #: TransferComplete may join it without "7 TRANSFER COMPLETE" in its Inform).
        self._session_transfers: set[str] = set()
        self._reboot_after_session = False
        self._reset_after_session = False
        self._next_periodic: float | None = None
        #: Told every ACS request with its answer (operator metrics, values last read).
        self.on_answer: Callable[[CpeRequest, CpeResponse | Fault], None] | None = None
        #: AutonomousTransferCompletes the running session carries, with their store rows.
        self._session_atcs: list[tuple[int, AutonomousTransferComplete]] = []
        backend.set_listeners(self._on_value_change, self._on_transfer_complete)
        if isinstance(backend, BootNotifier):
            backend.set_boot_listener(self.device_booted)
        if isinstance(backend, AutonomousTransferNotifier):
            backend.set_autonomous_listener(self.autonomous_transfer_complete)
        if isinstance(backend, ValueBinder):
            backend.bind_value(PARAMETER_KEY, lambda: self.parameter_key)
            backend.bind_value(CONNECTION_REQUEST_URL, lambda: self.connection_request_url)
        now = clock()
        if self.store.get_meta("session_open") == "1":
            # The process died inside a session: that attempt failed (§3.2.1.1, Table 7).
            with self.store.transaction():
                self.store.apply_events(ev.after_failed_session(self.store.events()))
                self.store.set_meta("retry_count", str(self.retry_count + 1))
                self.store.set_meta("session_open", "0")
        self._check_bootstrap(now)
        self._schedule_periodic(now)
        if self.store.get_meta("retry_count", "0") != "0" or self.store.events():
            # Undelivered events or a failed session before the restart: retry now.
            self._want_session(now)
        owed = self.store.get_meta(OWED_AFTER_SESSION)
        if owed:
            # The ACS got its RebootResponse/FactoryResetResponse, then the process died
            # before acting on it: do it after the next session, which comes now.
            self._reboot_after_session = owed == "reboot"
            self._reset_after_session = owed == "reset"
            self._want_session(now)

    # --- public state ------------------------------------------------------------------------

    @property
    def in_session(self) -> bool:
        return self._in_session

    @property
    def next_periodic_inform(self) -> float | None:
        return self._next_periodic

    @property
    def parameter_key(self) -> str:
        return self.store.get_meta("parameter_key")

    @property
    def retry_count(self) -> int:
        return int(self.store.get_meta("retry_count", "0"))

    @property
    def connection_request_url(self) -> str:
        return self.store.get_meta("connection_request_url")

    def setting(self, leaf: str) -> str:
        """Current ManagementServer.<leaf> as the engine acts on it (ACS value or config)."""
        stored = self.store.get_meta("ms." + leaf, "\0")
        if stored != "\0":
            return stored
        c = self.config
        defaults = {
            "URL": c.acs_url,
            "Username": c.acs_username,
            "Password": c.acs_password,
            "PeriodicInformEnable": "true" if c.periodic_inform_enable else "false",
            "PeriodicInformInterval": str(c.periodic_inform_interval),
            "PeriodicInformTime": c.periodic_inform_time.isoformat()
            if c.periodic_inform_time
            else "",
            "ConnectionRequestUsername": c.connection_request_username,
            "ConnectionRequestPassword": c.connection_request_password,
            "CWMPRetryMinimumWaitInterval": "5",
            "CWMPRetryIntervalMultiplier": "2000",
            "DefaultActiveNotificationThrottle": "0",
            **autonomous.POLICY_DEFAULTS,
        }
        return defaults.get(leaf, "")

    def reconfigure(self, config: EngineConfig, now: float) -> None:
        """New configured defaults (SIGHUP): a new ACS URL bootstraps there, intervals
        reschedule; values the ACS set itself keep precedence (setting())."""
        self.config = config
        self._check_bootstrap(now)
        self._schedule_periodic(now)
        self._wake()

    def acs_settings(self) -> AcsSettings:
        return AcsSettings(self.setting("URL"), self.setting("Username"), self.setting("Password"))

    def connection_request_credentials(self) -> tuple[str, str]:
        """(ConnectionRequestUsername, ConnectionRequestPassword) for digest checks."""
        return self.setting("ConnectionRequestUsername"), self.setting("ConnectionRequestPassword")

    def retry_policy(self) -> RetryPolicy:
        try:
            return RetryPolicy(
                int(self.setting("CWMPRetryMinimumWaitInterval")),
                int(self.setting("CWMPRetryIntervalMultiplier")),
            )
        except ValueError:
            return RetryPolicy()

    def set_wakeup(self, callback: Callable[[], None] | None) -> None:
        """Called whenever outside input changed what `get_timer()` returns."""
        self._wakeup = callback

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup()

    # --- inputs from the outside -------------------------------------------------------------

    def device_booted(self, now: float | None = None) -> None:
        """The device (re)started: "1 BOOT", plus one "M Reboot" per Reboot asked for.

        Events kept only "until reboot" are discarded (Table 7) with the values pending
        notification (A.3.3.1); the retry intervals start over (§3.2.1.1).
        """
        with self.store.transaction():
            if self.store.get_meta(OWED_AFTER_SESSION) == "reboot" and not self._in_session:
                # It rebooted (we may have died waiting for BMS::Reboot's answer): done.
                self.store.delete_meta(OWED_AFTER_SESSION)
                self._reboot_after_session = False
            pending = self.store.events()
            self.store.apply_events(ev.after_reboot(pending))
            self.store.clear_changed_values()
            self.store.apply_events(ev.raise_event(self.store.events(), ev.BOOT))
            for key in self.store.reboots():
                self.store.apply_events(ev.raise_event(self.store.events(), ev.M_REBOOT, key))
            self.store.clear_reboots()
        self._post_boot_retries = 0
        self._want_session(self._clock() if now is None else now)
        self._wake()

    def connection_request(self, now: float | None = None) -> bool:
        """An authenticated Connection Request arrived (§3.2.2). False → answer 503.

        Refused while in a session (we never cut a session short) or when over the rate
        limit; while one is accepted and its session has not started, more are answered
        200 without another session.
        """
        if self._in_session:
            return False
        if self._cr_pending:
            return True
        now = self._clock() if now is None else now
        c = self.config
        if not self._cr_bucket.take(now, c.connection_request_limit, c.connection_request_window):
            return False
        self._cr_pending = True
        self._raise(ev.CONNECTION_REQUEST)
        self._want_session(now)
        self._wake()
        return True

    def set_connection_request_url(self, url: str) -> None:
        """The Connection Request server assigned (or moved) this device's URL."""
        old = self.connection_request_url
        if url == old:
            return
        self.store.set_meta("connection_request_url", url)
        if old:  # a change of an active-notification parameter (§3.2.2 last paragraph)
            self._on_value_change([ValueChange(CONNECTION_REQUEST_URL, url)])

    def raise_event(self, code: str, command_key: str = "", *, now: float | None = None) -> None:
        """Raise an event from another layer ("8 DIAGNOSTICS COMPLETE" …) and inform soon."""
        self._raise(code, command_key)
        self._want_session(self._clock() if now is None else now)
        self._wake()

    def _raise(self, code: str, command_key: str = "") -> None:
        with self.store.transaction():
            self.store.apply_events(ev.raise_event(self.store.events(), code, command_key))

    def _on_value_change(self, changes: Sequence[ValueChange]) -> None:
        """Backend callback: values changed by something other than the ACS (A.3.2.4)."""
        now = self._clock()
        notified = active = False
        with self.store.transaction():
            for change in changes:
                if self._acs_set.get(change.name) == change.value:
                    continue  # the echo of the ACS's own SetParameterValues never notifies
                self._acs_set.pop(change.name, None)
                level = effective_level(
                    change.name, self.store.notification(change.name), change.notification
                )
                if level == 0:
                    continue
                self.store.record_value_change(change.name, change.value, change.type)
                notified = True
                active = active or level == 2
            if notified:
                self.store.apply_events(ev.raise_event(self.store.events(), ev.VALUE_CHANGE))
        if active:
            throttle = float(self.setting("DefaultActiveNotificationThrottle") or 0)
            self._want_session(max(now, self._last_success_end + throttle))
            self._wake()

    def _on_transfer_complete(self, tc: TransferComplete) -> None:
        """Backend callback: a transfer it answered with Status 1 has finished."""
        record = next(
            (
                t
                for t in self.store.transfers()
                if t.state == IN_PROGRESS and t.command_key == tc.command_key
            ),
            None,
        )
        if record is None:
            log.warning("TransferComplete for unknown CommandKey %r ignored", tc.command_key)
            return
        self._complete_transfer(record, tc.fault_struct, tc.start_time, tc.complete_time)
        if (
            self._session is not None
            and tc.command_key in self._session_transfers
            and self._session.add_request(tc)
        ):
            return  # A.3.3.2: sent later in the session that started it (Figure 4)
        # §3.7.1.5: any other session must announce it with "7 TRANSFER COMPLETE" first.
        self._want_session(self._clock())
        self._wake()

    def autonomous_transfer_complete(
        self, atc: AutonomousTransferComplete, now: float | None = None
    ) -> None:
        """A transfer the ACS did not ask for finished (A.3.3.3, TR-330 §4.7.1.3).

        If ManagementServer.AutonomousTransferCompletePolicy lets it through, it is kept
        in the store until an AutonomousTransferCompleteResponse confirms it, with
        "10 AUTONOMOUS TRANSFER COMPLETE" (Table 7: never discarded), and a session is due.
        It goes only in a session whose Inform carries that event (§3.7.1.5: the event says
        the method follows in the session), never into one already running.
        """
        if not autonomous.reported(self.setting, atc):
            log.info(
                "%s: autonomous transfer (%s) not reported: AutonomousTransferCompletePolicy",
                self.config.device_id.serial_number,
                atc.file_type,
            )
            return
        with self.store.transaction():
            self.store.add_autonomous_transfer(atc)
            self.store.apply_events(
                ev.raise_event(self.store.events(), ev.AUTONOMOUS_TRANSFER_COMPLETE)
            )
        self._want_session(self._clock() if now is None else now)
        self._wake()

    def _complete_transfer(
        self, record: TransferRecord, fault: FaultStruct, start: datetime, complete: datetime
    ) -> None:
        code = ev.M_DOWNLOAD if record.is_download else ev.M_UPLOAD
        with self.store.transaction():
            self.store.complete_transfer(
                record.id, fault.fault_code, fault.fault_string, to_iso(start), to_iso(complete)
            )
            self.store.apply_events(ev.raise_event(self.store.events(), code, record.command_key))

    # --- timers ------------------------------------------------------------------------------

    def _want_session(self, at: float) -> None:
        if self._session_due is None or at < self._session_due:
            self._session_due = at

    def get_timer(self) -> float | None:
        """The next time `handle_timer` has something to do, or None."""
        times = [self._session_due, self._retry_at, self._next_periodic]
        scheduled = self.store.scheduled_informs()
        if scheduled:
            times.append(scheduled[0].due)
        times.extend(t.due for t in self.store.transfers() if t.state == NOT_STARTED)
        candidates = [t for t in times if t is not None]
        return min(candidates) if candidates else None

    def handle_timer(self, now: float) -> bool:
        """Fire what is due; return True if a session should start now."""
        if self._next_periodic is not None and now >= self._next_periodic:
            self._raise(ev.PERIODIC)
            self._want_session(now)
            self._schedule_periodic(now)
        for due in self.store.scheduled_informs():
            if due.due > now:
                break
            with self.store.transaction():
                self.store.delete_scheduled_inform(due.id)
                self.store.apply_events(
                    ev.raise_event(self.store.events(), ev.M_SCHEDULE_INFORM, due.command_key)
                )
            self._want_session(now)
        if self._retry_at is not None and now >= self._retry_at:
            self._retry_at = None
            self._want_session(now)
        return not self._in_session and self._session_due is not None and self._session_due <= now

    def transfers_due(self, now: float) -> bool:
        return any(t.state == NOT_STARTED and t.due <= now for t in self.store.transfers())

    def _schedule_periodic(self, now: float) -> None:
        """Next PeriodicInformTime + n × PeriodicInformInterval strictly after `now`."""
        if not _truthy(self.setting("PeriodicInformEnable")):
            self._next_periodic = None
            return
        try:
            interval = max(1, int(self.setting("PeriodicInformInterval")))
        except ValueError:
            interval = 3600
        phase = self._periodic_phase(interval)
        self._next_periodic = phase + (math.floor((now - phase) / interval) + 1) * interval

    def _periodic_phase(self, interval: int) -> float:
        text = self.setting("PeriodicInformTime")
        if text:
            try:
                t = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                t = UNKNOWN_TIME
            if t.tzinfo is None:
                t = t.replace(tzinfo=UTC)
            if t.year > 1:  # Unknown Time → the CPE chooses (TR-181)
                return t.timestamp()
        stored = self.store.get_meta("periodic_phase")
        if not stored:
            stored = repr(self._rng.uniform(0, interval))
            self.store.set_meta("periodic_phase", stored)
        return float(stored)

    def _check_bootstrap(self, now: float) -> None:
        """First contact with this ACS URL (or after a factory reset) → "0 BOOTSTRAP"."""
        url = self.setting("URL")
        if self.store.get_meta("acs_url_seen", "\0") == url:
            return
        with self.store.transaction():
            self.store.clear_for_bootstrap()
            self.store.apply_events(ev.after_acs_url_change(self.store.events()))
            self.store.set_meta("acs_url_seen", url)
            self.store.delete_meta("inform_version")
        self._next_version = FIRST_VERSION
        self._want_session(now)

    # --- transfers that were queued with a delay ---------------------------------------------

    async def start_due_transfers(self, now: float) -> None:
        """Start queued Download/Upload whose DelaySeconds elapsed (A.3.2.8)."""
        for record in self.store.transfers():
            if record.state != NOT_STARTED or record.due > now:
                continue
            self.store.set_transfer_state(record.id, IN_PROGRESS)
            try:
                if record.is_download:
                    response: DownloadResponse | UploadResponse = await self.backend.download(
                        Download(
                            record.command_key,
                            record.file_type,
                            record.url,
                            record.username,
                            record.password,
                            record.file_size,
                            record.target_file_name,
                        )
                    )
                else:
                    response = await self.backend.upload(
                        Upload(
                            record.command_key,
                            record.file_type,
                            record.url,
                            record.username,
                            record.password,
                        )
                    )
            except CwmpFaultError as exc:
                f = exc.fault
                self._complete_transfer(
                    record, FaultStruct(f.fault_code, f.fault_string), UNKNOWN_TIME, UNKNOWN_TIME
                )
                self._want_session(now)
                continue
            except Exception:
                log.exception("transfer %r failed in the backend", record.command_key)
                self._complete_transfer(
                    record, FaultStruct(9002, "Internal error"), UNKNOWN_TIME, UNKNOWN_TIME
                )
                self._want_session(now)
                continue
            if response.status == 0:
                self._complete_transfer(
                    record, FaultStruct(), response.start_time, response.complete_time
                )
                self._want_session(now)

    # --- one session -------------------------------------------------------------------------

    async def _build_inform(
        self, now: float, pending: list[ev.PendingEvent], changed: list[ParameterValueStruct]
    ) -> Inform:
        """`changed`: the values pending notification when `pending` was read; a change
        recorded while the forced values are being read is left to the next Inform (the
        InformResponse clears only what this one carried)."""
        sent_codes = {e.code for e in pending}
        params: dict[str, ParameterValueStruct] = {}
        for pv in await self._forced_values():
            params[pv.name] = pv
        params[PARAMETER_KEY] = ParameterValueStruct(PARAMETER_KEY, self.parameter_key)
        params[CONNECTION_REQUEST_URL] = ParameterValueStruct(
            CONNECTION_REQUEST_URL, self.connection_request_url
        )
        if ev.VALUE_CHANGE in sent_codes:
            # A changed parameter that is also forced (ProvisioningCode…) carries the value
            # whose change this Inform announces, not one read just now: a newer value is
            # a change of its own, announced next, and showing it here already would make
            # the ACS see that value twice (A.3.3.1: each change reported once).
            for pv in changed:
                params[pv.name] = pv
        return Inform(
            device_id=self.config.device_id,
            event=tuple(EventStruct(e.code, e.command_key) for e in pending),
            max_envelopes=1,
            current_time=datetime.fromtimestamp(now, UTC).astimezone(),
            retry_count=self.retry_count,
            parameter_list=tuple(params.values()),
        )

    async def _forced_values(self) -> list[ParameterValueStruct]:
        """The Forced Inform parameters the backend holds. A name the backend does not have
        (9005) is left out from then on; when the backend fails otherwise (a device that
        does not answer: 9002) the values last read go out at once, rather than one more
        timeout per name and names wrongly taken for missing (every Inform carries them)."""
        names = [n for n in FORCED_INFORM_FROM_BACKEND if n not in self._missing_forced]
        try:
            values = await self.backend.get_parameter_values(names)
        except CwmpFaultError as exc:
            if exc.fault.fault_code != 9005:
                log.warning("forced Inform parameters not read (%s): last values", exc)
                return list(self._last_forced.values())
            # some are missing: take those that exist, remember the others
            values = await read_forced_separately(
                self.backend.get_parameter_values, names, self._missing_forced, self._last_forced
            )
        except Exception:
            log.exception("reading forced Inform parameters failed")
            return list(self._last_forced.values())
        self._last_forced.update((pv.name, pv) for pv in values)
        return values

    def _transfer_completes(self) -> list[TransferComplete]:
        return [
            TransferComplete(
                t.command_key,
                FaultStruct(t.fault_code, t.fault_string),
                from_iso(t.start_time),
                from_iso(t.complete_time),
            )
            for t in self.store.transfers()
            if t.state == COMPLETED
        ]

    async def run_session(self, transport: AcsTransport) -> SessionResult:
        """Run one session to its end over `transport` (§3.7.1). Never raises for the
        ACS's misbehaviour; the result says how it ended."""
        now = self._clock()
        self._in_session = True
        self._session_due = None
        self._retry_at = None
        self._cr_pending = False
        self._session_transfers = set()
        inform_list, dropped = ev.inform_events(self.store.events())
        with self.store.transaction():
            self.store.apply_events(dropped)
            self.store.set_meta("session_open", "1")
        changed = self.store.changed_values()
        changed_upto = max((seq for seq, _ in changed), default=0)
        try:
            inform = await self._build_inform(now, inform_list, [pv for _, pv in changed])
            inform_version = self._next_version
            announced = any(e.code == ev.AUTONOMOUS_TRANSFER_COMPLETE for e in inform_list)
            self._session_atcs = self.store.autonomous_transfers() if announced else []
            session = CpeSession(
                inform,
                [*self._transfer_completes(), *(atc for _, atc in self._session_atcs)],
                version=inform_version,
                timeout=self.config.session_timeout,
            )
            log.debug(
                "%s: session to %s (cwmp %s) events %s retry %d",
                self.config.device_id.serial_number,
                self.setting("URL"),
                session.version,
                [e.code for e in inform_list],
                inform.retry_count,
            )
            self._session = session
            result, names = await self._drive(session, transport, inform_list, changed_upto)
        except asyncio.CancelledError:
            self._in_session = False
            self._record_failure(self._clock(), "cancelled", version_suspect=False)
            raise
        finally:
            self._in_session = False
            self._session = None
            self._session_atcs = []
        end = self._clock()
        if result.ok:
            with self.store.transaction():
                self.store.set_meta("retry_count", "0")
                self.store.set_meta("session_open", "0")
            self._post_boot_retries = 0
            self._last_success_end = end
            if inform_version == FALLBACK_VERSION:
                # The fallback worked: keep v1.0 for this ACS instead of failing every
                # other session (until a new ACS URL bootstraps).
                self.store.set_meta("inform_version", FALLBACK_VERSION)
            log.debug(
                "%s: session done, ACS requests %s", self.config.device_id.serial_number, names
            )
        else:
            suspect = session.version_suspect and session.version == FIRST_VERSION
            self._record_failure(end, result.reason, version_suspect=suspect)
        await self._after_session(end)
        events = tuple(e.code for e in inform_list)
        return SessionResult(
            result.ok, result.reason, events, session.version, len(names), names, end - now
        )

    def session_not_started(self, now: float, reason: str) -> None:
        """The driver could not even open a transport (bad ACS URL …): a failed attempt,
        retried on the Table 3 schedule instead of in a tight loop."""
        self._session_due = None
        self._cr_pending = False
        self._record_failure(now, reason, version_suspect=False)

    def _record_failure(self, end: float, reason: str, *, version_suspect: bool) -> None:
        """An unsuccessful session: count it, drop what must not be retried, and schedule
        the retry after a Table 3 wait (§3.2.1.1)."""
        with self.store.transaction():
            self.store.apply_events(ev.after_failed_session(self.store.events()))
            self.store.set_meta("retry_count", str(self.retry_count + 1))
            self.store.set_meta("session_open", "0")
        self._post_boot_retries += 1
        wait = self.retry_policy().wait(self._post_boot_retries, self._rng)
        self._retry_at = end + wait
        # §3.2.1.1: an ACS that rejected our v1.2 Inform may support only v1.0; one that
        # rejected v1.0 too gets v1.2 again.
        if version_suspect:
            self._next_version = FALLBACK_VERSION
        elif self._next_version == FALLBACK_VERSION and not self.store.get_meta("inform_version"):
            self._next_version = FIRST_VERSION
        log.debug(
            "%s: session failed (%s); retry #%d in %.0f s",
            self.config.device_id.serial_number,
            reason,
            self._post_boot_retries,
            wait,
        )

    async def _drive(
        self,
        session: CpeSession,
        transport: AcsTransport,
        inform_list: list[ev.PendingEvent],
        changed_upto: int,
    ) -> tuple[Finished, tuple[str, ...]]:
        action: Post | Execute | Finished = session.start(self._clock())
        informed_done = False
        confirmed_done = 0
        names: list[str] = []
        while not isinstance(action, Finished):
            if isinstance(action, Execute):
                names.append(type(action.request).__name__)
                message = await self.execute(action.request)
                action = session.respond(message, self._clock())
                continue
            action = await self._exchange(session, transport, action)
            if session.informed and not informed_done:
                informed_done = True
                self._on_informed(inform_list, changed_upto)
            for request in session.confirmed[confirmed_done:]:
                if isinstance(request, TransferComplete):
                    self._on_transfer_complete_delivered(request)
                elif isinstance(request, AutonomousTransferComplete):
                    self._on_autonomous_delivered(request)
            confirmed_done = len(session.confirmed)
        return action, tuple(names)

    async def _exchange(
        self, session: CpeSession, transport: AcsTransport, post: Post
    ) -> Post | Execute | Finished:
        try:
            body = b"" if post.envelope is None else soap.encode(post.envelope)
        except Exception as exc:
            log.exception("encoding a CWMP message failed")
            return session.fail(f"encode error: {exc}")
        deadline = session.get_timer()
        timeout = None if deadline is None else max(0.0, deadline - self._clock())
        try:
            reply = await asyncio.wait_for(transport.post(body), timeout)
        except TimeoutError:
            return session.handle_timer(math.inf) or session.fail("timeout")
        except TransportError as exc:
            return session.fail(f"transport: {exc}")
        except Exception as exc:  # any driver failure is a failed attempt, not a crash
            log.exception("ACS transport raised outside its contract")
            return session.fail(f"transport: {exc!r}")
        now = self._clock()
        if reply.status >= 300 or not reply.body.strip():
            return session.receive(reply.status, None, now)
        try:
            envelope = soap.decode(reply.body)
        except soap.SoapError as exc:
            return session.receive_malformed(exc.code, exc.message, exc.cwmp_id, now)
        return session.receive(reply.status, envelope, now)

    def _on_informed(self, inform_list: list[ev.PendingEvent], changed_upto: int) -> None:
        """InformResponse received: the events it confirms are delivered (§3.7.1.5)."""
        with self.store.transaction():
            self.store.apply_events(ev.confirmed_by_inform_response(inform_list))
            if any(e.code == ev.VALUE_CHANGE for e in inform_list):
                self.store.clear_changed_values(changed_upto)

    def _on_transfer_complete_delivered(self, tc: TransferComplete) -> None:
        """TransferCompleteResponse: the transfer and its "M Download"/"M Upload" are done."""
        record = next(
            (
                t
                for t in self.store.transfers()
                if t.state == COMPLETED and t.command_key == tc.command_key
            ),
            None,
        )
        if record is None:
            return
        code = ev.M_DOWNLOAD if record.is_download else ev.M_UPLOAD
        with self.store.transaction():
            self.store.delete_transfer(record.id)
            self.store.apply_events(
                ev.confirmed_by_transfer_complete_response(
                    self.store.events(), code, record.command_key
                )
            )

    def _on_autonomous_delivered(self, atc: AutonomousTransferComplete) -> None:
        """AutonomousTransferCompleteResponse: that transfer is reported; the last one to be
        confirmed confirms "10 AUTONOMOUS TRANSFER COMPLETE" (Table 7, A.3.3.3)."""
        row = next((r for r, sent in self._session_atcs if sent is atc), None)
        if row is None:
            return
        with self.store.transaction():
            self.store.delete_autonomous_transfer(row)
            if not self.store.autonomous_transfers():
                self.store.apply_events(
                    ev.confirmed_by_autonomous_transfer_complete_response(self.store.events())
                )

    async def _after_session(self, now: float) -> None:
        """Reboot / FactoryReset only once the session is over (A.3.2.9, A.4.1.6)."""
        if self._reset_after_session:
            self._reset_after_session = self._reboot_after_session = False
            cr_url = self.connection_request_url  # the proxier's, not the ACS's, state
            with self.store.transaction():
                self.store.clear_for_bootstrap(factory_reset=True)
                self.store.set_meta(OWED_AFTER_SESSION, "reset")
                if cr_url:
                    self.store.set_meta("connection_request_url", cr_url)
            self._acs_set.clear()
            self._check_bootstrap(now)
            self._schedule_periodic(now)
            try:
                await self.backend.factory_reset()
            except Exception:
                log.exception("factory reset failed")
            self.store.delete_meta(OWED_AFTER_SESSION)
        elif self._reboot_after_session:
            self._reboot_after_session = False
            keys = self.store.reboots()
            try:
                await self.backend.reboot(keys[0] if keys else "")
            except Exception:
                log.exception("reboot failed")
            self.store.delete_meta(OWED_AFTER_SESSION)

    # --- ACS requests ------------------------------------------------------------------------

    async def execute(self, request: CpeRequest) -> CpeResponse | Fault:
        """Answer one ACS request: a response, or the fault it deserves (never raises)."""
        answer: CpeResponse | Fault
        try:
            answer = await self._dispatch(request)
        except CwmpFaultError as exc:
            answer = exc.fault
        except Exception:
            log.exception("%s failed inside the backend", type(request).__name__)
            answer = fault(9002)
        if self.on_answer is not None:
            self.on_answer(request, answer)
        return answer

    async def _dispatch(self, request: CpeRequest) -> CpeResponse:
        b = self.backend
        now = self._clock()
        match request:
            case GetRPCMethods():
                return GetRPCMethodsResponse(SUPPORTED_METHODS)
            case GetParameterNames(path, next_level):
                return GetParameterNamesResponse(
                    tuple(await b.get_parameter_names(path, next_level))
                )
            case GetParameterValues(names):
                return GetParameterValuesResponse(tuple(await b.get_parameter_values(names)))
            case SetParameterValues(plist, key):
                return await self._set_parameter_values(plist, key, now)
            case GetParameterAttributes(names):
                return GetParameterAttributesResponse(
                    tuple(await b.get_parameter_attributes(names))
                )
            case SetParameterAttributes(plist):
                await b.set_parameter_attributes(plist)
                notified = [s.name for s in plist if s.notification_change]
                if notified:
                    attrs = await b.get_parameter_attributes(notified)
                    with self.store.transaction():
                        for a in attrs:
                            self.store.set_notification(a.name, a.notification)
                return SetParameterAttributesResponse()
            case AddObject(name, key):
                number, status = await b.add_object(name, key)
                self.store.set_meta("parameter_key", key)
                return AddObjectResponse(number, status)
            case DeleteObject(name, key):
                status = await b.delete_object(name, key)
                with self.store.transaction():
                    self.store.set_meta("parameter_key", key)
                    self.store.forget_subtree(name)
                return DeleteObjectResponse(status)
            case Reboot(key):
                b.ensure_can_reboot(False)
                with self.store.transaction():
                    self.store.add_reboot(key)
                    if not self._reset_after_session:
                        self.store.set_meta(OWED_AFTER_SESSION, "reboot")
                self._reboot_after_session = True
                return RebootResponse()
            case FactoryReset():
                b.ensure_can_reboot(True)
                self.store.set_meta(OWED_AFTER_SESSION, "reset")
                self._reset_after_session = True
                return FactoryResetResponse()
            case Download() | Upload():
                return await self._transfer(request, now)
            case ScheduleInform(delay, key):
                if delay <= 0:
                    raise CwmpFaultError(9003, "Invalid arguments: DelaySeconds must be > 0")
                used = len(self.store.scheduled_informs())
                refuse_when_full(used, MAX_SCHEDULED_INFORMS, "ScheduleInform queue")
                self.store.add_scheduled_inform(now + delay, key)
                return ScheduleInformResponse()
            case GetQueuedTransfers():
                return GetQueuedTransfersResponse(
                    tuple(
                        QueuedTransferStruct(t.command_key, t.state)
                        for t in self.store.transfers()
                        if t.state != COMPLETED
                    )[:MAX_TRANSFERS]
                )
            case GetAllQueuedTransfers():
                return GetAllQueuedTransfersResponse(
                    tuple(
                        AllQueuedTransferStruct(
                            t.command_key,
                            t.state,
                            t.is_download,
                            t.file_type,
                            t.file_size,
                            t.target_file_name,
                        )
                        for t in self.store.transfers()
                        if t.state != COMPLETED
                    )[:MAX_TRANSFERS]
                )
            case CancelTransfer(key):
                return self._cancel_transfer(key)
            case ScheduleDownload():
                raise CwmpFaultError(9000, "Method not supported: ScheduleDownload")
        raise CwmpFaultError(9000, f"Method not supported: {type(request).__name__}")

    async def _set_parameter_values(
        self, plist: Sequence[ParameterValueStruct], key: str, now: float
    ) -> SetParameterValuesResponse:
        names = [pv.name for pv in plist]
        if len(set(names)) != len(names):
            raise CwmpFaultError(9003, "Invalid arguments: a parameter appears twice")
        status = await self.backend.set_parameter_values(plist, key)
        mirrored = {
            pv.name[len(MS) :]: pv.value
            for pv in plist
            if pv.name.startswith(MS) and pv.name[len(MS) :] in _MIRRORED
        }
        with self.store.transaction():
            self.store.set_meta("parameter_key", key)
            for leaf, value in mirrored.items():
                self.store.set_meta("ms." + leaf, value)
        for pv in plist:
            self._acs_set[pv.name] = pv.value
        if "URL" in mirrored:
            self._check_bootstrap(now)
        if mirrored.keys() & {
            "PeriodicInformEnable",
            "PeriodicInformInterval",
            "PeriodicInformTime",
        }:
            self._schedule_periodic(now)
        return SetParameterValuesResponse(status)

    async def _transfer(
        self, request: Download | Upload, now: float
    ) -> DownloadResponse | UploadResponse:
        parts = split_transfer_url(request.url)
        if parts.username is not None or parts.password is not None:
            raise CwmpFaultError(9003, "Invalid arguments: userinfo in the file URL")
        pending = [t for t in self.store.transfers() if t.state != COMPLETED]
        refuse_when_full(len(pending), MAX_TRANSFERS, "transfer queue")
        is_download = isinstance(request, Download)
        self._session_transfers.add(request.command_key)
        common = {
            "command_key": request.command_key,
            "is_download": is_download,
            "file_type": request.file_type,
            "url": request.url,
            "username": request.username,
            "password": request.password,
            "file_size": request.file_size if isinstance(request, Download) else 0,
            "target_file_name": request.target_file_name if isinstance(request, Download) else "",
        }
        if request.delay_seconds > 0:
            self.store.add_transfer(due=now + request.delay_seconds, state=NOT_STARTED, **common)  # type: ignore[arg-type]
            return DownloadResponse(1) if is_download else UploadResponse(1)
        transfer_id = self.store.add_transfer(due=now, state=IN_PROGRESS, **common)  # type: ignore[arg-type]
        try:
            if isinstance(request, Download):
                response: DownloadResponse | UploadResponse = await self.backend.download(request)
            else:
                response = await self.backend.upload(request)
        except BaseException:
            self.store.delete_transfer(transfer_id)
            raise
        if response.status == 0:
            self.store.delete_transfer(transfer_id)
        return response

    def _cancel_transfer(self, key: str) -> CancelTransferResponse:
        matching = [t for t in self.store.transfers() if t.command_key == key]
        if not matching:
            raise CwmpFaultError(9003, f"Invalid arguments: no transfer {key!r}")
        if any(t.state != NOT_STARTED for t in matching):
            raise CwmpFaultError(
                9021, "Cancelation of file transfer not permitted in current transfer state"
            )
        with self.store.transaction():
            for t in matching:
                self.store.delete_transfer(t.id)
        return CancelTransferResponse()
