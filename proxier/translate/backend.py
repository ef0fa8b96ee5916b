"""`UpnpBackend`: the data model of one Virtual CWMP Device, served by a UPnP DM device.

Each CWMP RPC becomes the CMS action sequence of TR-330 §4.6:

- GetParameterNames (§4.6.2.1): GetInstances + GetSupportedParameters for the structure,
  GetAttributes for Writable (Access = readWrite), 703 → 9005.
- GetParameterValues (§4.6.3.1): one GetValues of all content paths; xsi:type from the CMS
  Type attribute (mappings/types.toml), cached per structure path.
- SetParameterValues (§4.6.4.1): one atomic SetValues; ChangesCommitted → Status 1,
  ChangesApplied → 0; Table 2 faults, per-parameter SetParameterValuesFault where TR-069
  A.3.2.1 requires it and the proxier can tell which parameter failed.
- Get/SetParameterAttributes (§4.6.5): Notification ⇄ EventOnChange, partial paths expanded
  to parameters, AccessList changes → 9003, rollback from the attribute cache on failure.
- AddObject / DeleteObject (§4.6.6, §4.6.7): CreateInstance / DeleteInstance through the
  instance map.

Objects that CWMP has and UPnP DM serves as services (§4.3.2: IPPing, TraceRoute,
NSLookupDiagnostics from BMS; §4.4.1: VendorLogFile), `Device.DeviceInfo.ProxierInfo.`, and
`Device.DeviceInfo.SupportedDataModel.{i}.` are held by the proxier and inserted where their
paths fall. `Device.ManagementServer.` is the CWMP engine's own and never taken from the
device. Every device call is bounded by `timeout`: a slow or vanished device gives 9002, never
a hung session.

Beyond DataModelBackend, the owner of a virtual device calls: `device_identity()` (Inform
DeviceId + Forced Inform values), `operations.resume()` then `handle_event(event)` per
event (feeds "4 VALUE CHANGE", diagnostics and firmware followers), `after_session()` (starts
requested diagnostics), `set_event_listener(raise_event)` (Table 1 events such as "8 DIAGNOSTICS
COMPLETE", decided by `proxier.translate.dmevents`), and `close()`.
Diagnostics, vendor logs and firmware (Download, Upload, AutonomousTransferComplete) are
`self.operations` (`proxier.translate.operations`); give `session` (vendor log transfers)
and `state` (the device's store: firmware operations survive a restart) to have them all.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import aiohttp

from proxier.cwmp.backend import (
    AutonomousTransferListener,
    TransferListener,
    ValueChange,
    ValueChangeListener,
)
from proxier.cwmp.faults import fault, spv_fault
from proxier.cwmp.rpc import (
    CwmpFaultError,
    DeviceIdStruct,
    Download,
    DownloadResponse,
    ParameterAttributeStruct,
    ParameterInfoStruct,
    ParameterValueStruct,
    SetParameterAttributesStruct,
    SetParameterValuesFault,
    Upload,
    UploadResponse,
)
from proxier.cwmp.xsdtypes import check_value
from proxier.logsafe import get_logger
from proxier.translate.dmevents import CONFIGURATION_UPDATE, EventRaiser
from proxier.translate.facts import SharedFacts
from proxier.translate.handoff import ReadHandoff, forced_paths
from proxier.translate.instances import AliasError, InstanceStore
from proxier.translate.notify import ValueChangeTracker
from proxier.translate.opcommon import KeyValueStore, MemoryKeyValueStore
from proxier.translate.operations import Operations
from proxier.translate.paths import (
    PathError,
    PathTranslator,
    Root,
    UnknownInstance,
    is_instance,
    roots_from_models,
    split_upnp,
    table_of,
)
from proxier.translate.tables import Tables, default_tables
from proxier.upnp.device import (
    BmsApi,
    DmDevice,
    DmEvent,
    NodeAttributes,
    ParameterValue,
    SupportedDataModel,
    UpnpError,
)

log = get_logger(__name__)

T = TypeVar("T")

CHANGES_COMMITTED = "ChangesCommitted"
#: Objects of the virtual device that belong to the CWMP engine, not to the proxied device.
ENGINE_OWNED = ("Device.ManagementServer.",)
PROXIER_INFO = "Device.DeviceInfo.ProxierInfo."
SUPPORTED_DATA_MODEL = "Device.DeviceInfo.SupportedDataModel."
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class ProxierIdentity:
    """The proxier itself, as `Device.DeviceInfo.ProxierInfo.` shows it (reference §3.3)."""

    manufacturer_oui: str
    product_class: str
    serial_number: str
    proxy_protocol: str = "UPnP-DM"


@dataclass(slots=True)
class _Local:
    """A parameter the proxier holds (or reads through from fixed UPnP paths)."""

    type: str = "xsd:string"
    writable: bool = False
    value: str = ""
    upnp: tuple[str, ...] = ()  # read-through candidates (DeviceInfo identity)


#: In `_GpvCache.answers`: a path whose CWMP name the engine owns (never answered from here).
_HIDDEN = ParameterValueStruct("", "")
_CACHE_LIMIT = 100_000


@dataclass(slots=True)
class _GpvCache:
    """GetParameterValues translations already made, so that a repeated request costs one
    dict lookup per name each way: `plain` maps a CWMP parameter name the device holds to its
    UPnP path, `answers` a UPnP path the device returned to its last value as the device gave
    it and the ParameterValueStruct made of it (CWMP name, xsi:type, the value with path
    references translated), reused as long as the device gives the same value.

    Both follow from the path translator and the instance map, so they are dropped when either
    changes (a new translator after SupportedDataModelsUpdate, a new store generation after a
    row went away or an alias changed); `clear()` when the types may have changed."""

    plain: dict[str, str] = field(default_factory=dict)
    answers: dict[str, tuple[str, ParameterValueStruct]] = field(default_factory=dict)
    _translator: PathTranslator | None = None
    _generation: int = -1

    def check(self, translator: PathTranslator) -> _GpvCache:
        generation = translator.instances.generation
        if translator is not self._translator or generation != self._generation:
            self.clear()
            self._translator, self._generation = translator, generation
        return self

    def clear(self) -> None:
        self.plain.clear()
        self.answers.clear()

    def remember_plain(self, name: str, upnp: str) -> None:
        if len(self.plain) < _CACHE_LIMIT:
            self.plain[name] = upnp

    def remember_answer(self, upnp: str, raw: str, answer: ParameterValueStruct) -> None:
        if len(self.answers) < _CACHE_LIMIT or upnp in self.answers:
            self.answers[upnp] = (raw, answer)


@dataclass(slots=True)
class _Tree:
    """Names of one request's answer in the order found, objects ending with '.'."""

    writable: dict[str, bool] = field(default_factory=dict)

    def add(self, name: str, writable: bool) -> None:
        if name not in self.writable:
            self.writable[name] = writable


def _status(change_status: str) -> int:
    """TR-330 §4.6.4.1: ChangesCommitted → 1, ChangesApplied → 0 (same for every write)."""
    return 1 if change_status == CHANGES_COMMITTED else 0


def _structure(upnp: str) -> str:
    """`/BBF/Hosts/Host/3/IPAddress` → `/BBF/Hosts/Host/#/IPAddress` (interned: the type
    caches of every device of one model keep the same structure paths)."""
    return sys.intern(re.sub(r"/\d+(?=/|$)", "/#", upnp))


