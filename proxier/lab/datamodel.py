"""The lab device's CMS data model engine: a sans-IO ConfigurationManagement:2 back end.

A tree is loaded from a model file (`proxier/data/lab-model.json` ships with the package):
objects, multi-instance tables (`…/Table/#/`) and typed parameters with the CMS node
attributes Type, Access, EventOnChange, AlarmOnChange and Version. Every CMS action of
reference upnp-dm.md §2.2 is a method here, taking and returning the typed values of
`proxier.upnp.device`; the SOAP server and `LocalDmDevice` only wrap it. Errors are
`UpnpError` with the CMS codes of §2.7:

701 malformed path / SearchDepth / filter, 702 bad XML (raised by the codecs), 703 no such
name, 704 value not of the parameter's type, 705 value out of range or not allowed, 706
read-only violation, 707 the same parameter twice in one SetValues, 708 busy (a test knob),
709 Resources Exceeded (TR-330 Table 2) when CreateInstance would overfill a table.

Choices where the sources are silent (reference upnp-dm.md marks them UNCONFIRMED):
- SearchDepth 0 = unlimited; N > 0 descends N levels, a table and its `#` instance count as
  one level, nodes exactly at the limit are returned as partial paths (§2.4, TP Vision).
- GetValues expands `#` in ContentPaths; a partial path returns every leaf below it.
- GetAttributes on a partial path returns the node itself and every node below it.
- SetAttributes on a partial path applies to every parameter below it; only EventOnChange
  and AlarmOnChange are writable, anything else is 706.
- CreateInstance accepts `…/Table/` and `…/Table/#/` (ChangesCommitted for a table the
  model marks `commit`, as DeleteInstance); ChildrenInitialization paths are
  relative to the new instance (or absolute with `#` for the new instance). Instance
  numbers start at 0, are never reused, and a model may start sparse.
- Every applied change bumps CurrentConfigurationVersion and stamps the changed nodes'
  Version. ConfigurationUpdate (evented) changes only when a changed parameter has
  EventOnChange or AlarmOnChange set (TR-330 Table 1, "4 VALUE CHANGE"); with AlarmsEnabled
  the alarmed parameters' values are appended as a ParameterValueList (§2.6).
- GetSelectedValues Filter: `Leaf = value [AND Leaf = value …]` (values optionally quoted),
  matched against each instance the StartingNode (with `#`) expands to; empty = all.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from proxier.cwmp.xsdtypes import parse_integer
from proxier.upnp import cms_xml
from proxier.upnp import paths as cms_paths
from proxier.upnp.device import NodeAttributes, ParameterValue, SupportedDataModel, UpnpError

CHANGES_APPLIED = "ChangesApplied"
CHANGES_COMMITTED = "ChangesCommitted"

#: CMS evented state variables (reference upnp-dm.md §2.1).
EVENTED_VARIABLES = (
    "ConfigurationUpdate",
    "SupportedDataModelsUpdate",
    "SupportedParametersUpdate",
    "AttributeValuesUpdate",
    "InconsistentStatus",
    "AlarmsEnabled",
)

PARAM_TYPES = frozenset(
    {
        "string",
        "boolean",
        "int",
        "unsignedInt",
        "long",
        "unsignedLong",
        "dateTime",
        "base64",
        "hexBinary",
    }
)
_INT_RANGES = {
    "int": (-(2**31), 2**31 - 1),
    "unsignedInt": (0, 2**32 - 1),
    "long": (-(2**63), 2**63 - 1),
    "unsignedLong": (0, 2**64 - 1),
}
_DATETIME_RE = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
_FILTER_TERM_RE = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_/]*)\s*=\s*(?:'([^']*)'|\"([^\"]*)\"|(\S*))\s*$"
)

#: The shipped model, inside the package.
DEFAULT_MODEL = "lab-model.json"


# --- path grammar (the shared rules of proxier.upnp.paths) -------------------------------------


@dataclass(frozen=True, slots=True)
class _Path:
    segments: tuple[str, ...]
    partial: bool  # ends with "/"


@functools.lru_cache(maxsize=4096)
def _parse_path(path: str, *, allow_wildcard: bool = True) -> _Path:
    """Split a CMS path; 701 when it breaks the grammar of reference §2.4."""
    if not isinstance(path, str):
        raise UpnpError(701, "path is not a string")
    cms_paths.check_path(path, wildcards=allow_wildcard)
    segments = cms_paths.split_path(path)
    if segments and cms_paths.is_instance_number(segments[-1]) and not cms_paths.is_partial(path):
        raise UpnpError(701, f"a leaf cannot be an instance number: {path[:120]!r}")
    if not segments and not cms_paths.is_partial(path):
        raise UpnpError(701, "empty path")
    return _Path(segments, cms_paths.is_partial(path))


# --- definitions (from the model file) --------------------------------------------------------


@dataclass(slots=True)
class ParamDef:
    name: str
    type: str = "string"
    writable: bool = False
    default: str = ""
    event_on_change: bool = False
    alarm_on_change: bool = False
    commit: bool = False  # SetValues answers ChangesCommitted
    enum: tuple[str, ...] | None = None
    min: int | None = None
    max: int | None = None
    max_length: int | None = None
    count_of: str | None = None  # NumberOfEntries of the sibling table named here
    dynamic: str | None = None  # "uptime" / "currentTime"


@dataclass(slots=True)
class ObjDef:
    name: str
    children: dict[str, ObjDef | TableDef | ParamDef] = field(default_factory=dict)


@dataclass(slots=True)
class TableDef:
    name: str
    writable: bool = False  # CreateInstance/DeleteInstance allowed
    max_entries: int | None = None
    commit: bool = False  # CreateInstance/DeleteInstance answer ChangesCommitted
    instance: ObjDef = field(default_factory=lambda: ObjDef("#"))


# --- concrete tree ------------------------------------------------------------------------------


@dataclass(slots=True)
class Param:
    d: ParamDef
    value: str
    version: int
    event_on_change: bool
    alarm_on_change: bool


@dataclass(slots=True)
class Obj:
    d: ObjDef
    children: dict[str, Obj | Table | Param]
    version: int = 0
    is_instance: bool = False


@dataclass(slots=True)
class Table:
    d: TableDef
    instances: dict[int, Obj]
    next_id: int = 0
    version: int = 0


_Node = Obj | Table | Param


@dataclass(frozen=True, slots=True)
class ModelChange:
    """What the `changes` hook receives: CMS evented variables whose value changed."""

    variables: dict[str, str]
    changed_paths: tuple[str, ...] = ()


class ModelError(ValueError):
    """The model file is not acceptable (says where and why)."""


@dataclass(slots=True)
class ModelSpec:
    """A parsed model file: definitions plus baseline instances and values."""

    root: ObjDef
    instances: dict[str, list[int]]
    values: dict[str, str]
    supported: list[SupportedDataModel]
    configuration_version: int = 1


def load_model_spec(source: str | Path | Mapping[str, Any] | None = None) -> ModelSpec:
    """Read a model (a path, an already-parsed JSON mapping, or None = the shipped one)."""
    if source is None:
        text = resources.files("proxier").joinpath("data", DEFAULT_MODEL).read_text("utf-8")
        doc: Any = json.loads(text)
    elif isinstance(source, str | Path):
        try:
            doc = json.loads(Path(source).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"{source}: {exc}") from None
    else:
        doc = source
    if not isinstance(doc, Mapping):
        raise ModelError("model must be a JSON object")
    root = ObjDef("")
    for i, node in enumerate(doc.get("nodes", [])):
        try:
            _add_definition(root, node)
        except (KeyError, TypeError, ValueError, UpnpError) as exc:
            raise ModelError(f"nodes[{i}]: {exc}") from None
    instances = {str(k): sorted({int(n) for n in v}) for k, v in doc.get("instances", {}).items()}
    values = {str(k): str(v) for k, v in doc.get("values", {}).items()}
    supported = [
        SupportedDataModel(
            uri=str(s["uri"]),
            location=str(s["location"]),
            url=str(s.get("url", "")),
            description=str(s.get("description", "")),
        )
        for s in doc.get("supported_data_models", [])
    ]
    return ModelSpec(root, instances, values, supported, int(doc.get("configuration_version", 1)))


def _add_definition(root: ObjDef, node: Mapping[str, Any]) -> None:
    path = str(node["path"])
    parsed = _parse_path(path)
    if any(s.isdigit() for s in parsed.segments):
        raise ValueError(f"definitions use '#', not instance numbers: {path}")
    cur: ObjDef = root
    segs = list(parsed.segments)
    last_is_table = parsed.partial and segs and segs[-1] == "#"
    leaf = None if parsed.partial else segs.pop()
    if last_is_table:
        segs.pop()
    i = 0
    while i < len(segs):
        name = segs[i]
        is_table = (i + 1 < len(segs) and segs[i + 1] == "#") or (
            last_is_table and i == len(segs) - 1
        )
        child = cur.children.get(name)
        if is_table:
            if child is None:
                child = TableDef(name)
                cur.children[name] = child
            if not isinstance(child, TableDef):
                raise ValueError(f"{name} is both a table and something else: {path}")
            if last_is_table and i == len(segs) - 1:
                child.writable = node.get("access", "readOnly") == "readWrite"
                child.max_entries = node.get("maxEntries")
                child.commit = bool(node.get("commit", False))
            cur = child.instance
            i += 2
            continue
        if child is None:
            child = ObjDef(name)
            cur.children[name] = child
        if not isinstance(child, ObjDef):
            raise ValueError(f"{name} is both an object and something else: {path}")
        cur = child
        i += 1
    if leaf is None:
        return
    ptype = str(node.get("type", "string"))
    if ptype not in PARAM_TYPES:
        raise ValueError(f"unknown type {ptype!r}")
    enum = node.get("enum")
    cur.children[leaf] = ParamDef(
        name=leaf,
        type=ptype,
        writable=node.get("access", "readOnly") == "readWrite",
        default=str(node.get("default", "")),
        event_on_change=bool(node.get("eventOnChange", False)),
        alarm_on_change=bool(node.get("alarmOnChange", False)),
        commit=bool(node.get("commit", False)),
        enum=tuple(str(e) for e in enum) if enum is not None else None,
        min=node.get("min"),
        max=node.get("max"),
        max_length=node.get("maxLength"),
        count_of=node.get("count"),
        dynamic=node.get("dynamic"),
    )


# --- value checks -------------------------------------------------------------------------------


def check_value(d: ParamDef, value: str) -> str:
    """Return the stored form of `value` for parameter `d`; 704 wrong type, 705 not allowed."""
    if d.type == "boolean":
        low = value.strip().lower()
        if low in ("1", "true"):
            value = "1"
        elif low in ("0", "false"):
            value = "0"
        else:
            raise UpnpError(704, f"{d.name}: {value!r} is not a boolean")
    elif d.type in _INT_RANGES:
        try:
            number = parse_integer(value)
        except ValueError:
            raise UpnpError(704, f"{d.name}: {value[:40]!r} is not {d.type}") from None
        lo, hi = _INT_RANGES[d.type]
        if not lo <= number <= hi:
            raise UpnpError(704, f"{d.name}: {value!r} is outside {d.type}")
        if (d.min is not None and number < d.min) or (d.max is not None and number > d.max):
            raise UpnpError(705, f"{d.name}: {number} is outside [{d.min}, {d.max}]")
        value = str(number)
    elif d.type == "dateTime":
        if not _DATETIME_RE.match(value.strip()):
            raise UpnpError(704, f"{d.name}: {value!r} is not a dateTime")
    elif d.type == "base64":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise UpnpError(704, f"{d.name}: not base64") from None
    elif d.type == "hexBinary":
        if len(value) % 2 or not re.fullmatch(r"[0-9A-Fa-f]*", value):
            raise UpnpError(704, f"{d.name}: not hexBinary")
    if d.enum is not None and value not in d.enum:
        raise UpnpError(705, f"{d.name}: {value!r} not one of {', '.join(d.enum)}")
    if d.max_length is not None and len(value) > d.max_length:
        raise UpnpError(705, f"{d.name}: longer than {d.max_length}")
    return value


def iso_time(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp_text(version: int, now: float) -> str:
    """`<version>,<dateTime>` of the *Update state variables (reference §2.1)."""
    return cms_xml.build_version_stamp(cms_xml.VersionStamp(version, iso_time(now)))


# --- the engine --------------------------------------------------------------------------------


class DataModel:
    """One device's CMS data model. Not thread-safe; one asyncio loop drives it."""

    def __init__(
        self,
        spec: ModelSpec | None = None,
        *,
        substitutions: Mapping[str, str] | None = None,
        overrides: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spec = spec if spec is not None else load_model_spec()
        self.substitutions = dict(substitutions or {})
        self.overrides = dict(overrides or {})
        self.clock = clock
        #: hooks called with every ModelChange (the server turns them into GENA events)
        self.changes: list[Callable[[ModelChange], None]] = []
        #: test knob: every action answers 708 while set
        self.busy = False
        self.inconsistent = False
        self.alarms_enabled = False
        self.version = self.spec.configuration_version
        self.boot_time = clock()
        self.configuration_update = _stamp_text(self.version, self.boot_time)
        self.supported_data_models_update = _stamp_text(1, self.boot_time)
        self.supported_parameters_update = _stamp_text(1, self.boot_time)
        self._attr_version = 1
        self.attribute_values_update = _stamp_text(1, self.boot_time)
        #: parent object of each parameter `_resolve` reached (NumberOfEntries needs it)
        self._parent_of_param: dict[int, tuple[Param, Obj]] = {}
        self.root = self._build()

    # -- building and reset --

    def _subst(self, value: str) -> str:
        for key, repl in self.substitutions.items():
            value = value.replace("{" + key + "}", repl)
        return value

    def _build(self) -> Obj:
        root = self._instantiate(self.spec.root, "/", is_instance=False)
        for path, value in self.spec.values.items():
            self._baseline_set(root, path, self._subst(value))
        for path, value in self.overrides.items():
            self._baseline_set(root, path, value)
        return root

    def _baseline_set(self, root: Obj, path: str, value: str) -> None:
        found = self._resolve(root, path, wildcard=False)
        node = found[0][1]
        if not isinstance(node, Param):
            raise ModelError(f"{path} is not a parameter")
        node.value = value

    def _instantiate(self, d: ObjDef, path: str, *, is_instance: bool) -> Obj:
        obj = Obj(d, {}, self.version, is_instance)
        for name, cd in d.children.items():
            if isinstance(cd, ParamDef):
                obj.children[name] = Param(
                    cd,
                    self._subst(cd.default),
                    self.version,
                    cd.event_on_change,
                    cd.alarm_on_change,
                )
            elif isinstance(cd, ObjDef):
                obj.children[name] = self._instantiate(cd, f"{path}{name}/", is_instance=False)
            else:
                table = Table(cd, {}, 0, self.version)
                tpath = f"{path}{name}/"
                numbers = self.spec.instances.get(tpath)
                if numbers is None:
                    numbers = self.spec.instances.get(cms_paths.structure_of(tpath), [])
                for n in numbers:
                    table.instances[n] = self._instantiate(
                        cd.instance, f"{tpath}{n}/", is_instance=True
                    )
                    table.next_id = max(table.next_id, n + 1)
                obj.children[name] = table
        return obj

    def baseline_reset(self) -> None:
        """BMS BaselineReset: values, instances and attributes back to the model defaults."""
        self.version += 1
        self.alarms_enabled = False
        self.inconsistent = False
        self._parent_of_param.clear()
        self.root = self._build()
        now = self.clock()
        self.boot_time = now
        self.configuration_update = _stamp_text(self.version, now)
        self._attr_version += 1
        self.attribute_values_update = _stamp_text(self._attr_version, now)
        self._emit(
            {
                "ConfigurationUpdate": self.configuration_update,
                "AttributeValuesUpdate": self.attribute_values_update,
                "AlarmsEnabled": "0",
                "InconsistentStatus": "0",
            }
        )

    def set_identity(self, overrides: Mapping[str, str]) -> None:
        """Add baseline overrides (kept across BaselineReset) and apply them now."""
        self.overrides.update(overrides)
        for path, value in overrides.items():
            self._baseline_set(self.root, path, value)

    # -- lookup --

    def _resolve(self, root: Obj, path: str, *, wildcard: bool = True) -> list[tuple[str, _Node]]:
        """Concrete (path, node) pairs for `path`; 701 malformed, 703 unknown."""
        parsed = _parse_path(path, allow_wildcard=wildcard)
        found: list[tuple[str, _Node]] = [("/", root)]
        segs = parsed.segments
        for i, seg in enumerate(segs):
            nxt: list[tuple[str, _Node]] = []
            last = i == len(segs) - 1
            for prefix, node in found:
                if isinstance(node, Obj):
                    child = node.children.get(seg)
                    if child is None:
                        raise UpnpError(703, f"no such node: {path}")
                    if isinstance(child, Param):
                        if not last or parsed.partial:
                            raise UpnpError(703, f"{prefix}{seg} is a parameter: {path}")
                        nxt.append((prefix + seg, child))
                        self._parent_of_param[id(child)] = (child, node)
                    else:
                        if last and not parsed.partial:
                            raise UpnpError(703, f"{prefix}{seg} is an object: {path}")
                        nxt.append((f"{prefix}{seg}/", child))
                elif isinstance(node, Table):
                    if seg == "#":
                        nxt.extend((f"{prefix}{n}/", o) for n, o in sorted(node.instances.items()))
                    elif seg.isdigit() and int(seg) in node.instances:
                        nxt.append((f"{prefix}{int(seg)}/", node.instances[int(seg)]))
                    else:
                        raise UpnpError(703, f"no instance {seg!r} in {prefix}: {path}")
                else:
                    raise UpnpError(703, f"no such node: {path}")
            if not nxt and not self._schema_has(segs):
                raise UpnpError(703, f"no such node: {path}")
            found = nxt
            if not found:
                break
        return found

    def _schema_has(self, segs: Sequence[str]) -> bool:
        node: ObjDef | TableDef | ParamDef = self.spec.root
        for seg in segs:
            if isinstance(node, ObjDef):
                child = node.children.get(seg)
                if child is None:
                    return False
                node = child
            elif isinstance(node, TableDef):
                if seg != "#" and not seg.isdigit():
                    return False
                node = node.instance
            else:
                return False
        return True

    def _schema_node(self, path: str) -> tuple[str, ObjDef | TableDef | ParamDef]:
        """The definition a structure (or instance) path names; 701/703."""
        parsed = _parse_path(path)
        node: ObjDef | TableDef | ParamDef = self.spec.root
        out = "/"
        for i, seg in enumerate(parsed.segments):
            last = i == len(parsed.segments) - 1
            if isinstance(node, ObjDef):
                child = node.children.get(seg)
                if child is None or (isinstance(child, ParamDef) != (last and not parsed.partial)):
                    raise UpnpError(703, f"no such node: {path}")
                node = child
                out += seg if isinstance(child, ParamDef) else seg + "/"
            elif isinstance(node, TableDef):
                if seg != "#" and not seg.isdigit():
                    raise UpnpError(703, f"no such node: {path}")
                node = node.instance
                out += "#/"
            else:
                raise UpnpError(703, f"no such node: {path}")
        return out, node

    def _value(self, param: Param, parent: Obj | None) -> str:
        d = param.d
        if d.count_of is not None and parent is not None:
            table = parent.children.get(d.count_of)
            return str(len(table.instances)) if isinstance(table, Table) else "0"
        if d.dynamic == "uptime":
            return str(max(0, int(self.clock() - self.boot_time)))
        if d.dynamic == "currentTime":
            return iso_time(self.clock())
        return param.value

    def _leaves(self, path: str, node: _Node) -> Iterator[tuple[str, Param, Obj | None]]:
        """Every parameter at or below `node` in tree order, with its parent object."""
        if isinstance(node, Param):
            yield path, node, None
        elif isinstance(node, Table):
            for n, inst in sorted(node.instances.items()):
                yield from self._leaves(f"{path}{n}/", inst)
        else:
            for name, child in node.children.items():
                if isinstance(child, Param):
                    yield path + name, child, node
                else:
                    yield from self._leaves(f"{path}{name}/", child)

    def _param_with_parent(self, path: str) -> tuple[Param, Obj]:
        param_node = self._resolve(self.root, path, wildcard=False)[0][1]
        known = self._parent_of_param.get(id(param_node))
        if isinstance(param_node, Param) and known is not None and known[0] is param_node:
            return param_node, known[1]
        parent_path = path.rsplit("/", 1)[0] + "/"
        parent = self._resolve(self.root, parent_path, wildcard=False)[0][1]
        param = self._resolve(self.root, path, wildcard=False)[0][1]
        assert isinstance(parent, Obj) and isinstance(param, Param)
        return param, parent

    def _check_busy(self) -> None:
        if self.busy:
            raise UpnpError(708, "resource temporarily unavailable")

    # -- CMS actions --

    def get_supported_data_models(self) -> list[SupportedDataModel]:
        self._check_busy()
        return list(self.spec.supported)

    def get_supported_parameters(self, starting_node: str, search_depth: int) -> list[str]:
        """Structure paths below StartingNode (leaves; partial paths at the depth limit)."""
        self._check_busy()
        if search_depth < 0:
            raise UpnpError(701, "SearchDepth must not be negative")
        start, node = self._schema_node(starting_node)
        out: list[str] = []
        limit = search_depth or None
        if isinstance(node, ParamDef):
            return [start]
        if isinstance(node, TableDef):
            if limit == 1:
                return [start + "#/"]
            self._walk_schema(
                node.instance, start + "#/", None if limit is None else limit - 1, out
            )
            return out
        self._walk_schema(node, start, limit, out)
        return out

    def _walk_schema(self, node: ObjDef, path: str, remaining: int | None, out: list[str]) -> None:
        for name, child in node.children.items():
            if isinstance(child, ParamDef):
                out.append(path + name)
                continue
            sub = f"{path}{name}/" + ("#/" if isinstance(child, TableDef) else "")
            if remaining == 1:
                out.append(sub)
                continue
            target = child.instance if isinstance(child, TableDef) else child
            self._walk_schema(target, sub, None if remaining is None else remaining - 1, out)

    def get_instances(self, starting_node: str, search_depth: int) -> list[str]:
        """Instance paths (`…/Table/N/`) below StartingNode within SearchDepth levels."""
        self._check_busy()
        if search_depth < 0:
            raise UpnpError(701, "SearchDepth must not be negative")
        if not starting_node.endswith("/"):
            raise UpnpError(701, "StartingNode must be a partial path ending in '/'")
        out: list[str] = []
        for path, node in self._resolve(self.root, starting_node):
            self._walk_instances(path, node, search_depth or None, out)
        return out

    def _walk_instances(
        self, path: str, node: _Node, remaining: int | None, out: list[str]
    ) -> None:
        deeper = None if remaining is None else remaining - 1
        if isinstance(node, Table):
            for n, inst in sorted(node.instances.items()):
                out.append(f"{path}{n}/")
                if deeper is None or deeper > 0:
                    self._walk_instances(f"{path}{n}/", inst, deeper, out)
            return
        if isinstance(node, Obj):
            for name, child in node.children.items():
                if isinstance(child, Table):
                    self._walk_instances(f"{path}{name}/", child, remaining, out)
                elif isinstance(child, Obj) and (deeper is None or deeper > 0):
                    self._walk_instances(f"{path}{name}/", child, deeper, out)

    def get_values(self, paths: Sequence[str]) -> list[ParameterValue]:
        """Values of leaves and whole subtrees (partial paths), `#` expanding instances."""
        self._check_busy()
        return self._get_values(paths)

    def _get_values(self, paths: Sequence[str]) -> list[ParameterValue]:
        out: list[ParameterValue] = []
        seen: set[str] = set()
        for requested in paths:
            for path, node in self._resolve(self.root, requested):
                for leaf, param, parent in self._leaves(path, node):
                    if leaf in seen:
                        continue
                    seen.add(leaf)
                    if parent is None:
                        known = self._parent_of_param.get(id(param))
                        parent = known[1] if known is not None and known[0] is param else None
                    if parent is None:
                        param, parent = self._param_with_parent(leaf)
                    out.append(ParameterValue(leaf, self._value(param, parent)))
        return out

    def get_selected_values(self, starting_node: str, filter: str) -> list[ParameterValue]:
        """Leaves of the instances StartingNode expands to whose leaves match Filter."""
        self._check_busy()
        terms: list[tuple[str, str]] = []
        if filter.strip():
            for part in re.split(r"\s+AND\s+", filter.strip()):
                m = _FILTER_TERM_RE.match(part)
                if m is None:
                    raise UpnpError(701, f"bad filter term {part!r}")
                terms.append((m.group(1), next(g for g in m.groups()[1:] if g is not None)))
        if not starting_node.endswith("/"):
            raise UpnpError(701, "StartingNode must be a partial path ending in '/'")
        out: list[ParameterValue] = []
        for path, node in self._resolve(self.root, starting_node):
            values = {leaf[len(path) :]: v for leaf, v in self._leaf_values(path, node)}
            if all(values.get(name) == want for name, want in terms):
                out.extend(ParameterValue(path + rel, v) for rel, v in values.items())
        return out

    def _leaf_values(self, path: str, node: _Node) -> Iterator[tuple[str, str]]:
        for leaf, param, parent in self._leaves(path, node):
            if parent is None:
                param, parent = self._param_with_parent(leaf)
            yield leaf, self._value(param, parent)

    def set_values(self, values: Sequence[ParameterValue]) -> str:
        """Validate every value first, then apply all of them or none (ChangeStatus)."""
        self._check_busy()
        staged: list[tuple[str, Param, str]] = []
        seen: set[str] = set()
        for pv in values:
            _parse_path(pv.path, allow_wildcard=False)
            if pv.path.endswith("/"):
                raise UpnpError(701, f"not a parameter path: {pv.path}")
            if pv.path in seen:
                raise UpnpError(707, f"{pv.path} appears more than once")
            seen.add(pv.path)
            param = self._resolve(self.root, pv.path, wildcard=False)[0][1]
            assert isinstance(param, Param)
            if not param.d.writable:
                raise UpnpError(706, f"{pv.path} is read-only")
            staged.append((pv.path, param, check_value(param.d, pv.value)))
        if not staged:
            return CHANGES_APPLIED
        committed = any(p.d.commit for _, p, _ in staged)
        self._apply(staged)
        return CHANGES_COMMITTED if committed else CHANGES_APPLIED

    def device_set(self, changes: Mapping[str, str]) -> None:
        """A change made by the device itself (e.g. a counter, a host leaving): no access check."""
        self.stage(changes)()

    def stage(self, changes: Mapping[str, str]) -> Callable[[], None]:
        """Check a device-side change (UpnpError if bad) and return what applies it: many
        devices' changes can be checked first, then applied at one moment."""
        staged: list[tuple[str, Param, str]] = []
        for path, value in changes.items():
            param = self._resolve(self.root, path, wildcard=False)[0][1]
            if not isinstance(param, Param):
                raise UpnpError(703, f"not a parameter: {path}")
            staged.append((path, param, check_value(param.d, value)))
        return lambda: self._apply(staged)

    def _apply(self, staged: Sequence[tuple[str, Param, str]]) -> None:
        self.version += 1
        notify = False
        alarmed: list[ParameterValue] = []
        for path, param, value in staged:
            changed = param.value != value
            param.value = value
            param.version = self.version
            if changed and (param.event_on_change or param.alarm_on_change):
                notify = True
            if changed and param.alarm_on_change:
                alarmed.append(ParameterValue(path, value))
        changed_vars: dict[str, str] = {}
        if notify:
            self.configuration_update = cms_xml.build_configuration_update(
                cms_xml.ConfigurationUpdate(
                    self.version,
                    iso_time(self.clock()),
                    tuple(alarmed) if self.alarms_enabled else (),
                )
            )
            changed_vars["ConfigurationUpdate"] = self.configuration_update
        self._emit(changed_vars, tuple(p for p, _, _ in staged))

    def create_instance(
        self, multi_instance_name: str, children: Sequence[ParameterValue]
    ) -> tuple[str, str]:
        """New instance at the table's next number (never reused); children are relative."""
        self._check_busy()
        name = multi_instance_name
        if name.endswith("/#/"):
            name = name[:-2]
        if not name.endswith("/"):
            raise UpnpError(701, "MultiInstanceName must end with '/' or '/#/'")
        found = self._resolve(self.root, name, wildcard=False)
        table = found[0][1]
        if not isinstance(table, Table):
            raise UpnpError(703, f"{name} is not a multi-instance node")
        if not table.d.writable:
            raise UpnpError(706, f"{name} does not allow CreateInstance")
        if table.d.max_entries is not None and len(table.instances) >= table.d.max_entries:
            raise UpnpError(709, f"{name} is full ({table.d.max_entries} entries)")
        new_id = table.next_id
        template = self._instantiate(table.d.instance, f"{found[0][0]}{new_id}/", is_instance=True)
        prefix = f"{found[0][0]}{new_id}/"
        structure_prefix = cms_paths.structure_of(found[0][0]) + "#/"
        staged: list[tuple[str, Param, str]] = []
        seen: set[str] = set()
        for pv in children:
            rel = pv.path
            if rel.startswith(structure_prefix):
                rel = rel[len(structure_prefix) :]
            elif rel.startswith(prefix):
                rel = rel[len(prefix) :]
            elif rel.startswith("/"):
                raise UpnpError(703, f"{pv.path} is not inside {name}")
            full = prefix + rel
            if full in seen:
                raise UpnpError(707, f"{pv.path} appears more than once")
            seen.add(full)
            param = self._resolve(template, "/" + rel, wildcard=False)[0][1]
            if not isinstance(param, Param):
                raise UpnpError(703, f"not a parameter: {pv.path}")
            if not param.d.writable:
                raise UpnpError(706, f"{pv.path} is read-only")
            staged.append((full, param, check_value(param.d, pv.value)))
        self.version += 1
        template.version = self.version
        for _, param, value in staged:
            param.value = value
        _stamp(template, self.version)
        table.instances[new_id] = template
        table.next_id = new_id + 1
        table.version = self.version
        self._emit({}, (prefix,))
        return prefix, CHANGES_COMMITTED if table.d.commit else CHANGES_APPLIED

    def delete_instance(self, instance_identifier: str) -> str:
        self._check_busy()
        parsed = _parse_path(instance_identifier, allow_wildcard=False)
        if not parsed.partial or not parsed.segments or not parsed.segments[-1].isdigit():
            raise UpnpError(701, "InstanceIdentifier must look like …/Table/N/")
        table_path = "/" + "/".join(parsed.segments[:-1]) + "/"
        table = self._resolve(self.root, table_path, wildcard=False)[0][1]
        number = int(parsed.segments[-1])
        if not isinstance(table, Table) or number not in table.instances:
            raise UpnpError(703, f"no such instance: {instance_identifier}")
        if not table.d.writable:
            raise UpnpError(706, f"{table_path} does not allow DeleteInstance")
        self.version += 1
        del table.instances[number]
        self._parent_of_param.clear()
        table.version = self.version
        self._emit({}, (instance_identifier,))
        return CHANGES_COMMITTED if table.d.commit else CHANGES_APPLIED

    def get_attributes(self, paths: Sequence[str]) -> list[NodeAttributes]:
        """Attributes of each node; a partial path covers the node and everything below."""
        self._check_busy()
        out: list[NodeAttributes] = []
        for requested in paths:
            for path, node in self._resolve(self.root, requested):
                deletable = False
                if isinstance(node, Obj) and node.is_instance:
                    table = self._resolve(self.root, cms_paths.parent_of(path), wildcard=False)[0][
                        1
                    ]
                    deletable = isinstance(table, Table) and table.d.writable
                out.extend(self._attributes(path, node, deletable=deletable))
        return out

    def _attributes(
        self, path: str, node: _Node, *, deletable: bool = False
    ) -> Iterator[NodeAttributes]:
        if isinstance(node, Param):
            yield NodeAttributes(
                path,
                access="readWrite" if node.d.writable else "readOnly",
                type=node.d.type,
                event_on_change=node.event_on_change,
                alarm_on_change=node.alarm_on_change,
                version=node.version,
            )
        elif isinstance(node, Table):
            yield NodeAttributes(
                path,
                access="readWrite" if node.d.writable else "readOnly",
                type="MultiInstance",
                version=node.version,
            )
            for n, inst in sorted(node.instances.items()):
                yield from self._attributes(f"{path}{n}/", inst, deletable=node.d.writable)
        else:
            if path != "/":
                yield NodeAttributes(
                    path,
                    access="readWrite" if deletable else "readOnly",
                    type="Instance" if node.is_instance else "SingleInstance",
                    version=node.version,
                )
            for name, child in node.children.items():
                sub = path + name if isinstance(child, Param) else f"{path}{name}/"
                yield from self._attributes(sub, child)

    def set_attributes(self, nodes: Sequence[NodeAttributes]) -> str:
        """Only EventOnChange and AlarmOnChange are writable (706 otherwise); all or nothing."""
        self._check_busy()
        staged: list[tuple[Param, NodeAttributes]] = []
        for na in nodes:
            found = self._resolve(self.root, na.path)
            if na.extra:
                raise UpnpError(706, f"{na.path}: attribute {na.extra[0][0]} is not writable")
            for path, node in found:
                for _leaf, param, _parent in self._leaves(path, node):
                    current = next(self._attributes(_leaf, param))
                    for attr in ("access", "type", "version"):
                        want = getattr(na, attr)
                        if want is not None and want != getattr(current, attr):
                            raise UpnpError(706, f"{na.path}: {attr} is not writable")
                    staged.append((param, na))
        for param, na in staged:
            if na.event_on_change is not None:
                param.event_on_change = na.event_on_change
            if na.alarm_on_change is not None:
                param.alarm_on_change = na.alarm_on_change
        self._attr_version += 1
        self.attribute_values_update = _stamp_text(self._attr_version, self.clock())
        self._emit({"AttributeValuesUpdate": self.attribute_values_update})
        return CHANGES_APPLIED

    def get_configuration_update(self) -> str:
        return self.configuration_update

    def get_current_configuration_version(self) -> int:
        return self.version

    def get_supported_data_models_update(self) -> str:
        return self.supported_data_models_update

    def get_supported_parameters_update(self) -> str:
        return self.supported_parameters_update

    def get_attribute_values_update(self) -> str:
        return self.attribute_values_update

    def get_inconsistent_status(self) -> bool:
        return self.inconsistent

    def get_alarms_enabled(self) -> bool:
        return self.alarms_enabled

    def set_alarms_enabled(self, enabled: bool) -> None:
        self._check_busy()
        if enabled != self.alarms_enabled:
            self.alarms_enabled = enabled
            self._emit({"AlarmsEnabled": "1" if enabled else "0"})

    # -- state and hooks --

    def state_variables(self) -> dict[str, str]:
        """Current values of the CMS evented variables (the GENA initial event)."""
        return {
            "ConfigurationUpdate": self.configuration_update,
            "SupportedDataModelsUpdate": self.supported_data_models_update,
            "SupportedParametersUpdate": self.supported_parameters_update,
            "AttributeValuesUpdate": self.attribute_values_update,
            "InconsistentStatus": "1" if self.inconsistent else "0",
            "AlarmsEnabled": "1" if self.alarms_enabled else "0",
        }

    def value(self, path: str) -> str:
        """One parameter's value (for the lab's own use: identity, SoftwareVersion…)."""
        (pv,) = self._get_values([path])
        return pv.value

    def _emit(self, variables: dict[str, str], paths: Iterable[str] = ()) -> None:
        change = ModelChange(dict(variables), tuple(paths))
        for hook in list(self.changes):
            hook(change)


def _stamp(obj: Obj, version: int) -> None:
    for child in obj.children.values():
        if isinstance(child, Param):
            child.version = version
        elif isinstance(child, Obj):
            child.version = version
            _stamp(child, version)
        else:
            child.version = version
