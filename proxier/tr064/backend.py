"""`Tr064Backend`: a TR-064 device's data model for the CWMP engine (issue 10).

The same `DataModelBackend` protocol the UPnP DM translation implements; the engine stays
untouched. Parameters come from mappings/tr064.toml expanded over what the device's SCPDs
offer. Reads call each Get action once per RPC. One SetParameterValues is one TR-064
transaction (guide §9: X_GenerateUUID, ConfigurationStarted, the Set actions,
ConfigurationFinished); if a Set action fails, the ones already applied are written back
with their old values, and the fault says whether that worked or what stays applied.
Reboot/FactoryReset call DeviceConfig and report the device's return (`on_return`) so the
engine raises "1 BOOT" (and BOOTSTRAP after a reset, TR-330 Table 1). Download of a firmware
image uses UserInterface:X_AVM-DE_DoManualUpdate (or X_AVM-DE_DoUpdate) and completes when
SoftwareVersion changes; Upload of "4 Vendor Log File 1" PUTs DeviceInfo:GetDeviceLog.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from proxier.cwmp.backend import TransferListener, ValueChangeListener
from proxier.cwmp.faults import fault_info, spv_fault
from proxier.cwmp.memory import KeyValueStore
from proxier.cwmp.rpc import (
    CwmpFaultError,
    Download,
    DownloadResponse,
    FaultStruct,
    ParameterAttributeStruct,
    ParameterInfoStruct,
    ParameterValueStruct,
    SetParameterAttributesStruct,
    TransferComplete,
    Upload,
    UploadResponse,
)
from proxier.cwmp.xsdtypes import INTEGER_RANGES, canonical_value, check_value, parse_integer
from proxier.logsafe import get_logger
from proxier.tr064.client import Tr064Client
from proxier.tr064.description import in_arguments
from proxier.tr064.errors import fault_for
from proxier.tr064.mapping import Concrete, ObjectRow, ParamRow, Tr064Mapping, default_mapping
from proxier.translate.logs import UploadError, put_upload
from proxier.upnp.device import UpnpError

log = get_logger(__name__)

FIRMWARE = "1 Firmware Upgrade Image"
LOG_FILES = ("4 Vendor Log File 1", "2 Vendor Log File")
HOSTS_KEY = "tr064.instances."
_BOOL = {"1": "true", "0": "false", "true": "true", "false": "false"}

#: Called when the device is back after Reboot (reset=False) or FactoryReset (reset=True).
ReturnListener = Callable[[bool], None]


def _err(code: int, detail: str = "") -> CwmpFaultError:
    text = fault_info(code).fault_string
    return CwmpFaultError(code, f"{text}: {detail}" if detail else text)


def to_cwmp(kind: str, value: str) -> str:
    """A TR-064 value as the xsd type says (FRITZ! booleans are 0/1; "Auto" is no int)."""
    if kind == "xsd:boolean":
        return _BOOL.get(value.strip().lower(), "false")
    if kind in INTEGER_RANGES:  # what the device says must still be a value of the type
        if check_value(kind, value):
            return "-1" if kind == "xsd:int" else "0"
        return canonical_value(kind, value)
    if kind == "xsd:dateTime":
        return value or "0001-01-01T00:00:00Z"
    return value


def _uint(text: str) -> int | None:
    """An unsignedInt the device reported (UpTime, a count), or None when it is not one."""
    return None if check_value("xsd:unsignedInt", text) else parse_integer(text)


def to_tr064(kind: str, value: str) -> str | None:
    """A CWMP value for a Set action, or None when it is not of the parameter's type (the one
    validator, `proxier.cwmp.xsdtypes.check_value`: issue 12 item 1)."""
    if check_value(kind, value):
        return None
    if kind == "xsd:boolean":
        return "1" if canonical_value(kind, value) == "true" else "0"
    if kind in INTEGER_RANGES:
        return canonical_value(kind, value)
    return value


class _Reads:
    """Get actions' results within one RPC: each action is called once."""

    def __init__(self, client: Tr064Client) -> None:
        self.client = client
        self.done: dict[tuple[str, str], dict[str, str]] = {}

    async def get(self, service: str, action: str) -> dict[str, str]:
        key = (service, action)
        if key not in self.done:
            try:
                self.done[key] = await self.client.call(service, action)
            except UpnpError as exc:
                raise fault_for(exc, f"{service.split(':')[0]}:{action}") from None
        return self.done[key]


