"""TR-330 §4.4 logs: `Device.DeviceInfo.VendorLogFile.{i}.` from BMS GetLogURIs/GetLogInfo
(§4.4.1), and CWMP Upload of a vendor log: fetched from the device's LogURL and PUT to the
ACS's URL, then TransferComplete ("7 TRANSFER COMPLETE" + "M Upload", §4.4.2, Table 1 row 7).

§4.4.1: one VendorLogFile instance per LogURI, the instance number mapped to the LogURI
(stable: a number is never reused while the proxier runs, and kept across restarts when a
store is given); the table is re-read (GetLogURIs + GetLogInfo) before answering
GetParameterNames / GetParameterValues, since logs come and go at run time. Name: an
internal path (`/upnp-dm/log/<i>/<LogURI tail>`, at most 64 characters, unique through
<i>); MaximumSize: GetLogInfo MaxSize; Persistent: 0 initially, then what the log did across
the device's last reboot (`proxier.translate.logpersist`).

§4.4.2: Upload FileType "4 Vendor Log File <i>" names instance <i>; "2 Vendor Log File"
means the lowest-numbered log. The request is verified (wrong FileType — configuration files
do not exist in UPnP DM — or unknown instance → 9011 as §4.4.2 says; a URL that is not
http(s) → 9013), answered Status 1, then: GetLogInfo(LogURI) for the LogURL, a bounded GET
of the log from the device (failure → 9011), a PUT of it to the ACS's URL with the Upload's
credentials (Digest, or Basic when the server asks for Basic; refused credentials → 9012,
other failures → 9011), and the TransferComplete with StartTime/CompleteTime.

Wired through `proxier.translate.operations.Operations` (with the proxier's HTTP session and
the device's store); the table is only read from the device for names that can cover it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from proxier.cwmp.faults import fault_info, spv_fault
from proxier.cwmp.rpc import (
    FaultStruct,
    ParameterInfoStruct,
    ParameterValueStruct,
    SetParameterValuesFault,
    TransferComplete,
    Upload,
    UploadResponse,
)
from proxier.logsafe import get_logger
from proxier.translate.logpersist import LogPersistence
from proxier.translate.opcommon import KeyValueStore, bounded, cwmp_error, supports
from proxier.upnp.device import DmDevice, LogInfo, UpnpError
from proxier.upnp.http import HttpFetchError, bounded_request

log = get_logger(__name__)

TABLE = "Device.DeviceInfo.VendorLogFile."
COUNT = "Device.DeviceInfo.VendorLogFileNumberOfEntries"
PARAMETERS = (
    ("Name", "xsd:string"),
    ("MaximumSize", "xsd:unsignedInt"),
    ("Persistent", "xsd:boolean"),
)
KEY_PREFIX = "tr330.logs."
NAME_LIMIT = 64
UPLOAD_ANY = "2 Vendor Log File"
UPLOAD_ONE = re.compile(r"4 Vendor Log File (\d{1,9})")
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class LogEntry:
    instance: int
    uri: str
    name: str
    max_size: int


def internal_name(instance: int, uri: str) -> str:
    """§4.4.1 Name: "allocate and use an internal file system path name" (≤ 64 chars)."""
    tail = re.split(r"[/:]", uri.rstrip("/:"))[-1] if uri else ""
    tail = re.sub(r"[^A-Za-z0-9._-]", "_", tail) or "log"
    head = f"/upnp-dm/log/{instance}/"
    return head + tail[: NAME_LIMIT - len(head)]


class UploadError(Exception):
    """One step of an upload failed; `code` is the TransferComplete FaultCode."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class VendorLogs:
    """Vendor logs of one proxied device (see the module docstring for the wiring)."""

    def __init__(
        self,
        device: DmDevice,
        session: aiohttp.ClientSession,
        *,
        on_transfer_complete: Callable[[TransferComplete], None] | None = None,
        timeout: float = 10.0,
        transfer_timeout: float = 120.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        store: KeyValueStore | None = None,
        refresh_interval: float = 1.0,
        now: Callable[[], datetime] = utc_now,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.device = device
        self.session = session
        self.listener = on_transfer_complete
        self.timeout = timeout
        self.transfer_timeout = transfer_timeout
        self.max_bytes = max_bytes
        self.store = store
        self.refresh_interval = refresh_interval
        self.now = now
        self.clock = clock
        #: listing the logs of an attached device waits for it (virtual/firstinforms)
        self.turn: Callable[[], Awaitable[None]] | None = None
        self.entries: dict[int, LogEntry] = {}
        self._instances: dict[str, int] = {}  # LogURI → instance number
        self._next = 1
        if store is not None:
            for key, uri in store.kv_items(KEY_PREFIX + "instance.").items():
                number = key.rsplit(".", 1)[-1]
                if number.isdigit():
                    self._instances[uri] = int(number)
            saved = store.kv_get(KEY_PREFIX + "next")
            self._next = max([int(saved or 1), *(n + 1 for n in self._instances.values())])
        self._refreshed_at: float | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        #: An observation asked for and not started yet (True: after a reboot), see `_soon`.
        self._asked: bool | None = None
        self.persistence = LogPersistence(store, self._content)

    @property
    def supported(self) -> bool:
        bms = self.device.bms
        return bms is not None and supports(bms, "GetLogURIs") and supports(bms, "GetLogInfo")

    # -- the VendorLogFile table (§4.4.1) --

    async def refresh(self, *, force: bool = False) -> None:
        """Re-read GetLogURIs and GetLogInfo of each log (kept as is if the device fails)."""
        bms = self.device.bms
        if bms is None or not self.supported:
            return
        async with self._lock:
            now = self.clock()
            fresh = (
                self._refreshed_at is not None and now - self._refreshed_at < self.refresh_interval
            )
            if fresh and not force:
                return
            try:
                uris = await bounded(bms.get_log_uris(), self.timeout)
                infos: list[tuple[str, LogInfo]] = []
                for uri in dict.fromkeys(u for u in uris if u):
                    infos.append((uri, await bounded(bms.get_log_info(uri), self.timeout)))
            except (UpnpError, TimeoutError) as exc:
                log.info("device %s: cannot read its logs: %s", self.device.udn, exc or "timeout")
                return
            self._refreshed_at = self.clock()
            entries = {}
            for uri, info in infos:
                number = self._instance_for(uri)
                entries[number] = LogEntry(number, uri, internal_name(number, uri), info.max_size)
            for uri in [u for u, n in self._instances.items() if n not in entries]:
                self._forget(uri)
            self.entries = dict(sorted(entries.items()))

    def _instance_for(self, uri: str) -> int:
        number = self._instances.get(uri)
        if number is None:
            number = self._next
            self._next += 1
            self._instances[uri] = number
            if self.store is not None:
                self.store.kv_set(f"{KEY_PREFIX}instance.{number}", uri)
                self.store.kv_set(KEY_PREFIX + "next", str(self._next))
        return number

    def _forget(self, uri: str) -> None:
        number = self._instances.pop(uri)
        if self.store is not None:
            self.store.kv_delete(f"{KEY_PREFIX}instance.{number}")

    def owns(self, name: str) -> bool:
        return name == COUNT or name.startswith(TABLE)

    def covers(self, name: str) -> bool:
        """Whether `name` is one of its names or an object above them (else no device call)."""
        return self.owns(name) or name in ("", "Device.", "Device.DeviceInfo.")

    def _tree(self) -> list[tuple[str, str, str]]:
        """(name, value, type) of objects ("" type) and parameters, in tree order."""
        out = [
            ("Device.", "", ""),
            ("Device.DeviceInfo.", "", ""),
            (COUNT, str(len(self.entries)), "xsd:unsignedInt"),
            (TABLE, "", ""),
        ]
        for number, entry in self.entries.items():
            base = f"{TABLE}{number}."
            out.append((base, "", ""))
            values = {
                "Name": entry.name,
                "MaximumSize": str(entry.max_size),
                "Persistent": self.persistence.persistent(entry.uri),
            }
            for pname, ptype in PARAMETERS:
                out.append((base + pname, values[pname], ptype))
        return out

    async def names(self, path: str, next_level: bool) -> list[ParameterInfoStruct]:
        """Its part of a GetParameterNames answer (all read-only, TR-069 A.3.2.3)."""
        if not self.supported or not self.covers(path):
            return []
        await self.refresh()
        path = path or "Device."
        tree = [name for name, _, _ in self._tree()]
        if not path.endswith("."):
            if path not in tree:
                return []
            if next_level:
                raise cwmp_error(9003, "NextLevel true on a parameter name")
            return [ParameterInfoStruct(path, False)]
        out = []
        for name in tree:
            if name == path:
                if not next_level:
                    out.append(ParameterInfoStruct(name, False))
            elif name.startswith(path):
                rest = name[len(path) :].rstrip(".")
                if not next_level or "." not in rest:
                    out.append(ParameterInfoStruct(name, False))
        return out

    async def parameter_names(self, prefix: str) -> list[str]:
        if not self.supported or not self.covers(prefix):
            return []
        await self.refresh()
        return [
            name
            for name, _, ptype in self._tree()
            if ptype and (name == prefix or (prefix.endswith(".") and name.startswith(prefix)))
        ]

    async def values(self, names: Sequence[str]) -> list[ParameterValueStruct]:
        """Values of the parameters each name covers (nothing for names it does not hold)."""
        names = [n for n in names if self.covers(n)]
        if not self.supported or not names:
            return []
        await self.refresh()
        tree = self._tree()
        out: dict[str, ParameterValueStruct] = {}
        for raw in names:
            prefix = raw or "Device."
            for name, value, ptype in tree:
                if ptype and (name == prefix or (prefix.endswith(".") and name.startswith(prefix))):
                    out.setdefault(name, ParameterValueStruct(name, value, ptype))
        return list(out.values())

    def validate(self, params: Sequence[ParameterValueStruct]) -> list[SetParameterValuesFault]:
        """Every VendorLogFile parameter is read-only (reference §3.4)."""
        known = {name for name, _, ptype in self._tree() if ptype}
        return [
            spv_fault(pv.name, 9008 if pv.name in known else 9005)
            for pv in params
            if self.owns(pv.name)
        ]

    # -- Upload (§4.4.2) --

    async def upload(self, request: Upload) -> UploadResponse:
        """Verify (9011/9013), accept with Status 1, transfer in the background."""
        if not self.supported:
            raise cwmp_error(9011, "the device offers no logs (BMS GetLogURIs/GetLogInfo)")
        match = UPLOAD_ONE.fullmatch(request.file_type)
        if request.file_type != UPLOAD_ANY and match is None:
            raise cwmp_error(
                9011, f"FileType {request.file_type[:64]!r}: only vendor logs exist in UPnP DM"
            )
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https"):
            raise cwmp_error(9013, f"scheme {parts.scheme[:16]!r}")
        if not parts.hostname:
            raise cwmp_error(9011, "URL without a host")
        await self.refresh(force=True)
        if match is not None:
            entry = self.entries.get(int(match.group(1)))
        else:
            entry = next(iter(self.entries.values()), None)
        if entry is None:
            raise cwmp_error(9011, f"no such vendor log ({request.file_type[:64]})")
        self._spawn(self._transfer(request, entry))
        return UploadResponse(1)

    # -- Persistent (§4.4.1) --

    def attached(self) -> None:
        """The device is (back) in use: mark its logs not marked yet (`logpersist`)."""
        self._soon(rebooted=False)

    def device_rebooted(self) -> None:
        """The device rebooted (Table 1 "1 BOOT"): judge what its logs kept."""
        self._soon(rebooted=True)

    def _soon(self, *, rebooted: bool) -> None:
        """One observation for what is asked before it starts: a device attached and
        rebooted at once (its first discovery, "1 BOOT") lists its logs once (issue 13);
        judging after a reboot marks every log again, so it covers the marking."""
        if self._asked is not None:
            self._asked = self._asked or rebooted
            return
        self._asked = rebooted
        self._spawn(self._observe_asked())

    async def _observe_asked(self) -> None:
        if self.turn is not None:
            await self.turn()
        rebooted, self._asked = bool(self._asked), None
        await self._observe(rebooted=rebooted)

    async def _observe(self, *, rebooted: bool) -> None:
        bms = self.device.bms
        if bms is None or not self.supported:
            return
        try:  # not `refresh`: the table the ACS reads keeps its own freshness
            uris = [u for u in await bounded(bms.get_log_uris(), self.timeout) if u]
        except (UpnpError, TimeoutError) as exc:
            log.info("device %s: cannot list its logs: %s", self.device.udn, exc or "timeout")
            return
        if rebooted:
            await self.persistence.rebooted(uris)
        else:
            await self.persistence.mark(uris)

    async def _content(self, uri: str) -> bytes | None:
        try:
            return await self._fetch(uri)
        except UploadError as exc:
            log.info("device %s: log %s not readable: %s", self.device.udn, uri[:120], exc)
            return None

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settled(self) -> None:
        """Wait until every accepted upload has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _transfer(self, request: Upload, entry: LogEntry) -> None:
        start = self.now()
        try:
            data = await self._fetch(entry.uri)
            await self._put(request, data)
        except UploadError as exc:
            log.info("device %s: upload of %s failed: %s", self.device.udn, entry.name, exc)
            text = f"{fault_info(exc.code).fault_string}: {exc}"[:256]
            self._report(
                TransferComplete(
                    request.command_key, FaultStruct(exc.code, text), start, self.now()
                )
            )
            return
        log.info("device %s: uploaded %s (%d bytes)", self.device.udn, entry.name, len(data))
        self._report(TransferComplete(request.command_key, FaultStruct(), start, self.now()))

    async def _fetch(self, uri: str) -> bytes:
        """GetLogInfo for the LogURL, then a bounded GET from the device (failure → 9011)."""
        bms = self.device.bms
        assert bms is not None
        try:
            info = await bounded(bms.get_log_info(uri), self.timeout)
        except (UpnpError, TimeoutError) as exc:
            raise UploadError(9011, f"GetLogInfo: {exc or 'timeout'}") from None
        home = getattr(bms, "control_url", "")  # a device on the network: stay on its host
        if home and urlsplit(info.log_url).hostname != urlsplit(home).hostname:
            raise UploadError(9011, f"LogURL {info.log_url[:120]!r} is on another host: refused")
        try:
            result = await bounded_request(
                self.session,
                "GET",
                info.log_url,
                time_limit=self.transfer_timeout,
                max_bytes=self.max_bytes,
                max_redirects=2,
            )
        except HttpFetchError as exc:
            raise UploadError(9011, f"fetching the log from the device: {exc}") from None
        if result.status != 200:
            raise UploadError(9011, f"the device answered HTTP {result.status} for its log")
        return result.body

    async def _put(self, request: Upload, data: bytes) -> None:
        await put_upload(self.session, request, data, self.transfer_timeout)

    def _report(self, tc: TransferComplete) -> None:
        if self.listener is None:
            log.warning("TransferComplete for %r dropped: no listener", tc.command_key)
            return
        try:
            self.listener(tc)
        except Exception:
            log.exception("transfer listener failed")


async def put_upload(
    session: aiohttp.ClientSession, request: Upload, data: bytes, transfer_timeout: float
) -> None:
    """HTTP PUT to the ACS-given URL with its credentials (never logged)."""
    status, challenge = await _put_once(session, request, data, transfer_timeout, basic=False)
    if status == 401 and request.username and challenge.lower().startswith("basic"):
        status, challenge = await _put_once(session, request, data, transfer_timeout, basic=True)
    if status in (401, 403):
        raise UploadError(9012, f"the file server refused the credentials (HTTP {status})")
    if not 200 <= status < 300:
        raise UploadError(9011, f"the file server answered HTTP {status}")


async def _put_once(
    session: aiohttp.ClientSession,
    request: Upload,
    data: bytes,
    transfer_timeout: float,
    *,
    basic: bool,
) -> tuple[int, str]:
    middlewares: tuple[aiohttp.DigestAuthMiddleware, ...] = ()
    headers = {"Content-Type": "text/plain"}
    if request.username:
        if basic:
            headers["Authorization"] = aiohttp.encode_basic_auth(request.username, request.password)
        else:
            middlewares = (aiohttp.DigestAuthMiddleware(request.username, request.password),)
    try:
        async with asyncio.timeout(transfer_timeout):
            async with session.put(
                request.url,
                data=data,
                middlewares=middlewares,
                headers=headers,
                allow_redirects=False,
            ) as response:
                await response.content.read(64 * 1024)
                return response.status, response.headers.get("WWW-Authenticate", "")
    except TimeoutError:
        raise UploadError(9011, "the file server did not answer in time") from None
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        raise UploadError(9011, f"cannot reach the file server: {type(exc).__name__}") from None