class UpnpBackend:
    """DataModelBackend over one DmDevice (see the module docstring)."""

    def __init__(
        self,
        device: DmDevice,
        *,
        instance_store: InstanceStore,
        proxier_info: ProxierIdentity,
        timeout: float = DEFAULT_TIMEOUT,
        tables: Tables | None = None,
        clock: Callable[[], float] = time.monotonic,
        manufacturer: str = "",
        session: aiohttp.ClientSession | None = None,
        state: KeyValueStore | None = None,
    ) -> None:
        self.device = device
        self.store = instance_store
        self.proxier_info = proxier_info
        self.timeout = timeout
        self.tables = tables if tables is not None else default_tables()
        self.clock = clock
        self.manufacturer = manufacturer  # fallback for DeviceId.Manufacturer (description)
        self.tracker = ValueChangeTracker()
        self._on_value_change: ValueChangeListener | None = None
        self._paths: PathTranslator | None = None
        self._models: list[SupportedDataModel] = []
        self._local: dict[str, _Local] = {}
        self._local_objects: dict[str, bool] = {}  # name → writable (AddObject)
        self._types: SharedFacts[str, str] = SharedFacts()  # structure path → CMS Type (shared)
        self._xsd: dict[str, str] = {}  # concrete parameter path → xsi:type (from _types)
        self._gpv = _GpvCache()  # GetParameterValues translations (see _GpvCache)
        self._references: set[str] = set()  # structure paths seen holding path references
        self._access: SharedFacts[str, bool] = SharedFacts()  # concrete path → readWrite
        self._eoc: SharedFacts[str, bool] = SharedFacts()  # param path → EventOnChange
        self._ready_lock = asyncio.Lock()
        self._last_vars: dict[str, str] = {}  # CMS evented variables last seen
        self._turn: Callable[[], Awaitable[None]] | None = None
        self._handoff = ReadHandoff()  # forced Inform values read with a change
        #: TR-330 §4.3.2, §4.4, §4.5, §4.7: diagnostics, vendor logs, firmware.
        self.operations = Operations(
            device,
            store=state if state is not None else MemoryKeyValueStore(),
            session=session,
            timeout=timeout,
            tables=self.tables,
        )

    # --- plumbing ------------------------------------------------------------------------------

    def set_autonomous_listener(self, listener: AutonomousTransferListener) -> None:
        """TR-330 Table 1 row 10 / §4.7.1.3: firmware updates started by another control
        point reach the engine, which applies AutonomousTransferCompletePolicy itself."""
        self.operations.set_listeners(autonomous=listener)

    def set_event_listener(self, raise_event: EventRaiser) -> None:
        """Where the Table 1 events that need no payload go ("8 DIAGNOSTICS COMPLETE" when
        an ACS-requested diagnostic finished, row 8): `CpeEngine.raise_event`. An addition
        to the contract."""
        self.operations.set_listeners(event=raise_event)

    async def after_session(self) -> None:
        """Start the diagnostics the session requested (TR-069: after the session)."""
        self._handoff.clear()  # read during a session: not for the next one's Inform
        await self.operations.after_session()

    async def close(self) -> None:
        """Stop the background work (diagnostics runs, firmware followers, log uploads)."""
        await self.operations.close()

    def set_listeners(
        self, on_value_change: ValueChangeListener, on_transfer_complete: TransferListener
    ) -> None:
        self._on_value_change = on_value_change
        self.operations.set_listeners(transfer=on_transfer_complete)

    async def _call(self, rpc: str, action: str, awaitable: Awaitable[T]) -> T:
        """One device call, bounded; UPnP errors become CWMP faults through Table 2.

        `asyncio.timeout` awaits in place (no task per call, unlike `wait_for`)."""
        if action != "GetValues":
            self._handoff.clear()  # it may change what a read handed over holds
        try:
            async with asyncio.timeout(self.timeout):
                return await awaitable
        except TimeoutError:
            log.warning(
                "device %s: %s timed out after %.1fs", self.device.udn, action, self.timeout
            )
            raise _err(9002, f"device did not answer {action} in time") from None
        except UpnpError as exc:
            if exc.code == 0:
                log.warning("device %s: %s failed: %s", self.device.udn, action, exc)
            code = self.tables.errors.cwmp_fault(exc.code, rpc)
            raise _err(code, f"{action}: {exc}") from None

    @property
    def paths(self) -> PathTranslator:
        assert self._paths is not None, "call ensure_ready() first"
        return self._paths

    async def ensure_ready(self, rpc: str = "GetParameterNames") -> None:
        """Learn the device's data models and build the proxier-held objects, once."""
        if self._paths is not None:
            return
        async with self._ready_lock:
            if self._paths is not None:
                return
            models = await self._call(
                rpc, "GetSupportedDataModels", self.device.cms.get_supported_data_models()
            )
            self._models = list(models)
            roots = roots_from_models(self._models, self.tables.roots)
            self._build_local(roots)
            self._paths = PathTranslator(roots, self.store)

    def _build_local(self, roots: Sequence[Root]) -> None:
        local: dict[str, _Local] = {}
        info = self.proxier_info
        for name, value in (
            ("ManufacturerOUI", info.manufacturer_oui),
            ("ProductClass", info.product_class),
            ("SerialNumber", info.serial_number),
            ("ProxyProtocol", info.proxy_protocol),
        ):
            local[PROXIER_INFO + name] = _Local(value=value)
        for i, model in enumerate(self._models, 1):
            base = f"{SUPPORTED_DATA_MODEL}{i}."
            local[base + "URL"] = _Local(value=model.url)
            local[base + "URN"] = _Local(value=model.uri)
            local[base + "Features"] = _Local(value="")
        local["Device.DeviceInfo.SupportedDataModelNumberOfEntries"] = _Local(
            "xsd:unsignedInt", value=str(len(self._models))
        )
        if not any(r.cwmp == "Device." for r in roots):
            for row in self.tables.deviceinfo:
                local[row.name] = _Local(row.type, row.writable, "", row.upnp)
        objects: dict[str, bool] = {"Device.": False}
        for name in local:
            _add_ancestors(objects, name)
        objects[SUPPORTED_DATA_MODEL] = False
        for i in range(1, len(self._models) + 1):
            objects[f"{SUPPORTED_DATA_MODEL}{i}."] = False
        for root in roots:
            objects.setdefault(root.cwmp, False)
            _add_ancestors(objects, root.cwmp)
        self._local = local
        self._local_objects = objects

    def _local_below(self, prefix: str, next_level: bool) -> list[tuple[str, bool]]:
        """Proxier-held names below the object `prefix` (children only when next_level)."""
        out: list[tuple[str, bool]] = []
        for name, writable in self._local_objects.items():
            if name.startswith(prefix) and name != prefix:
                rest = name[len(prefix) : -1]
                if not next_level or "." not in rest:
                    out.append((name, writable))
        for name, loc in self._local.items():
            if name.startswith(prefix):
                if not next_level or "." not in name[len(prefix) :]:
                    out.append((name, loc.writable))
        return out

    def _device_roots_below(self, prefix: str) -> list[Root]:
        """Device roots whose CWMP object is `prefix` or lies below it."""
        return [r for r in self.paths.roots if r.cwmp.startswith(prefix)]

    async def _to_upnp(self, rpc: str, name: str) -> str:
        """The UPnP path of a CWMP name, refreshing the instance map once if needed."""
        try:
            return self.paths.to_upnp(name)
        except UnknownInstance as missing:
            await self._refresh_table(rpc, missing.table)
        except PathError as exc:
            raise _err(9005, str(exc)) from None
        try:
            return self.paths.to_upnp(name)
        except (UnknownInstance, PathError):
            raise _err(9005, f"no such instance in {name}") from None

    async def _refresh_table(self, rpc: str, table: str) -> None:
        try:
            found = await self._call(rpc, "GetInstances", self.device.cms.get_instances(table, 1))
        except CwmpFaultError:
            return
        numbers = []
        for path in found:
            try:
                t, n = table_of(path)
            except PathError:
                continue
            if t == table:
                numbers.append(n)
        self._sync(table, numbers)

    def _sync(self, table: str, numbers: Iterable[int]) -> None:
        numbers = set(numbers)
        for _cwmp, upnp in self.store.instances(table):
            if upnp not in numbers:
                self._forget(f"{table}{upnp}/")
        self.store.sync(table, numbers)

    def _forget(self, prefix: str) -> None:
        """Drop caches of a deleted instance (and below)."""
        for cache in (self._access, self._eoc):
            for p in [p for p in cache if p.startswith(prefix)]:
                del cache[p]
        self.tracker.forget_below(prefix)

    def _cwmp_names(self, upnp_paths: Sequence[str]) -> list[str]:
        """CWMP names of paths the device returned; a malformed one is the device's fault."""
        try:
            return self.paths.to_cwmp_many(upnp_paths)
        except PathError as exc:
            log.warning("device %s returned a bad path: %s", self.device.udn, exc)
            raise _err(9002, "the device returned a malformed path") from None

    def _visible(self, name: str) -> bool:
        return not name.startswith(ENGINE_OWNED)

    def _is_local_name(self, name: str) -> bool:
        return name in self._local or name in self._local_objects

    # --- GetParameterNames (TR-330 §4.6.2.1) --------------------------------------------------

    async def get_parameter_names(
        self, parameter_path: str, next_level: bool
    ) -> list[ParameterInfoStruct]:
        rpc = "GetParameterNames"
        await self.ensure_ready(rpc)
        path = parameter_path
        if path == "":
            if next_level:
                return [ParameterInfoStruct("Device.", False)]
            path = "Device."
        if not self._visible(path):
            raise _err(9005, f"{path} is not served by this backend")
        tree = _Tree()
        if self.operations.owns(path):
            found = await self.operations.names(path, next_level)
            if not found:
                raise _err(9005, f"{path} is not in the data model")
            return found
        held = await self.operations.names(path, next_level)
        if not path.endswith("."):
            # "If the ParameterPath is a parameter – Go to step #3"
            writable = await self._parameter_writable(rpc, path)
            if next_level:
                # TR-069 A.3.2.3: NextLevel true with a Parameter name is 9003.
                raise _err(9003, "NextLevel true on a parameter name")
            return [ParameterInfoStruct(path, writable)]
        local = self._local_below(path, next_level)
        local.extend((p.name, p.writable) for p in held)
        is_local_object = path in self._local_objects
        root = self.paths.root_for_cwmp(path)
        device_found = False
        if root is not None:
            try:
                await self._device_names(rpc, path, next_level, tree)
                device_found = True
            except CwmpFaultError as exc:
                if exc.fault.fault_code != 9005 or not (is_local_object or local):
                    raise
        if not next_level:
            for nested in self._device_roots_below(path):
                if nested is not root:
                    await self._device_names(rpc, nested.cwmp, False, tree)
        if not device_found and not is_local_object and not local:
            raise _err(9005, f"{path} is not in the data model")
        if not next_level and path not in tree.writable:
            tree.writable = {path: self._local_objects.get(path, False), **tree.writable}
        for name, writable in local:
            tree.add(name, writable)
        aliases = self._instance_aliases(tree.writable, path)
        if next_level:  # only the instance's own Alias is one of its children
            aliases = {a: v for a, v in aliases.items() if a == path + "Alias"}
        out = []
        for n, w in tree.writable.items():
            if self._visible(n):
                out.append(ParameterInfoStruct(n, w))
                if aliases.pop(n + "Alias", None) is not None:
                    out.append(ParameterInfoStruct(n + "Alias", True))
        out.extend(ParameterInfoStruct(a, True) for a in aliases)
        return out

    async def _parameter_writable(self, rpc: str, name: str) -> bool:
        loc = self._local.get(name)
        if loc is not None:
            return loc.writable
        if await self._alias_target(rpc, name) is not None:
            return True
        upnp = await self._to_upnp(rpc, name)
        attrs = await self._attributes(rpc, [upnp])
        node = attrs.get(upnp)
        if node is None or self.tables.types.is_object(node.type):
            raise _err(9005, f"{name} is not a parameter")
        return node.access == "readWrite"

    async def _device_names(self, rpc: str, path: str, next_level: bool, tree: _Tree) -> None:
        """The device's part of a GetParameterNames on the object `path`."""
        upnp = await self._to_upnp(rpc, path)
        if not next_level:
            await self._names_subtree(rpc, upnp, tree)
        elif not _looks_like_instance(upnp) and self._types.get(_structure(upnp)) == (
            "MultiInstance"
        ):
            await self._names_table(rpc, upnp, tree)
        else:
            # an instance is a single object; an object of unknown kind shows itself a
            # table when GetSupportedParameters answers `…/#/` (_names_single)
            await self._names_single(rpc, upnp, tree)

    async def _names_table(self, rpc: str, upnp: str, tree: _Tree) -> None:
        """NextLevel true on a multi-instance object: step 1 (GetInstances, depth 1), 3."""
        found = await self._call(rpc, "GetInstances", self.device.cms.get_instances(upnp, 1))
        mine = sorted(n for t, n in _tables_of(found) if t == upnp)
        self._sync(upnp, mine)
        instances = [f"{upnp}{n}/" for n in mine]
        attrs = await self._attributes(rpc, instances)
        for inst, name in zip(instances, self._cwmp_names(instances), strict=True):
            node = attrs.get(inst)
            tree.add(name, node is not None and node.access == "readWrite")

    async def _names_single(self, rpc: str, upnp: str, tree: _Tree) -> None:
        """NextLevel true on a single-instance object: step 2 (depth 1), then step 3."""
        found = await self._call(
            rpc, "GetSupportedParameters", self.device.cms.get_supported_parameters(upnp, 1)
        )
        base = _structure(upnp)
        children: list[str] = []
        tables: set[str] = set()
        for struct in found:
            if struct == base + "#/":
                # The node is a table after all: list its instances.
                self._types[base] = "MultiInstance"
                await self._names_table(rpc, upnp, tree)
                return
            if not struct.startswith(base):
                continue
            rel = struct[len(base) :]
            if rel.endswith("/#/"):
                rel = rel[:-2]
                tables.add(upnp + rel)
            if not rel or "#" in rel:
                continue
            children.append(upnp + rel)
        # Step 3 for parameters and tables; single-instance objects are never writable.
        ask = [c for c in children if not c.endswith("/") or c in tables]
        attrs = await self._attributes(rpc, ask) if ask else {}
        for child, name in zip(children, self._cwmp_names(children), strict=True):
            node = attrs.get(child)
            tree.add(name, node is not None and node.access == "readWrite")

    async def _names_subtree(self, rpc: str, upnp: str, tree: _Tree) -> None:
        """NextLevel false: steps 1 and 2 with depth 0, every node of the branch, step 3."""
        nodes, tables = await self._expand(rpc, upnp, with_objects=True)
        ask = [n for n in nodes if not n.endswith("/") or n in tables or _looks_like_instance(n)]
        attrs = await self._attributes(rpc, ask, hint=upnp) if ask else {}
        names = self._cwmp_names(nodes)
        for node_path, name in zip(nodes, names, strict=True):
            node = attrs.get(node_path)
            tree.add(name, node is not None and node.access == "readWrite" and node_path in ask)

    async def _expand(
        self, rpc: str, upnp: str, *, with_objects: bool
    ) -> tuple[list[str], set[str]]:
        """Every concrete node below the object `upnp` (GetInstances + GetSupportedParameters
        with depth 0, TR-330 §4.6.2.1 / §4.6.5.1.1 steps 1-2), in tree order: parameters,
        and objects, tables and instances too when `with_objects`; plus the table paths."""
        if not upnp.endswith("/"):
            return [upnp], set()
        cms = self.device.cms
        for _ in range(3):  # a row added/deleted meanwhile (another task) makes it stale
            before = self.store.rows_changed
            instances = await self._call(rpc, "GetInstances", cms.get_instances(upnp, 0))
            structure = await self._call(
                rpc, "GetSupportedParameters", cms.get_supported_parameters(upnp, 0)
            )
            if self.store.rows_changed == before:
                break
        # Instances per table, kept in the map (never computed).
        by_table: dict[str, list[int]] = {}
        for inst in instances:
            try:
                t, n = table_of(inst)
            except PathError:
                continue
            by_table.setdefault(t, []).append(n)
        for t, numbers in by_table.items():
            self._sync(t, numbers)
        base = _structure(upnp)
        found: list[str] = [upnp] if with_objects else []
        tables: set[str] = set()
        for struct in structure:
            if not struct.startswith(base):
                continue
            rel = struct[len(base) :]
            if rel.endswith("#/"):
                rel = rel[:-2]  # a table at the depth limit (not expected at depth 0)
            idx = rel.find("#/")
            while idx != -1:  # the tables on the way, even empty ones
                for table in self._instantiate(upnp, rel[:idx], by_table):
                    tables.add(table)
                    if with_objects:
                        found.extend(_objects_between(upnp, table))
                        found.append(table)
                idx = rel.find("#/", idx + 2)
            for concrete in self._instantiate(upnp, rel, by_table):
                if with_objects:
                    found.extend(_objects_between(upnp, concrete))
                if not concrete.endswith("/") or with_objects:
                    found.append(concrete)
        return _tree_order(found), tables

    def _instantiate(self, prefix: str, rel: str, by_table: dict[str, list[int]]) -> list[str]:
        """Concrete paths for the structure path `prefix + rel` (each `#` → instances)."""
        head, sep, tail = rel.partition("#/")
        if not sep:
            return [prefix + rel]
        table = prefix + head
        out = []
        for n in sorted(set(by_table.get(table, []))):
            out.extend(self._instantiate(f"{table}{n}/", tail, by_table))
        return out

    async def _attributes(
        self, rpc: str, paths: Sequence[str], *, hint: str | None = None, fresh: bool = False
    ) -> dict[str, NodeAttributes]:
        """Attributes of nodes; cached Access/Type, fetched in one GetAttributes otherwise.

        `hint` is an ancestor to ask for first: devices that answer a partial path with the
        whole branch (as the lab device does) then need a single call.
        """
        out: dict[str, NodeAttributes] = {}
        missing = []
        for p in paths:
            cached = None if fresh else self._cached_attributes(p)
            if cached is None:
                missing.append(p)
            else:
                out[p] = cached
        if not missing:
            return out
        ask = [hint] if hint is not None and len(missing) > 1 else missing
        got = await self._call(rpc, "GetAttributes", self.device.cms.get_attributes(ask))
        self._remember(got)
        for node in got:
            out.setdefault(node.path, node)
        still = [p for p in missing if p not in out]
        if still and ask != still:
            got = await self._call(rpc, "GetAttributes", self.device.cms.get_attributes(still))
            self._remember(got)
            for node in got:
                out.setdefault(node.path, node)
        return out

    def _cached_attributes(self, path: str) -> NodeAttributes | None:
        access = self._access.get(path)
        kind = self._types.get(_structure(path))
        if access is None or kind is None:
            return None
        return NodeAttributes(
            path,
            access="readWrite" if access else "readOnly",
            type=kind,
            event_on_change=self._eoc.get(path),
        )

    def _remember(self, nodes: Iterable[NodeAttributes]) -> None:
        for node in nodes:
            if node.type is not None:
                self._types[_structure(node.path)] = node.type
            if node.access is not None:
                self._access[node.path] = node.access == "readWrite"
            if node.event_on_change is not None:
                self._eoc[node.path] = node.event_on_change

    # --- GetParameterValues (TR-330 §4.6.3.1) -------------------------------------------------

    async def get_parameter_values(
        self, parameter_names: Sequence[str]
    ) -> list[ParameterValueStruct]:
        rpc = "GetParameterValues"
        await self.ensure_ready(rpc)
        plain = self._gpv.check(self.paths).plain
        content: list[str] = []  # UPnP content paths, in the order asked
        optional: list[str] = []  # … of which these may be absent (once per listing)
        local_out: list[ParameterValueStruct] = []
        read_through: dict[str, tuple[str, ...]] = {}
        for raw in parameter_names:
            known = plain.get(raw)
            if known is not None:  # a device parameter already translated: the common case
                content.append(known)
                continue
            name = raw or "Device."
            held: list[ParameterValueStruct] = []
            if name.endswith(".") or self.operations.owns(name):
                held = await self.operations.values([name])
                local_out.extend(held)
                if self.operations.owns(name):
                    if not held:
                        raise _err(9005, f"{name} is not in the data model")
                    continue
            elif name not in self._local and not name.endswith(".Alias") and self._visible(name):
                upnp = await self._to_upnp(rpc, name)  # a device parameter
                self._gpv.remember_plain(name, upnp)
                content.append(upnp)
                continue
            if not self._visible(name):
                raise _err(9005, f"{name} is not served here")
            local = [
                n for n in self._local if n == name or (name.endswith(".") and n.startswith(name))
            ]
            if not local:
                alias = await self._alias_value(rpc, name)
                if alias is not None:
                    local_out.append(alias)
                    continue
            root = self.paths.root_for_cwmp(name)
            nested = (
                [r for r in self._device_roots_below(name) if r is not root]
                if name.endswith(".")
                else []
            )
            may_lack = bool(local) or name in self._local_objects or bool(held)
            if root is None and not may_lack and not nested:
                raise _err(9005, f"{name} is not in the data model")
            for n in local:
                loc = self._local[n]
                if loc.upnp:
                    read_through[n] = loc.upnp
                else:
                    local_out.append(ParameterValueStruct(n, loc.value, loc.type))
            if root is not None and name not in self._local:
                try:
                    upnp = await self._to_upnp(rpc, name)
                except CwmpFaultError:
                    if not may_lack:
                        raise
                else:
                    content.append(upnp)
                    if may_lack:
                        optional.append(upnp)
            for r in nested:
                content.append(r.upnp)
                optional.append(r.upnp)
        out = [v for v in local_out if self._visible(v.name)]
        if content:
            out.extend(await self._get_values(rpc, content, optional))
        if read_through:
            out.extend(await self._read_through(rpc, read_through))
        for name in parameter_names:
            if not name or name.endswith("."):
                aliases = self._instance_aliases([v.name for v in out], name or "Device.")
                out.extend(ParameterValueStruct(a, v) for a, v in aliases.items())
        return out

    async def _alias_value(self, rpc: str, name: str) -> ParameterValueStruct | None:
        """`….{i}.Alias` served from the proxier's cache when the device has none."""
        target = await self._alias_target(rpc, name)
        if target is None:
            return None
        value = self.store.alias(*target)
        return None if value is None else ParameterValueStruct(name, value)

    async def _get_values(
        self, rpc: str, content: Sequence[str], optional: Sequence[str] = ()
    ) -> list[ParameterValueStruct]:
        """One CMS::GetValues for every content path; a path the device does not hold is
        dropped when every listing of it is in `optional` (proxier-held objects), else it is
        9005. Parameters under the engine's objects are left out."""
        cms = self.device.cms
        got = self._handoff.take(content, self.clock())
        try:
            if got is None:
                got = await self._call(rpc, "GetValues", cms.get_values(content))
        except CwmpFaultError as exc:
            if exc.fault.fault_code != 9005 or not optional:
                raise
            got = []
            listed, spare = Counter(content), Counter(optional)
            for path in content:
                try:
                    got.extend(await self._call(rpc, "GetValues", cms.get_values([path])))
                except CwmpFaultError as inner:
                    if inner.fault.fault_code != 9005 or listed[path] > spare[path]:
                        raise
        answers = self._gpv.answers
        out = []
        for pv in got:
            known = answers.get(pv.path)
            if known is None:  # a path not answered before: translate them all
                return await self._translate_values(rpc, got)
            raw, answer = known
            if answer is _HIDDEN:
                continue
            if pv.value != raw:
                answer = self._value_struct(answer.name, pv.path, pv.value, answer.type)
                answers[pv.path] = (pv.value, answer)
            out.append(answer)
        return out

    async def _translate_values(
        self, rpc: str, got: Sequence[ParameterValue]
    ) -> list[ParameterValueStruct]:
        """CWMP names and xsi:types of what CMS::GetValues returned (remembered for the next
        request; a path whose type is still unknown is not, so that it is asked again)."""
        paths = [pv.path for pv in got]
        types = await self._types_of(rpc, paths)
        names = self._cwmp_names(paths)
        out = []
        for name, pv in zip(names, got, strict=True):
            if not self._visible(name):
                answer = _HIDDEN
            else:
                answer = self._value_struct(name, pv.path, pv.value, types[pv.path])
                out.append(answer)
            if pv.path in self._xsd:
                self._gpv.remember_answer(pv.path, pv.value, answer)
        return out

    def _value_struct(self, name: str, upnp: str, value: str, xsd: str) -> ParameterValueStruct:
        """One answer; a value made of this device's UPnP paths is given in CWMP form."""
        if value.startswith("/"):
            reference = self._reference_to_cwmp(value)
            if reference is not None:
                self._references.add(_structure(upnp))
                value = reference
        return ParameterValueStruct(name, value, xsd)

    def _reference_to_cwmp(self, value: str) -> str | None:
        """A value made of UPnP paths of this device (TR-181 path references, e.g.
        Layer3Interface `/BBF/IP/Interface/0/`) in CWMP form, else None."""
        items = [item.strip() for item in value.split(",")]
        try:
            for item in items:
                split_upnp(item)
                if self.paths.root_for_upnp(item) is None:
                    return None
            return ",".join(self.paths.to_cwmp_many(items))
        except PathError:
            return None

    async def _reference_to_upnp(self, rpc: str, value: str) -> str:
        """The inverse, for a parameter known to hold references; 9007 if one is unknown."""
        if not value.strip():
            return value
        out = []
        for item in (i.strip() for i in value.split(",")):
            if self.paths.root_for_cwmp(item) is None:
                raise _err(9007, f"{item!r} is not a path of this device")
            try:
                out.append(await self._to_upnp(rpc, item))
            except CwmpFaultError:
                raise _err(9007, f"{item!r} is not a path of this device") from None
        return ",".join(out)

    async def _types_of(self, rpc: str, paths: Sequence[str]) -> dict[str, str]:
        """xsi:type of each parameter from its CMS Type (cached per structure path)."""
        known = self._xsd
        if all(p in known for p in paths):
            return known
        unknown = [p for p in paths if _structure(p) not in self._types]
        if unknown:
            try:
                await self._attributes(rpc, unknown, fresh=True)
            except CwmpFaultError:
                pass  # no Type known: the default type of mappings/types.toml
        types = self.tables.types
        if len(known) > 100_000:
            known.clear()
        for p in paths:
            kind = self._types.get(_structure(p))
            if kind is not None:
                known[p] = types.xsd(kind)
        return {p: known.get(p, types.default) for p in paths}

    async def _read_through(
        self, rpc: str, params: dict[str, tuple[str, ...]]
    ) -> list[ParameterValueStruct]:
        out = []
        for name, candidates in params.items():
            value = ""
            for upnp in candidates:
                try:
                    got = await self._call(rpc, "GetValues", self.device.cms.get_values([upnp]))
                except CwmpFaultError as exc:
                    if exc.fault.fault_code == 9005:
                        continue
                    raise
                if got:
                    value = got[0].value
                    break
            out.append(ParameterValueStruct(name, value, self._local[name].type))
        return out

    # --- SetParameterValues (TR-330 §4.6.4.1) -------------------------------------------------

    async def set_parameter_values(
        self, parameter_list: Sequence[ParameterValueStruct], parameter_key: str
    ) -> int:
        rpc = "SetParameterValues"
        await self.ensure_ready(rpc)
        names = [p.name for p in parameter_list]
        if len(set(names)) != len(names):
            raise _err(9003, "a parameter appears more than once")
        faults: list[SetParameterValuesFault] = []
        device: list[tuple[ParameterValueStruct, str]] = []
        local: list[ParameterValueStruct] = []
        aliases: list[tuple[str, int, str, str]] = []
        operational = [pv for pv in parameter_list if self.operations.owns(pv.name)]
        faults.extend(self.operations.validate(operational))
        for pv in parameter_list:
            if self.operations.owns(pv.name):
                continue
            if pv.name.endswith(".") or not self._visible(pv.name):
                faults.append(spv_fault(pv.name, 9005, "not a parameter"))
                continue
            loc = self._local.get(pv.name)
            if loc is not None:
                if not loc.writable:
                    faults.append(spv_fault(pv.name, 9008))
                elif loc.upnp:
                    held = [u for u in loc.upnp if self.paths.root_for_upnp(u) is not None]
                    device.append((pv, (held or list(loc.upnp))[0]))
                elif not _value_fits(loc.type, pv.value) or (
                    pv.name.endswith(".DiagnosticsState") and pv.value != "Requested"
                ):
                    faults.append(spv_fault(pv.name, 9007))
                else:
                    local.append(pv)
                continue
            alias = await self._alias_target(rpc, pv.name)
            if alias is not None:
                aliases.append((*alias, pv.value, pv.name))
                continue
            try:
                upnp = await self._to_upnp(rpc, pv.name)
            except CwmpFaultError as exc:
                faults.append(spv_fault(pv.name, exc.fault.fault_code))
                continue
            if _structure(upnp) in self._references:
                try:
                    pv = replace(pv, value=await self._reference_to_upnp(rpc, pv.value))
                except CwmpFaultError as exc:
                    faults.append(spv_fault(pv.name, 9007, exc.fault.fault_string))
                    continue
            device.append((pv, upnp))
        for table, cwmp, value, name in aliases:
            other = self.store.by_alias(table, value)
            if not re.fullmatch(r"[A-Za-z][^.\[\]]{0,63}", value) or (
                other is not None and other != cwmp
            ):
                faults.append(spv_fault(name, 9007, "Alias must be unique and start with a letter"))
        types = await self._types_of(rpc, [upnp for _, upnp in device]) if device else {}
        for pv, upnp in device:  # A.3.2.1: a value outside its type is ours to refuse (9007)
            if problem := check_value(types[upnp], pv.value):
                faults.append(spv_fault(pv.name, 9007, problem))
        if faults:
            raise _err(9003, "", tuple(faults))
        status = 0
        if device:
            values = [ParameterValue(upnp, pv.value) for pv, upnp in device]
            try:
                change = await self._call(rpc, "SetValues", self.device.cms.set_values(values))
            except CwmpFaultError as exc:
                raise await self._spv_detail(rpc, exc, device) from None
            status = _status(change)
            self.tracker.acs_set({upnp: pv.value for pv, upnp in device}, self.clock())
        for pv in local:
            self._local[pv.name].value = pv.value
        if operational:
            self.operations.apply(operational)
        for table, cwmp, value, _name in aliases:
            try:
                self.store.set_alias(table, cwmp, value)
            except (AliasError, KeyError):  # checked above; a race with DeleteObject
                pass
        return status

    def _instance_aliases(self, names: Iterable[str], within: str) -> dict[str, str]:
        """TR-330 §4.6.8: `….{i}.Alias` → value for each instance of the device's tables
        that `names` pass through inside the object `within`, where the device has no Alias
        of its own (it is not among `names`): the proxier's Alias is a parameter like the
        others, listed by GetParameterNames and read with a partial path."""
        listed = names if isinstance(names, dict) else dict.fromkeys(names)
        out: dict[str, str] = {}
        for name in listed:
            segments = name.split(".")
            for k in range(1, len(segments) - 1):
                if not segments[k].isdigit():
                    continue
                inst = ".".join(segments[: k + 1]) + "."
                alias = inst + "Alias"
                if not inst.startswith(within) or alias in listed or alias in out:
                    continue
                if self._is_local_name(inst) or self.operations.owns(inst):
                    continue
                try:
                    table, _ = table_of(self.paths.to_upnp(inst))
                except (PathError, UnknownInstance):  # not a row of the device
                    continue
                value = self.store.alias(table, int(segments[k]))
                if value is not None:
                    out[alias] = value
        return out

    async def _alias_target(self, rpc: str, name: str) -> tuple[str, int] | None:
        """(table, CWMP number) when `name` is `….{i}.Alias` of a table without its own Alias
        parameter: the proxier keeps it (TR-330 §4.6.8)."""
        if not name.endswith(".Alias"):
            return None
        inst = name[: -len("Alias")]
        try:
            upnp_inst = await self._to_upnp(rpc, inst)
        except CwmpFaultError:
            return None
        if not _looks_like_instance(upnp_inst):
            return None
        try:
            await self._attributes(rpc, [upnp_inst + "Alias"])
            return None  # the device has an Alias parameter of its own
        except CwmpFaultError:
            pass
        table, number = table_of(upnp_inst)
        cwmp = self.store.cwmp_for(table, number)
        return None if cwmp is None else (table, cwmp)

    async def _spv_detail(
        self, rpc: str, exc: CwmpFaultError, device: Sequence[tuple[ParameterValueStruct, str]]
    ) -> CwmpFaultError:
        """A SetValues failure as TR-069 A.3.2.1 wants it: 9003 with one
        SetParameterValuesFault per parameter in error, when the proxier can tell which ones;
        otherwise (TR-330 §4.6.4 note) the mapped fault without details."""
        code = exc.fault.fault_code
        if code not in (9005, 9006, 9007, 9008):
            return exc
        if len(device) == 1:
            culprits = [device[0][0].name]
        else:
            culprits = await self._find_culprits(rpc, code, device)
        if not culprits:
            return exc
        detail = tuple(spv_fault(name, code) for name in culprits)
        return _err(9003, exc.fault.fault_string, detail)

    async def _find_culprits(
        self, rpc: str, code: int, device: Sequence[tuple[ParameterValueStruct, str]]
    ) -> list[str]:
        out = []
        for pv, upnp in device:
            try:
                attrs = await self._attributes(rpc, [upnp], fresh=True)
            except CwmpFaultError as probe:
                if probe.fault.fault_code == 9005 and code == 9005:
                    out.append(pv.name)
                continue
            node = attrs.get(upnp)
            if node is None:
                continue
            if code == 9008 and node.access != "readWrite":
                out.append(pv.name)
            elif code == 9006 and not _value_fits(self.tables.types.xsd(node.type), pv.value):
                out.append(pv.name)
        return out

    # --- Get/SetParameterAttributes (TR-330 §4.6.5) -------------------------------------------

    async def _parameters_below(self, rpc: str, name: str) -> list[tuple[str, str | None]]:
        """(CWMP name, UPnP path or None for proxier-held) of every parameter `name` covers."""
        out: list[tuple[str, str | None]] = []
        if not self._visible(name):
            raise _err(9005, f"{name} is not served here")
        if await self._alias_target(rpc, name) is not None:
            return [(name, None)]
        local = [n for n in self._local if n == name or (name.endswith(".") and n.startswith(name))]
        local.extend(await self.operations.parameter_names(name))
        out.extend((n, None) for n in local)
        if name in self._local or self.operations.owns(name):
            if not local:
                raise _err(9005, f"{name} is not in the data model")
            return out
        root = self.paths.root_for_cwmp(name)
        sources: list[str] = []
        if root is not None:
            try:
                sources.append(await self._to_upnp(rpc, name))
            except CwmpFaultError:
                if not local and name not in self._local_objects:
                    raise
        if name.endswith("."):
            sources.extend(r.upnp for r in self._device_roots_below(name) if r is not root)
        if root is None and not local and not sources and name not in self._local_objects:
            raise _err(9005, f"{name} is not in the data model")
        for upnp in sources:
            try:
                params, _ = await self._expand(rpc, upnp, with_objects=False)
            except CwmpFaultError as exc:
                if exc.fault.fault_code == 9005 and (local or name in self._local_objects):
                    continue
                raise
            for n, p in zip(self._cwmp_names(params), params, strict=True):
                if self._visible(n):
                    out.append((n, p))
        if name.endswith("."):
            out.extend((a, None) for a in self._instance_aliases([n for n, _ in out], name))
        return out

    async def get_parameter_attributes(
        self, parameter_names: Sequence[str]
    ) -> list[ParameterAttributeStruct]:
        rpc = "GetParameterAttributes"
        await self.ensure_ready(rpc)
        out: list[ParameterAttributeStruct] = []
        for raw in parameter_names:
            params = await self._parameters_below(rpc, raw or "Device.")
            device = [p for _, p in params if p is not None]
            attrs = await self._attributes(rpc, device, fresh=True) if device else {}
            for name, upnp in params:
                asked = self.store.notification(name)
                if upnp is None:
                    level = asked or 0
                else:
                    node = attrs.get(upnp)
                    if node is None:
                        raise _err(9005, f"no attributes for {name}")
                    # EventOnChange set by someone else than the ACS reads as passive.
                    level = (asked or 1) if node.event_on_change else 0
                # TR-330 §4.6.5.1.1: "AccessList will always be empty".
                out.append(ParameterAttributeStruct(name, level, ()))
        return out

    async def set_parameter_attributes(
        self, parameter_list: Sequence[SetParameterAttributesStruct]
    ) -> None:
        rpc = "SetParameterAttributes"
        await self.ensure_ready(rpc)
        for item in parameter_list:
            if item.access_list_change:
                # TR-330 §4.6.5.2.1: an attempt to set AccessList is answered with 9003.
                raise _err(9003, "AccessList cannot be set")
            if item.notification_change and not 0 <= item.notification <= 6:
                raise _err(9003, f"Notification {item.notification}")
            if item.notification_change and item.notification > 2:
                raise _err(9009, "lightweight notification is not supported")
        plan: list[tuple[int, list[tuple[str, str | None]]]] = []
        for item in parameter_list:
            if item.notification_change:
                plan.append((item.notification, await self._parameters_below(rpc, item.name)))
        # The attributes as they are now: the cache to roll back to (§4.6.5.2.1).
        all_device = [p for _, params in plan for _, p in params if p is not None]
        before = await self._attributes(rpc, all_device, fresh=True) if all_device else {}
        done: list[list[str]] = []
        for level, params in plan:
            device = [p for _, p in params if p is not None]
            if not device:
                continue
            nodes = [NodeAttributes(p, event_on_change=level > 0) for p in device]
            try:
                await self._call(rpc, "SetAttributes", self.device.cms.set_attributes(nodes))
            except CwmpFaultError:
                await self._roll_back(rpc, done, before)
                raise
            done.append(device)
        self.store.set_notifications({name: level for level, params in plan for name, _ in params})
        for level, params in plan:
            for name, upnp in params:
                if upnp is not None:
                    self._eoc[upnp] = level > 0
                    if level > 0:
                        kind = self._types.get(_structure(upnp))
                        self.tracker.watch(upnp, name, self.tables.types.xsd(kind))
                    else:
                        self.tracker.unwatch(upnp)
        watched = [p for _, params in plan for _, p in params if p and self.tracker.is_watched(p)]
        if watched:
            try:
                got = await self._call(rpc, "GetValues", self.device.cms.get_values(watched))
                self.tracker.seed((pv.path, pv.value) for pv in got)
            except CwmpFaultError:
                log.info("device %s: could not seed notified values", self.device.udn)

    async def _roll_back(
        self, rpc: str, done: list[list[str]], before: dict[str, NodeAttributes]
    ) -> None:
        for device in reversed(done):
            nodes = [
                NodeAttributes(p, event_on_change=bool(before[p].event_on_change))
                for p in device
                if p in before
            ]
            try:
                await self._call(rpc, "SetAttributes", self.device.cms.set_attributes(nodes))
            except CwmpFaultError:
                log.warning("device %s: attribute rollback failed", self.device.udn)
            for node in nodes:
                self._eoc[node.path] = bool(node.event_on_change)

    # --- AddObject / DeleteObject (TR-330 §4.6.6, §4.6.7) -------------------------------------

    async def add_object(self, object_name: str, parameter_key: str) -> tuple[int, int]:
        rpc = "AddObject"
        await self.ensure_ready(rpc)
        if not object_name.endswith(".") or not self._visible(object_name):
            raise _err(9005, f"{object_name} is not an object path")
        if object_name in self._local_objects or self.paths.root_for_cwmp(object_name) is None:
            raise _err(9005, f"{object_name} is not a writable table")
        upnp = await self._to_upnp(rpc, object_name)
        if _looks_like_instance(upnp):
            raise _err(9005, f"{object_name} is an instance")
        if not self.store.instances(upnp):
            # Number the rows already there first, so they keep the lower numbers.
            await self._refresh_table(rpc, upnp)
        identifier, change = await self._call(
            rpc, "CreateInstance", self.device.cms.create_instance(upnp, [])
        )
        try:
            table, number = table_of(identifier)
        except PathError:
            raise _err(9002, f"device returned {identifier!r} as InstanceIdentifier") from None
        cwmp = self.store.allocate(table, [number])[number]
        return cwmp, _status(change)

    async def delete_object(self, object_name: str, parameter_key: str) -> int:
        rpc = "DeleteObject"
        await self.ensure_ready(rpc)
        if not object_name.endswith(".") or not self._visible(object_name):
            raise _err(9005, f"{object_name} is not an object path")
        if object_name in self._local_objects:
            raise _err(9001, f"{object_name} cannot be deleted")
        upnp = await self._to_upnp(rpc, object_name)
        if not _looks_like_instance(upnp):
            raise _err(9005, f"{object_name} is not an instance")
        change = await self._call(rpc, "DeleteInstance", self.device.cms.delete_instance(upnp))
        table, number = table_of(upnp)
        self._forget(upnp)
        self.store.forget_notifications(self.paths.to_cwmp(upnp))
        self.store.remove(table, number)
        return _status(change)

    # --- device-level operations --------------------------------------------------------------

    def _bms(self) -> BmsApi:
        """Reboot/FactoryReset need BMS: without it (an SMS-only device, TR-330 §3.1) 9000."""
        if self.device.bms is None:
            raise _err(9000, "the device has no BasicManagement")
        return self.device.bms

    def ensure_can_reboot(self, reset: bool) -> None:
        self._bms()

    async def reboot(self, command_key: str) -> None:
        """TR-330 Table 1 row 1: the Reboot RPC is BMS::Reboot."""
        await self._call("Reboot", "Reboot", self._bms().reboot())

    async def factory_reset(self) -> None:
        """The FactoryReset RPC is BMS::BaselineReset (TR-330 Table 1 row 0)."""
        bms = self._bms()
        await self._call("FactoryReset", "BaselineReset", bms.baseline_reset())

    async def download(self, request: Download) -> DownloadResponse:
        """Firmware through SMS::Update (TR-330 §4.7.1.1); TransferComplete follows."""
        return await self.operations.download(request)

    async def upload(self, request: Upload) -> UploadResponse:
        """Vendor log upload (TR-330 §4.4.2); without BMS logs or a session, 9011."""
        return await self.operations.upload(request)

    async def device_identity(self) -> tuple[DeviceIdStruct, list[ParameterValueStruct]]:
        """Inform DeviceId and Forced Inform DeviceInfo parameters, from the device's
        DeviceInfo nodes (mappings/deviceinfo.toml; reference upnp-dm.md §2.8)."""
        rpc = "GetParameterValues"
        ident = {"manufacturer": self.manufacturer}
        forced = []
        for row in self.tables.deviceinfo:
            if not (row.device_id or row.forced_inform):
                continue
            value = None
            for upnp in row.upnp:
                try:
                    got = await self._call(rpc, "GetValues", self.device.cms.get_values([upnp]))
                except CwmpFaultError as exc:
                    if exc.fault.fault_code == 9005:
                        continue
                    raise
                if got:
                    value = got[0].value
                    break
            if row.device_id and value:
                ident[row.device_id] = value
            if row.forced_inform:
                forced.append(ParameterValueStruct(row.name, value or "", row.type))
        device_id = DeviceIdStruct(
            manufacturer=ident.get("manufacturer", ""),
            oui=ident.get("oui", ""),
            product_class=ident.get("product_class", ""),
            serial_number=ident.get("serial_number", ""),
        )
        return device_id, forced

    # --- events -------------------------------------------------------------------------------

    async def handle_event(self, event: DmEvent) -> list[ValueChange]:
        """Act on one DM event: "4 VALUE CHANGE" candidates, cache invalidation, the end of
        firmware operations (SMS OperationIDs)."""
        self.operations.handle_event(event)
        if event.service != "CMS":
            return []
        changed = {k: v for k, v in event.variables.items() if self._last_vars.get(k) != v}
        first = not self._last_vars
        self._last_vars.update(event.variables)
        if first:
            # The initial event: a baseline, nothing changed yet. Attributes persist across
            # discovery (TR-330 §4.6.5): learn which parameters already notify.
            if self._on_value_change is not None:
                if self._turn is not None:
                    await self._turn()
                try:
                    await self.discover_notified()
                except CwmpFaultError as exc:
                    log.warning("device %s: notified parameters unknown: %s", self.device.udn, exc)
            return []
        if "SupportedDataModelsUpdate" in changed:
            self._paths = None  # re-read the data models on the next RPC
        if "SupportedParametersUpdate" in changed:
            self._types.clear()
            self._xsd.clear()
            self._gpv.clear()
            self._access.clear()
        if "AttributeValuesUpdate" in changed:
            self._eoc.clear()
        if "ConfigurationUpdate" not in changed:
            return []
        if not self._reports_configuration_updates():
            return []  # Table 1 (row 4) gives a ConfigurationUpdate no "4 VALUE CHANGE"

        async def get(paths: Sequence[str]) -> list[ParameterValue]:
            cms = self.device.cms
            return await self._call("GetParameterValues", "GetValues", cms.get_values(paths))

        async def read(paths: Sequence[str]) -> dict[str, str]:
            forced = forced_paths(self._gpv.plain, self._gpv.answers)
            got = await self._handoff.read(paths, forced, get, self.clock())
            return {pv.path: pv.value for pv in got}

        try:
            # The listener records the changes in the same transaction as the new baseline.
            return await self.tracker.on_configuration_update(
                read, self.clock(), self._on_value_change
            )
        except CwmpFaultError as exc:
            log.warning("device %s: cannot re-read notified values: %s", self.device.udn, exc)
            return []

    def defer_scan_to(self, turn: Callable[[], Awaitable[None]]) -> None:
        """The scan of the initial event waits for `turn` (virtual/firstinforms)."""
        self._turn = turn

    async def discover_notified(self) -> None:
        """Find parameters with EventOnChange already set on the device (TR-330 §4.6.5:
        attributes persist across discovery) and start tracking their values; a value that
        differs from the baseline an earlier run stored changed while nobody watched, and
        is reported ("4 VALUE CHANGE", TR-069 §3.7.1.5)."""
        rpc = "GetParameterAttributes"
        await self.ensure_ready(rpc)
        on = []  # the values of every root in one GetValues (issue 13: a request less)
        for root in self.paths.roots:
            params, _ = await self._expand(rpc, root.upnp, with_objects=False)
            attrs = await self._attributes(rpc, params, hint=root.upnp, fresh=True)
            names = self._cwmp_names(params)
            for name, upnp in zip(names, params, strict=True):
                node = attrs.get(upnp)
                if node is not None and node.event_on_change and self._visible(name):
                    self.tracker.watch(upnp, name, self.tables.types.xsd(node.type))
                    on.append(upnp)
        if on:
            got = await self._call(rpc, "GetValues", self.device.cms.get_values(on))
            current = {pv.path: pv.value for pv in got}
            self.tracker.compare(current, self.clock(), self._missed_update)
        self.tracker.forget_unwatched()

    def _reports_configuration_updates(self) -> bool:
        return self.operations.events.occurred(CONFIGURATION_UPDATE)

    def _missed_update(self, changes: list[ValueChange]) -> None:
        """Changes found when events (re)start were made while nobody listened: a
        ConfigurationUpdate we missed, so Table 1 (row 4) decides whether they are reported
        (the baseline moves either way)."""
        if self._on_value_change is not None and self._reports_configuration_updates():
            self._on_value_change(changes)


