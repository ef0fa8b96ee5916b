"""`MemoryBackend`: a small in-memory Device:2 data model behind the DataModelBackend API.

It answers every CPE RPC with the precise Annex A semantics (9005 unknown names, 9003 bad
arguments, 9006 wrong type, 9007 bad value, 9008 read-only, SetParameterValuesFault per
parameter, all-or-nothing SetParameterValues, instance numbers never reused), so it serves
the demo, the engine tests and as the base of the proxier's own data model. External
changes (`set_external`) reach the engine as value changes; ACS changes never do.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol

from proxier.cwmp import autonomous
from proxier.cwmp.backend import (
    AutonomousTransferListener,
    TransferListener,
    ValueChange,
    ValueChangeListener,
)
from proxier.cwmp.faults import fault, spv_fault
from proxier.cwmp.rpc import (
    AutonomousTransferComplete,
    CwmpFaultError,
    DeviceIdStruct,
    Download,
    DownloadResponse,
    FaultStruct,
    ParameterAttributeStruct,
    ParameterInfoStruct,
    ParameterValueStruct,
    SetParameterAttributesStruct,
    SetParameterValuesFault,
    TransferComplete,
    Upload,
    UploadResponse,
)
from proxier.cwmp.transferurl import split_transfer_url
from proxier.cwmp.xsdtypes import canonical_value, check_value
from proxier.logsafe import get_logger

log = get_logger(__name__)

#: Parameters TR-181 marks for Forced Active Notification (reference §4.6).
FORCED_ACTIVE = frozenset(
    {"Device.DeviceInfo.SoftwareVersion", "Device.DeviceInfo.ProvisioningCode"}
)


def _fault(code: int, detail: str = "") -> CwmpFaultError:
    f = fault(code, detail)
    return CwmpFaultError(f.fault_code, f.fault_string)


class KeyValueStore(Protocol):
    """Where the tree persists itself (`DeviceStore`'s generic key/value table fits)."""

    def kv_get(self, key: str) -> str | None: ...

    def kv_set(self, key: str, value: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """Definition of one parameter: default value, xsd type, access and value limits."""

    value: str = ""
    type: str = "xsd:string"
    writable: bool = False
    hidden: bool = False  # reads back empty (passwords, TR-181 "hidden")
    minimum: int | None = None
    maximum: int | None = None
    notification: int = 0
    access_list: tuple[str, ...] = ()
    #: The only values a string parameter may take (TR-181 enumeration), if not empty.
    enumeration: tuple[str, ...] = ()


@lru_cache(maxsize=1024)
def _shared_spec(spec: ParamSpec) -> ParamSpec:
    """One instance per distinct definition: the ManagementServer trees of all virtual
    devices hold the same ones (issue 13, memory); bounded, so values unique to a device
    (its own Connection Request password) only pass through."""
    return spec


@dataclass(slots=True)
class _Table:
    template: dict[str, ParamSpec]
    writable: bool
    max_instances: int
    next_instance: int = 1


def _value_problem(spec: ParamSpec, value: str) -> str:
    """Why `value` is not a value of the parameter's type and range ("" when it is): the
    one validator of `proxier.cwmp.xsdtypes`; for a string `maximum` is its length."""
    if spec.type == "xsd:string":
        return check_value(spec.type, value, max_length=spec.maximum, enumeration=spec.enumeration)
    return check_value(spec.type, value, minimum=spec.minimum, maximum=spec.maximum)


def _sort_key(name: str) -> list[tuple[int, int | str]]:
    return [(0, int(p)) if p.isdigit() else (1, p) for p in name.split(".")]


class MemoryBackend:
    """A Device:2 tree held in dicts; implements `proxier.cwmp.backend.DataModelBackend`."""

    def __init__(self, persist: KeyValueStore | None = None, persist_key: str = "memory.tree"):
        self._params: dict[str, ParamSpec] = {}
        self._objects: set[str] = {"Device."}
        self._tables: dict[str, _Table] = {}
        self._bound: dict[str, Callable[[], str]] = {}
        self._defaults: tuple[dict[str, ParamSpec], set[str], dict[str, _Table]] | None = None
        self._on_value_change: ValueChangeListener | None = None
        self._on_transfer_complete: TransferListener | None = None
        self._boot_listener: Callable[[], None] | None = None
        self._autonomous_listener: AutonomousTransferListener | None = None
        self._persist = persist
        self._persist_key = persist_key
        self._tasks: set[asyncio.Task[None]] = set()
        #: Transfers the backend was asked to perform (for tests and the demo log).
        self.transfers: list[Download | Upload] = []
        #: Fault the next simulated transfer completes with (0 = success).
        self.transfer_fault = FaultStruct()
        self.reboots = 0
        self.factory_resets = 0

    # --- building the tree -------------------------------------------------------------------

    def add_parameter(self, name: str, spec: ParamSpec) -> None:
        if name.endswith("."):
            raise ValueError(f"{name}: a parameter name does not end with a dot")
        name = sys.intern(name)  # every device's tree names the same parameters
        self._params[name] = _shared_spec(spec)
        self._add_parents(name)

    def add_table(
        self,
        path: str,
        template: dict[str, ParamSpec],
        *,
        writable: bool = True,
        max_instances: int = 32,
        count_parameter: str | None = None,
    ) -> None:
        """A multi-instance object `path` ("Device.Hosts.Host.") with per-instance params."""
        if not path.endswith("."):
            raise ValueError(f"{path}: an object path ends with a dot")
        self._tables[path] = _Table(dict(template), writable, max_instances)
        self._objects.add(path)
        self._add_parents(path.rstrip("."))
        if count_parameter:
            self.add_parameter(count_parameter, ParamSpec(type="xsd:unsignedInt"))
            self.bind_value(count_parameter, lambda: str(len(self._instances(path))))

    def bind_value(self, name: str, getter: Callable[[], str]) -> None:
        """Make a read-only parameter's value come from elsewhere (ParameterKey …)."""
        if name not in self._params:
            self.add_parameter(name, ParamSpec())
        self._bound[name] = getter

    def freeze_defaults(self) -> None:
        """Remember the current tree as the factory defaults, then load persisted state."""
        self._defaults = (
            dict(self._params),
            set(self._objects),
            {k: replace(v, template=dict(v.template)) for k, v in self._tables.items()},
        )
        self._load()

    def set_boot_listener(self, listener: Callable[[], None]) -> None:
        """Called when the simulated device is back up after Reboot or FactoryReset."""
        self._boot_listener = listener

    def set_autonomous_listener(self, listener: AutonomousTransferListener) -> None:
        """Called with transfers the ACS did not ask for (`autonomous_transfer_external`)."""
        self._autonomous_listener = listener

    def _add_parents(self, name: str) -> None:
        parts = name.split(".")
        for i in range(1, len(parts)):
            self._objects.add(sys.intern(".".join(parts[:i]) + "."))

    def _instances(self, table: str) -> list[str]:
        return [
            o
            for o in self._objects
            if o.startswith(table) and re.fullmatch(r"[0-9]+\.", o[len(table) :])
        ]

    def _table_of_instance(self, path: str) -> str | None:
        m = re.fullmatch(r"(.*\.)([0-9]+)\.", path)
        if m and m.group(1) in self._tables and path in self._objects:
            return m.group(1)
        return None

    # --- external side (the device itself, the lab, tests) -----------------------------------

    def value(self, name: str) -> str:
        if name in self._bound:
            return self._bound[name]()
        return self._params[name].value

    def set_external(self, name: str, value: str) -> None:
        """A change made by something other than the ACS: reported as a value change."""
        spec = self._params[name]
        self._params[name] = replace(spec, value=value)
        self._save()
        if self._on_value_change is not None:
            self._on_value_change([ValueChange(name, value, spec.type)])

    def autonomous_transfer_external(self, atc: AutonomousTransferComplete) -> None:
        """A transfer the ACS did not ask for finished (another control point, the device
        itself): reported to the engine, which applies the ACS's policy (A.3.3.3)."""
        if self._autonomous_listener is not None:
            self._autonomous_listener(atc)

    def add_instance_external(self, table: str, values: dict[str, str]) -> int:
        number = self._create_instance(table)
        for leaf, value in values.items():
            name = f"{table}{number}.{leaf}"
            self._params[name] = replace(self._params[name], value=value)
        self._save()
        return number

    # --- DataModelBackend --------------------------------------------------------------------

    def set_listeners(
        self, on_value_change: ValueChangeListener, on_transfer_complete: TransferListener
    ) -> None:
        self._on_value_change = on_value_change
        self._on_transfer_complete = on_transfer_complete

    async def get_parameter_names(
        self, parameter_path: str, next_level: bool
    ) -> list[ParameterInfoStruct]:
        path = parameter_path
        if path == "":
            if next_level:
                return [ParameterInfoStruct("Device.", False)]
            path = "Device."
        if not path.endswith("."):
            if path not in self._params:
                raise _fault(9005, path)
            if next_level:
                raise _fault(9003, "NextLevel true with a parameter name")
            return [ParameterInfoStruct(path, self._params[path].writable)]
        if path not in self._objects:
            raise _fault(9005, path)
        names = [n for n in (*self._objects, *self._params) if n.startswith(path)]
        if next_level:
            names = [n for n in names if n != path and "." not in n[len(path) :].rstrip(".")]
        names.sort(key=_sort_key)
        return [ParameterInfoStruct(n, self._writable(n)) for n in names]

    def _writable(self, name: str) -> bool:
        if name in self._params:
            return self._params[name].writable
        if name in self._tables:
            return self._tables[name].writable
        table = self._table_of_instance(name)
        return table is not None and self._tables[table].writable

    def _expand(self, names: Iterable[str]) -> list[str]:
        """Full parameter names for GPV/GPA arguments (partial paths → their subtree)."""
        out: list[str] = []
        for name in names:
            if name == "" or name.endswith("."):
                prefix = name or "Device."
                if prefix not in self._objects:
                    raise _fault(9005, name)
                out.extend(sorted((n for n in self._params if n.startswith(prefix)), key=_sort_key))
            elif name in self._params:
                out.append(name)
            else:
                raise _fault(9005, name)
        return out

    async def get_parameter_values(
        self, parameter_names: Sequence[str]
    ) -> list[ParameterValueStruct]:
        result = []
        for name in self._expand(parameter_names):
            spec = self._params[name]
            value = "" if spec.hidden else self.value(name)
            result.append(ParameterValueStruct(name, value, spec.type))
        return result

    async def set_parameter_values(
        self, parameter_list: Sequence[ParameterValueStruct], parameter_key: str
    ) -> int:
        faults: list[SetParameterValuesFault] = []
        seen: set[str] = set()
        updates: dict[str, ParamSpec] = {}
        for pv in parameter_list:
            spec = self._params.get(pv.name)
            code, problem = 0, ""
            if pv.name in seen:
                raise _fault(9003, f"{pv.name} given twice")
            seen.add(pv.name)
            if spec is None:
                code = 9005
            elif not spec.writable or pv.name in self._bound:
                code = 9008
            elif pv.type not in (spec.type, "xsd:string", ""):
                code = 9006
            elif problem := _value_problem(spec, pv.value):
                code = 9007
            if code:
                faults.append(spv_fault(pv.name, code, problem))
            else:
                assert spec is not None
                updates[pv.name] = replace(spec, value=canonical_value(spec.type, pv.value))
        if faults:
            raise CwmpFaultError(9003, fault(9003).fault_string, tuple(faults))
        self._params.update(updates)  # all or nothing: nothing changed before this line
        self._save()
        return 0

    async def get_parameter_attributes(
        self, parameter_names: Sequence[str]
    ) -> list[ParameterAttributeStruct]:
        return [
            ParameterAttributeStruct(n, self._params[n].notification, self._params[n].access_list)
            for n in self._expand(parameter_names)
        ]

    async def set_parameter_attributes(
        self, parameter_list: Sequence[SetParameterAttributesStruct]
    ) -> None:
        staged = dict(self._params)
        for s in parameter_list:
            names = self._expand([s.name])
            if s.notification_change and not 0 <= s.notification <= 2:
                raise _fault(9003, f"Notification {s.notification}")
            for n in names:
                spec = staged[n]
                if s.notification_change and n not in FORCED_ACTIVE:
                    spec = replace(spec, notification=s.notification)
                if s.access_list_change:
                    spec = replace(spec, access_list=tuple(s.access_list))
                staged[n] = spec
        self._params = staged
        self._save()

    async def add_object(self, object_name: str, parameter_key: str) -> tuple[int, int]:
        if object_name not in self._tables:
            raise _fault(9005, object_name)
        if not self._tables[object_name].writable:
            raise CwmpFaultError(9001, f"Request denied: {object_name} is read-only")
        number = self._create_instance(object_name)
        self._save()
        return number, 0

    def _create_instance(self, table: str) -> int:
        t = self._tables[table]
        if len(self._instances(table)) >= t.max_instances:
            raise _fault(9004, f"{table} holds at most {t.max_instances} instances")
        number = t.next_instance
        t.next_instance += 1  # never reuse a deleted instance number (Table 27)
        self._objects.add(f"{table}{number}.")
        for leaf, spec in t.template.items():
            self.add_parameter(f"{table}{number}.{leaf}", spec)
        return number

    async def delete_object(self, object_name: str, parameter_key: str) -> int:
        table = self._table_of_instance(object_name)
        if table is None:
            raise _fault(9005, object_name)
        if not self._tables[table].writable:
            raise CwmpFaultError(9001, f"Request denied: {object_name} is read-only")
        self._params = {n: s for n, s in self._params.items() if not n.startswith(object_name)}
        self._objects = {o for o in self._objects if not o.startswith(object_name)}
        self._save()
        return 0

    def ensure_can_reboot(self, reset: bool) -> None:
        """The in-memory device always can."""

    async def reboot(self, command_key: str) -> None:
        self.reboots += 1
        if self._boot_listener is not None:
            self._boot_listener()

    async def factory_reset(self) -> None:
        self.factory_resets += 1
        if self._defaults is not None:
            params, objects, tables = self._defaults
            self._params = dict(params)
            self._objects = set(objects)
            self._tables = {k: replace(v, template=dict(v.template)) for k, v in tables.items()}
            self._save()
        if self._boot_listener is not None:
            self._boot_listener()

    async def download(self, request: Download) -> DownloadResponse:
        self._check_url(request.url)
        self.transfers.append(request)
        self._complete_later(request.command_key)
        return DownloadResponse(1)

    async def upload(self, request: Upload) -> UploadResponse:
        self._check_url(request.url)
        self.transfers.append(request)
        self._complete_later(request.command_key)
        return UploadResponse(1)

    def _check_url(self, url: str) -> None:
        parts = split_transfer_url(url)
        if parts.scheme not in ("http", "https"):
            raise CwmpFaultError(9013, f"Unsupported protocol for file transfer: {parts.scheme}")

    def _complete_later(self, command_key: str) -> None:
        """Simulate a transfer that finishes right after the current step."""
        start = datetime.now(UTC)

        async def finish() -> None:
            await asyncio.sleep(0)
            if self._on_transfer_complete is not None:
                self._on_transfer_complete(
                    TransferComplete(command_key, self.transfer_fault, start, datetime.now(UTC))
                )

        task = asyncio.get_running_loop().create_task(finish())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- persistence -------------------------------------------------------------------------

    def _save(self) -> None:
        if self._persist is None:
            return
        state = {
            "params": {
                n: [s.value, s.notification, list(s.access_list)]
                for n, s in self._params.items()
                if s.writable or s.notification or s.access_list or self._table_param(n)
            },
            "objects": sorted(o for o in self._objects if self._table_of_instance(o)),
            "next": {k: t.next_instance for k, t in self._tables.items()},
        }
        self._persist.kv_set(self._persist_key, json.dumps(state, separators=(",", ":")))

    def _table_param(self, name: str) -> bool:
        return any(name.startswith(t) for t in self._tables)

    def _load(self) -> None:
        if self._persist is None:
            return
        raw = self._persist.kv_get(self._persist_key)
        if raw is None:
            return
        try:
            state = json.loads(raw)
            for obj in state["objects"]:
                m = re.fullmatch(r"(.*\.)([0-9]+)\.", obj)
                if m and m.group(1) in self._tables:
                    self._objects.add(obj)
                    for leaf, spec in self._tables[m.group(1)].template.items():
                        self._params.setdefault(f"{obj}{leaf}", spec)
            for table, number in state["next"].items():
                if table in self._tables:
                    self._tables[table].next_instance = int(number)
            for name, (value, notification, access) in state["params"].items():
                if name in self._params:
                    self._params[name] = replace(
                        self._params[name],
                        value=str(value),
                        notification=int(notification),
                        access_list=tuple(access),
                    )
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable persisted data model: %s", exc)


def device2_backend(
    device_id: DeviceIdStruct,
    *,
    acs_url: str,
    acs_username: str = "",
    acs_password: str = "",
    software_version: str = "1.0",
    hardware_version: str = "1.0",
    model_name: str = "",
    periodic_inform_interval: int = 3600,
    connection_request_username: str = "",
    connection_request_password: str = "",
    persist: KeyValueStore | None = None,
) -> MemoryBackend:
    """The small Device:2 tree: DeviceInfo, ManagementServer and Hosts.Host.{i}."""
    started = time.monotonic()
    b = MemoryBackend(persist)
    di = "Device.DeviceInfo."
    ro = ParamSpec
    b.add_parameter("Device.RootDataModelVersion", ro("2.12"))
    for leaf, value in (
        ("Manufacturer", device_id.manufacturer),
        ("ManufacturerOUI", device_id.oui),
        ("ModelName", model_name or device_id.product_class),
        ("Description", "proxier virtual device"),
        ("ProductClass", device_id.product_class),
        ("SerialNumber", device_id.serial_number),
        ("HardwareVersion", hardware_version),
        ("SoftwareVersion", software_version),
    ):
        b.add_parameter(di + leaf, ro(value))
    b.add_parameter(di + "SoftwareVersion", ro(software_version, notification=2))
    b.add_parameter(di + "ProvisioningCode", ro("", writable=True, maximum=64, notification=2))
    b.add_parameter(di + "UpTime", ro(type="xsd:unsignedInt"))
    b.bind_value(di + "UpTime", lambda: str(int(time.monotonic() - started)))
    add_management_server(
        b,
        acs_url=acs_url,
        acs_username=acs_username,
        acs_password=acs_password,
        periodic_inform_interval=periodic_inform_interval,
        connection_request_username=connection_request_username,
        connection_request_password=connection_request_password,
    )
    boolean = "xsd:boolean"
    b.add_table(
        "Device.Hosts.Host.",
        {
            "Alias": ro(writable=True, maximum=64),
            "PhysAddress": ro(writable=True, maximum=64),
            "IPAddress": ro(writable=True, maximum=45),
            "HostName": ro(maximum=64),
            "Active": ro("false", boolean),
        },
        count_parameter="Device.Hosts.HostNumberOfEntries",
    )
    b.freeze_defaults()
    return b


def add_management_server(
    b: MemoryBackend,
    *,
    acs_url: str,
    acs_username: str = "",
    acs_password: str = "",
    periodic_inform_interval: int = 3600,
    connection_request_username: str = "",
    connection_request_password: str = "",
) -> None:
    """`Device.ManagementServer.` as the engine acts on it (reference §3.1).

    Every virtual device has its own copy: the UPnP device never holds CWMP settings, so the
    proxier mounts this subtree beside the translated model (`proxier.cwmp.mount`).
    """
    ms = "Device.ManagementServer."
    ro = ParamSpec
    uint, boolean = "xsd:unsignedInt", "xsd:boolean"
    for leaf, spec in (
        ("URL", ro(acs_url, writable=True, maximum=256)),
        ("Username", ro(acs_username, writable=True, maximum=256)),
        ("Password", ro(acs_password, writable=True, hidden=True, maximum=256)),
        ("PeriodicInformEnable", ro("true", boolean, writable=True)),
        ("PeriodicInformInterval", ro(str(periodic_inform_interval), uint, True, minimum=1)),
        ("PeriodicInformTime", ro("0001-01-01T00:00:00Z", "xsd:dateTime", writable=True)),
        ("ParameterKey", ro()),
        ("ConnectionRequestURL", ro(notification=2)),
        ("ConnectionRequestUsername", ro(connection_request_username, writable=True)),
        (
            "ConnectionRequestPassword",
            ro(connection_request_password, writable=True, hidden=True),
        ),
        ("UpgradesManaged", ro("false", boolean, writable=True)),
        ("DefaultActiveNotificationThrottle", ro("0", uint, writable=True)),
        ("CWMPRetryMinimumWaitInterval", ro("5", uint, True, minimum=1, maximum=65535)),
        ("CWMPRetryIntervalMultiplier", ro("2000", uint, True, minimum=1000, maximum=65535)),
    ):
        b.add_parameter(ms + leaf, spec)
    policy = autonomous.POLICY_DEFAULTS
    for leaf, spec in (
        (autonomous.ENABLE, ro(policy[autonomous.ENABLE], boolean, writable=True)),
        (
            autonomous.TRANSFER_TYPE_FILTER,
            ro(
                policy[autonomous.TRANSFER_TYPE_FILTER],
                writable=True,
                enumeration=autonomous.TRANSFER_TYPES,
            ),
        ),
        (
            autonomous.RESULT_TYPE_FILTER,
            ro(
                policy[autonomous.RESULT_TYPE_FILTER],
                writable=True,
                enumeration=autonomous.RESULT_TYPES,
            ),
        ),
        (
            autonomous.FILE_TYPE_FILTER,
            ro(policy[autonomous.FILE_TYPE_FILTER], writable=True, maximum=1024),
        ),
    ):
        b.add_parameter(ms + leaf, spec)