class Tr064Backend:
    def __init__(
        self,
        client: Tr064Client,
        session: aiohttp.ClientSession,
        *,
        mapping: Tr064Mapping | None = None,
        store: KeyValueStore | None = None,
        on_return: ReturnListener | None = None,
        poll_interval: float = 1.0,
        return_timeout: float = 300.0,
        transfer_timeout: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.session = session
        self.mapping = mapping or default_mapping()
        self.store = store
        self.on_return = on_return
        self.poll_interval = poll_interval
        self.return_timeout = return_timeout
        self.transfer_timeout = transfer_timeout
        self.clock = clock
        self._on_transfer: TransferListener | None = None
        self._instances: dict[str, dict[str, int]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # --- the tree ------------------------------------------------------------------------

    def _instances_of(self, service: str) -> list[int]:
        description = self.client.description
        if description is None:
            return []
        return sorted(s.instance for s in description.services if s.name == service)

    def _table_map(self, table: str) -> dict[str, int]:
        if table not in self._instances:
            raw = self.store.kv_get(HOSTS_KEY + table) if self.store is not None else None
            try:
                loaded = json.loads(raw) if raw else {}
            except ValueError:
                loaded = {}
            self._instances[table] = {str(k): int(v) for k, v in loaded.items()}
        return self._instances[table]

    async def _table(self, obj: ObjectRow, reads: _Reads) -> dict[int, dict[str, str]]:
        """A TR-064 list by CWMP instance number; numbers stay with their key (MAC)."""
        assert obj.count is not None and obj.entry is not None
        service = f"{obj.count[0]}:1"
        if not self.client.offers(service, obj.entry[1]):
            return {}
        count_text = (await reads.get(service, obj.count[1])).get(obj.count_out, "0")
        count = _uint(count_text) or 0
        numbers = self._table_map(obj.table)
        rows: dict[int, dict[str, str]] = {}
        changed = False
        index_arg = next(iter(in_arguments(self.client.scpds[service], obj.entry[1])), "")
        for index in range(min(count, 1024)):
            try:
                entry = await self.client.call(service, obj.entry[1], {index_arg: str(index)})
            except UpnpError as exc:
                if exc.code in (713, 714):
                    break  # the list shrank while we read it
                raise fault_for(exc, f"{obj.entry[0]}:{obj.entry[1]}") from None
            key = entry.get(obj.key, "").upper() or f"#{index}"
            if key not in numbers:
                numbers["_next"] = numbers.get("_next", 0) + 1
                numbers[key] = numbers["_next"]
                changed = True
            rows[numbers[key]] = entry
        if changed and self.store is not None:
            self.store.kv_set(HOSTS_KEY + obj.table, json.dumps(numbers))
        return rows

    async def _tree(
        self, reads: _Reads, *, tables: bool = True
    ) -> tuple[dict[str, Concrete], dict[str, dict[int, dict[str, str]]]]:
        read_tables: dict[str, dict[int, dict[str, str]]] = {}
        if tables:
            for obj in self.mapping.objects:
                if obj.table:
                    read_tables[obj.table] = await self._table(obj, reads)
        instances = {obj.service: self._instances_of(obj.service) for obj in self.mapping.objects}
        params = self.mapping.expand(
            instances, self.client.offers, {k: sorted(v) for k, v in read_tables.items()}
        )
        return params, read_tables

    def _counts(
        self, params: dict[str, Concrete], tables: dict[str, dict[int, dict[str, str]]]
    ) -> dict[str, str]:
        """The NumberOfEntries parameters of the mapped objects."""
        out: dict[str, str] = {}
        for obj in self.mapping.objects:
            if not obj.number_of_entries:
                continue
            if obj.table:
                counted = obj.count is not None and self.client.offers(
                    f"{obj.count[0]}:1", obj.count[1]
                )
                if obj.table in tables and counted:
                    out[obj.number_of_entries] = str(len(tables[obj.table]))
                continue
            prefix = obj.path[: -len("{i}")]
            numbers = {
                n.removeprefix(prefix).split(".", 1)[0] for n in params if n.startswith(prefix)
            }
            if numbers:
                out[obj.number_of_entries] = str(len(numbers))
        return out

    async def _value(
        self, c: Concrete, reads: _Reads, tables: dict[str, dict[int, dict[str, str]]]
    ) -> str:
        row = c.row
        if row.hidden:
            return ""
        if row.const is not None:
            return row.const
        obj = self.mapping.object_of(row)
        if obj is not None and obj.table:
            return to_cwmp(row.type, tables.get(obj.table, {}).get(c.instance, {}).get(row.out, ""))
        assert row.get is not None
        values = await reads.get(c.service, row.get[1])
        return to_cwmp(row.type, values.get(row.out, ""))

    # --- GPN / GPV -----------------------------------------------------------------------

    async def get_parameter_names(
        self, parameter_path: str, next_level: bool
    ) -> list[ParameterInfoStruct]:
        reads = _Reads(self.client)
        params, tables = await self._tree(reads)
        leaves = {n: c.row.writable for n, c in params.items()}
        leaves.update({n: False for n in self._counts(params, tables)})
        return names_below(leaves, parameter_path, next_level)

    async def get_parameter_values(
        self, parameter_names: Sequence[str]
    ) -> list[ParameterValueStruct]:
        reads = _Reads(self.client)
        params, tables = await self._tree(reads)
        counts = self._counts(params, tables)
        out: list[ParameterValueStruct] = []
        for wanted in parameter_names:
            if wanted == "" or wanted.endswith("."):
                names = sorted(n for n in [*params, *counts] if n.startswith(wanted))
                if not names and wanted not in ("", "Device."):
                    raise _err(9005, wanted[:200])
            elif wanted in params or wanted in counts:
                names = [wanted]
            else:
                raise _err(9005, wanted[:200])
            for name in names:
                if name in counts:
                    out.append(ParameterValueStruct(name, counts[name], "xsd:unsignedInt"))
                    continue
                c = params[name]
                out.append(
                    ParameterValueStruct(name, await self._value(c, reads, tables), c.row.type)
                )
        return out

    # --- SPV (one transaction) -------------------------------------------------------------

    async def set_parameter_values(
        self, parameter_list: Sequence[ParameterValueStruct], parameter_key: str
    ) -> int:
        reads = _Reads(self.client)
        params, _ = await self._tree(reads, tables=False)
        faults = []
        groups: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
        for item in parameter_list:
            c = params.get(item.name)
            if c is None:
                faults.append(spv_fault(item.name, 9005))
                continue
            if c.row.set is None:
                faults.append(spv_fault(item.name, 9008))
                continue
            value = to_tr064(c.row.type, item.value)
            if value is None:
                faults.append(spv_fault(item.name, 9007, f"not a valid {c.row.type}"))
                continue
            service = f"{c.row.set[0]}:{c.service.split(':')[1]}"
            if not self.client.offers(service, c.row.set[1]):
                faults.append(spv_fault(item.name, 9008, "the device offers no action to set it"))
                continue
            groups.setdefault((service, c.row.set[1]), {})[c.row.inp] = (item.name, value)
        if faults:
            raise CwmpFaultError(9003, fault_info(9003).fault_string, tuple(faults))
        calls = [
            (service, action, await self._inputs(service, action, given, params, reads), given)
            for (service, action), given in groups.items()
        ]
        await self._transaction(calls)
        return 0

    async def _inputs(
        self,
        service: str,
        action: str,
        given: dict[str, tuple[str, str]],
        params: dict[str, Concrete],
        reads: _Reads,
    ) -> dict[str, str]:
        """All inputs of the Set action: the ACS's values, the device's current ones else
        (read through the Get actions of the rows on that service)."""
        current = await self._current(service, params, reads)
        names = in_arguments(self.client.scpds[service], action)
        return {n: given[n][1] if n in given else current.get(n, "") for n in names}

    async def _current(
        self, service: str, params: dict[str, Concrete], reads: _Reads
    ) -> dict[str, str]:
        current: dict[str, str] = {}
        gets = {c.row.get[1] for c in params.values() if c.service == service and c.row.get}
        for action in sorted(gets):
            if self.client.offers(service, action):
                current.update(await reads.get(service, action))
        return current

    async def _transaction(
        self, calls: list[tuple[str, str, dict[str, str], dict[str, tuple[str, str]]]]
    ) -> None:
        transactional = self.client.offers("DeviceConfig:1", "ConfigurationStarted")
        if transactional:
            try:
                uuid_out = await self.client.call("DeviceConfig:1", "X_GenerateUUID")
                session = uuid_out.get("NewUUID", "")
                await self.client.call(
                    "DeviceConfig:1", "ConfigurationStarted", {"NewSessionID": session}
                )
            except UpnpError as exc:
                raise fault_for(exc, "DeviceConfig:ConfigurationStarted") from None
        applied: list[tuple[str, str, dict[str, tuple[str, str]]]] = []
        old: dict[tuple[str, str], dict[str, str]] = {}
        failure: CwmpFaultError | None = None
        try:
            for service, action, inputs, given in calls:
                old[(service, action)] = await self._before(service, action, given)
                try:
                    await self.client.call(service, action, inputs)
                except UpnpError as exc:
                    failure = self._set_fault(exc, service, action, given)
                    break
                applied.append((service, action, given))
            if failure is not None:
                kept = await self._roll_back(applied, old)
                if kept:
                    detail = f"{failure.fault.fault_string}; still applied: {', '.join(kept)}"
                elif applied:
                    detail = f"{failure.fault.fault_string}; the rest was rolled back"
                else:
                    detail = f"{failure.fault.fault_string}; nothing was changed"
                raise CwmpFaultError(
                    failure.fault.fault_code,
                    detail[:255],
                    failure.fault.set_parameter_values_fault,
                )
        finally:
            if transactional:
                try:
                    await self.client.call("DeviceConfig:1", "ConfigurationFinished")
                except UpnpError as exc:
                    log.info("ConfigurationFinished failed: %s", exc)

    async def _before(
        self, service: str, action: str, given: dict[str, tuple[str, str]]
    ) -> dict[str, str]:
        """The inputs that would write back today's values (for a roll-back)."""
        reads = _Reads(self.client)
        params, _ = await self._tree(reads, tables=False)
        current = await self._current(service, params, reads)
        names = in_arguments(self.client.scpds[service], action)
        return {n: current.get(n, "") for n in names}

    def _set_fault(
        self, exc: UpnpError, service: str, action: str, given: dict[str, tuple[str, str]]
    ) -> CwmpFaultError:
        mapped = fault_for(exc, f"{service.split(':')[0]}:{action}")
        if mapped.fault.fault_code in (9007, 9003):
            entries = tuple(
                spv_fault(name, 9007, f"the device refused it ({exc.code})")
                for name, _ in given.values()
            )
            return CwmpFaultError(9003, mapped.fault.fault_string, entries)
        return mapped

    async def _roll_back(
        self,
        applied: list[tuple[str, str, dict[str, tuple[str, str]]]],
        old: dict[tuple[str, str], dict[str, str]],
    ) -> list[str]:
        """Write back the old values of what was applied; return the names that stay."""
        kept: list[str] = []
        for service, action, given in reversed(applied):
            try:
                await self.client.call(service, action, old[(service, action)])
            except UpnpError as exc:
                log.warning("roll-back of %s:%s failed: %s", service, action, exc)
                kept.extend(name for name, _ in given.values())
        return kept

    # --- attributes, objects -----------------------------------------------------------------

    async def get_parameter_attributes(
        self, parameter_names: Sequence[str]
    ) -> list[ParameterAttributeStruct]:
        reads = _Reads(self.client)
        params, tables = await self._tree(reads)
        names = [*params, *self._counts(params, tables)]
        out: list[ParameterAttributeStruct] = []
        for wanted in parameter_names:
            hits = [
                n
                for n in names
                if n == wanted or (wanted.endswith(".") and n.startswith(wanted)) or wanted == ""
            ]
            if not hits:
                raise _err(9005, wanted[:200])
            out.extend(ParameterAttributeStruct(n, 0) for n in sorted(hits))
        return out

    async def set_parameter_attributes(
        self, parameter_list: Sequence[SetParameterAttributesStruct]
    ) -> None:
        for item in parameter_list:
            if item.notification_change and item.notification != 0:
                # FRITZ! devices send no events (guide §2.1.1): nothing would notify
                raise _err(9009, f"{item.name[:200]}: a TR-064 device reports no changes")

    async def add_object(self, object_name: str, parameter_key: str) -> tuple[int, int]:
        raise _err(9005, f"{object_name[:200]} cannot be added on a TR-064 device")

    async def delete_object(self, object_name: str, parameter_key: str) -> int:
        raise _err(9005, f"{object_name[:200]} cannot be deleted on a TR-064 device")

    # --- Reboot / FactoryReset -------------------------------------------------------------

    def ensure_can_reboot(self, reset: bool) -> None:
        """Refused inside the asking session when the device's SCPD lacks the action."""
        action = "FactoryReset" if reset else "Reboot"
        if not self.client.offers("DeviceConfig:1", action):
            raise _err(9000, f"this TR-064 device offers no DeviceConfig:{action}")

    async def reboot(self, command_key: str) -> None:
        await self._restart("Reboot", reset=False)

    async def factory_reset(self) -> None:
        await self._restart("FactoryReset", reset=True)

    async def _restart(self, action: str, *, reset: bool) -> None:
        before = await self._uptime()
        try:
            await self.client.call("DeviceConfig:1", action)
        except UpnpError as exc:
            raise fault_for(exc, f"DeviceConfig:{action}") from None
        self._spawn(self._watch_return(before, reset))

    async def _uptime(self) -> int | None:
        try:
            info = await self.client.call("DeviceInfo:1", "GetInfo")
        except UpnpError:
            return None
        text = info.get("NewUpTime", "")
        return _uint(text)

    async def _watch_return(self, before: int | None, reset: bool) -> None:
        """Poll until the device answers again with a smaller UpTime (it restarted)."""
        deadline = self.clock() + self.return_timeout
        while self.clock() < deadline:
            await asyncio.sleep(self.poll_interval)
            now_up = await self._uptime()
            if now_up is not None and (before is None or now_up < before or now_up < 5):
                if self.on_return is not None:
                    self.on_return(reset)
                return
        log.warning("device did not come back within %.0f s", self.return_timeout)

    # --- Download / Upload -----------------------------------------------------------------

    async def download(self, request: Download) -> DownloadResponse:
        if request.file_type != FIRMWARE:
            raise _err(9003, f"FileType {request.file_type[:64]!r}: only firmware images")
        if urlsplit(request.url).scheme not in ("http", "https"):
            raise _err(9013, "only http(s) URLs")
        before = await self._software_version()
        try:
            if self.client.offers("UserInterface:1", "X_AVM-DE_DoManualUpdate"):
                await self.client.call(
                    "UserInterface:1",
                    "X_AVM-DE_DoManualUpdate",
                    {"NewX_AVM-DE_DownloadURL": request.url, "NewX_AVM-DE_AllowDowngrade": "0"},
                )
            elif self.client.offers("UserInterface:1", "X_AVM-DE_DoUpdate"):
                await self.client.call("UserInterface:1", "X_AVM-DE_DoUpdate")
            else:
                raise _err(9010, "the device offers no firmware update action")
        except UpnpError as exc:
            raise fault_for(exc, "UserInterface:update") from None
        self._spawn(self._watch_firmware(request.command_key, before, datetime.now(UTC)))
        return DownloadResponse(1)

    async def _software_version(self) -> str:
        try:
            return (await self.client.call("DeviceInfo:1", "GetInfo")).get("NewSoftwareVersion", "")
        except UpnpError:
            return ""

    async def _watch_firmware(self, key: str, before: str, start: datetime) -> None:
        """TransferComplete once SoftwareVersion changed (or the update failed / timed out)."""
        deadline = self.clock() + self.transfer_timeout
        fault = FaultStruct(9010, f"{fault_info(9010).fault_string}: the version did not change")
        while self.clock() < deadline:
            await asyncio.sleep(self.poll_interval)
            version = await self._software_version()
            if version and version != before:
                fault = FaultStruct()
                break
            state = await self._update_state()
            if state == "Failed":
                fault = FaultStruct(9010, f"{fault_info(9010).fault_string}: the update failed")
                break
        self._report(TransferComplete(key, fault, start, datetime.now(UTC)))

    async def _update_state(self) -> str:
        if not self.client.offers("UserInterface:1", "GetInfo"):
            return ""
        try:
            return (await self.client.call("UserInterface:1", "GetInfo")).get(
                "NewX_AVM-DE_UpdateState", ""
            )
        except UpnpError:
            return ""

    async def upload(self, request: Upload) -> UploadResponse:
        if request.file_type not in LOG_FILES:
            raise _err(9011, f"FileType {request.file_type[:64]!r}: only Vendor Log File 1")
        if urlsplit(request.url).scheme not in ("http", "https"):
            raise _err(9013, "only http(s) URLs")
        if not self.client.offers("DeviceInfo:1", "GetDeviceLog"):
            raise _err(9011, "the device offers no DeviceInfo:GetDeviceLog")
        self._spawn(self._upload(request, datetime.now(UTC)))
        return UploadResponse(1)

    async def _upload(self, request: Upload, start: datetime) -> None:
        fault = FaultStruct()
        try:
            try:
                text = (await self.client.call("DeviceInfo:1", "GetDeviceLog"))["NewDeviceLog"]
            except (UpnpError, KeyError) as exc:
                raise UploadError(9011, f"GetDeviceLog: {exc}") from None
            await put_upload(self.session, request, text.encode(), 120.0)
        except UploadError as exc:
            fault = FaultStruct(exc.code, f"{fault_info(exc.code).fault_string}: {exc}"[:256])
        self._report(TransferComplete(request.command_key, fault, start, datetime.now(UTC)))

    # --- plumbing ---------------------------------------------------------------------------

    def set_listeners(
        self, on_value_change: ValueChangeListener, on_transfer_complete: TransferListener
    ) -> None:
        self._on_transfer = on_transfer_complete

    def _report(self, tc: TransferComplete) -> None:
        if self._on_transfer is None:
            log.warning("TransferComplete for %r dropped: no listener", tc.command_key)
            return
        self._on_transfer(tc)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settled(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def names_below(leaves: dict[str, bool], path: str, next_level: bool) -> list[ParameterInfoStruct]:
    """GetParameterNames over a flat set of parameters (TR-069 A.3.2.3): objects are every
    prefix ending in "."; `path` is "" (everything), an object or a parameter."""
    objects: set[str] = set()
    for name in leaves:
        parts = name.split(".")
        for n in range(1, len(parts)):
            objects.add(".".join(parts[:n]) + ".")
    if path and not path.endswith("."):
        if path not in leaves:
            raise _err(9005, path[:200])
        if next_level:
            raise _err(9003, "NextLevel true on a parameter")
        return [ParameterInfoStruct(path, leaves[path])]
    if path and path not in objects:
        raise _err(9005, path[:200])
    everything = sorted([*objects, *leaves], key=_order)
    if next_level:
        if path == "":
            return [ParameterInfoStruct("Device.", False)]
        depth = path.count(".")
        picked = [
            n
            for n in everything
            if n.startswith(path)
            and n != path
            and (n.count(".") == depth + (1 if n.endswith(".") else 0))
        ]
    else:
        picked = [n for n in everything if n.startswith(path)]
    return [ParameterInfoStruct(n, leaves.get(n, False)) for n in picked]


def _order(name: str) -> list[tuple[int, int | str]]:
    return [(0, int(p)) if p.isdigit() else (1, p) for p in name.rstrip(".").split(".")]


__all__ = ["ParamRow", "Tr064Backend", "names_below", "to_cwmp", "to_tr064"]