def _err(
    code: int, detail: str = "", details: tuple[SetParameterValuesFault, ...] = ()
) -> CwmpFaultError:
    """The exception answering an RPC with fault `code` (standard FaultString + detail)."""
    f = fault(code, detail, details)
    return CwmpFaultError(f.fault_code, f.fault_string, f.set_parameter_values_fault)


def _add_ancestors(objects: dict[str, bool], name: str) -> None:
    parts = name.split(".")
    for i in range(1, len(parts)):
        obj = ".".join(parts[:i]) + "."
        objects.setdefault(obj, False)


def _tables_of(instance_paths: Iterable[str]) -> list[tuple[str, int]]:
    """(table, instance) of each well-formed instance path; others are skipped."""
    out = []
    for path in instance_paths:
        try:
            out.append(table_of(path))
        except PathError:
            log.info("ignoring malformed instance path %r", path[:200])
    return out


def _objects_between(top: str, path: str) -> list[str]:
    """The object paths strictly between `top` and `path` (`/A/`, `/A/B/`…)."""
    parts = path[len(top) :].rstrip("/").split("/")
    out, acc = [], top
    for part in parts[:-1]:
        acc += part + "/"
        out.append(acc)
    return out


def _tree_order(paths: Iterable[str]) -> list[str]:
    """Unique paths, each object before what is below it, siblings in first-seen order."""
    tree: dict[str, Any] = {}
    terminal = "\0"
    for path in paths:
        node = tree
        parts = path.split("/")
        for part in parts[1:-1]:
            node = node.setdefault(part + "/", {})
        node.setdefault(parts[-1] if parts[-1] else terminal, {})
    out: list[str] = []

    def walk(node: dict[str, Any], prefix: str) -> None:
        if terminal in node:
            out.append(prefix)
        for key, child in node.items():
            if key == terminal:
                continue
            if key.endswith("/"):
                walk(child, sys.intern(prefix + key))
            else:
                out.append(sys.intern(prefix + key))  # kept in per-device caches: shared

    walk(tree, "/")
    return out


def _looks_like_instance(upnp: str) -> bool:
    segments = upnp.rstrip("/").split("/")
    return upnp.endswith("/") and bool(segments) and is_instance(segments[-1])


def _value_fits(xsd: str, value: str) -> bool:
    """Whether `value` is a value of `xsd` (the one validator of `proxier.cwmp.xsdtypes`)."""
    return not check_value(xsd, value)
