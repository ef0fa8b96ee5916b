"""The declarative TR-330 tables in `mappings/`, loaded and checked once.

The tables are TOML so each row can be read against TR-330 by eye (Table 1 events, Table 2
errors, Table 3 firmware faults, CMS ⇄ xsd types, the BMS-backed diagnostics objects, data
model roots and DeviceInfo identity). Every file is validated at load; a bad row raises
`MappingError` naming the file and the row, so a broken table fails at start-up, not in the
middle of an ACS session.

Where the files live: a single source, the repository's `mappings/` directory. A source or
editable install finds it next to the package; a wheel install finds the copy that
`[tool.setuptools.data-files]` puts under `<prefix>/share/proxier/mappings`;
`PROXIER_MAPPINGS` (a directory) overrides both.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

FILES = (
    "table1_events",
    "table2_errors",
    "table3_firmware",
    "types",
    "diagnostics",
    "roots",
    "deviceinfo",
)

#: The CPE methods whose fault codes Table 2 governs.
TABLE2_RPCS = (
    "GetParameterNames",
    "GetParameterValues",
    "SetParameterValues",
    "GetParameterAttributes",
    "SetParameterAttributes",
    "AddObject",
    "DeleteObject",
)

XSD_TYPES = frozenset(
    {
        "xsd:string",
        "xsd:boolean",
        "xsd:int",
        "xsd:unsignedInt",
        "xsd:long",
        "xsd:unsignedLong",
        "xsd:dateTime",
        "xsd:base64",
        "xsd:hexBinary",
    }
)

#: Inform event codes Table 1 may name (TR-069 Table 7 / reference cwmp-proxy.md §4.3).
EVENT_CODES = frozenset(
    {
        "0 BOOTSTRAP",
        "1 BOOT",
        "4 VALUE CHANGE",
        "7 TRANSFER COMPLETE",
        "8 DIAGNOSTICS COMPLETE",
        "10 AUTONOMOUS TRANSFER COMPLETE",
        "M Reboot",
        "M Download",
        "M ScheduleDownload",
        "M Upload",
    }
)
#: Table 1 triggers (`on`) and the conditions (`when`) the code reports with each, besides
#: "always" (any trigger) and "announced:<value>" (ssdp:alive): a row naming a pair the code
#: never reports would be dead, so the loader refuses it.
TRIGGERS: dict[str, frozenset[str]] = {
    "ssdp:alive": frozenset({"first_discovery", "acs_reboot"}),
    "acs_url_changed": frozenset(),
    "CMS:ConfigurationUpdate": frozenset(),
    "SMS:OperationIDs": frozenset({"acs_operation_finished", "autonomous_firmware_finished"}),
    "BMS:ActiveTestIDs": frozenset({"acs_test_finished"}),
}
CONDITIONS = frozenset({"always"}).union(*TRIGGERS.values())
#: Events the CWMP engine raises itself when handed what carries them (the changed values,
#: the Download's TransferComplete, the AutonomousTransferComplete): only the (trigger,
#: condition) that produces that payload may name them.
CARRIED_BY: dict[str, tuple[str, str]] = {
    "4 VALUE CHANGE": ("CMS:ConfigurationUpdate", "always"),
    "7 TRANSFER COMPLETE": ("SMS:OperationIDs", "acs_operation_finished"),
    "M Download": ("SMS:OperationIDs", "acs_operation_finished"),
    "10 AUTONOMOUS TRANSFER COMPLETE": ("SMS:OperationIDs", "autonomous_firmware_finished"),
}
#: Codes the engine only delivers together (TR-069 Table 7: "M Download" brings "7 TRANSFER
#: COMPLETE", which never travels alone): a table naming one must name the other.
PAIRED = ("7 TRANSFER COMPLETE", "M Download")
#: Where a row's CommandKey comes from → the condition that supplies it ("" = none).
COMMAND_KEYS = {"": "", "reboot": "acs_reboot", "operation": "acs_operation_finished"}
DEVICE_ID_FIELDS = frozenset({"manufacturer", "oui", "product_class", "serial_number"})


class MappingError(ValueError):
    """A mapping file is missing or has a bad row; the message names file and row."""


# --- table types -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventRow:
    """Table 1: `event` goes into the Inform when `on` happens and any of `when` holds."""

    event: str
    on: str
    when: tuple[str, ...]
    command_key: str = ""


@dataclass(frozen=True, slots=True)
class EventTable:
    rows: tuple[EventRow, ...]
    cache_announcements: frozenset[str]

    def raised(self, trigger: str, conditions: Collection[str]) -> tuple[EventRow, ...]:
        """Table 1: the rows whose `on` is `trigger` and any of whose `when` conditions hold
        (in file order). The one place a trigger and its conditions become Inform events."""
        if not trigger:
            return ()
        return tuple(
            row for row in self.rows if row.on == trigger and any(c in conditions for c in row.when)
        )


@dataclass(frozen=True, slots=True)
class ErrorRow:
    low: int
    high: int
    description: str
    cwmp: int


@dataclass(frozen=True, slots=True)
class ErrorTable:
    """Table 2 plus the per-RPC adjustments that keep each answer inside TR-069 Annex A."""

    rows: tuple[ErrorRow, ...]
    unknown: int
    transport: int
    allowed: dict[str, frozenset[int]]
    overrides: dict[tuple[str, int], int]

    def table2(self, upnp_code: int) -> int:
        """The CWMP fault Table 2 itself gives (single codes beat ranges; else the note)."""
        if upnp_code == 0:
            return self.transport
        for row in self.rows:
            if row.low == row.high == upnp_code:
                return row.cwmp
        for row in self.rows:
            if row.low <= upnp_code <= row.high:
                return row.cwmp
        return self.unknown

    def cwmp_fault(self, upnp_code: int, rpc: str) -> int:
        """The CWMP fault code answering `rpc` when the device returned `upnp_code`."""
        override = self.overrides.get((rpc, upnp_code))
        if override is not None:
            return override
        return self.table2(upnp_code)


@dataclass(frozen=True, slots=True)
class FirmwareTable:
    """Table 3: SMS::Update errors and GetOperationInfo ErrorDescriptions → FaultCode."""

    update_errors: dict[int, int]
    operation_errors: dict[str, int]
    unknown: int
    transport: int

    def update_fault(self, upnp_code: int) -> int:
        if upnp_code == 0:
            return self.transport
        return self.update_errors.get(upnp_code, self.unknown)

    def operation_fault(self, error_description: str) -> int:
        return self.operation_errors.get(error_description, self.unknown)


@dataclass(frozen=True, slots=True)
class TypeTable:
    """CMS Type attribute ⇄ xsi:type (reference upnp-dm.md §2.9)."""

    cms_to_xsd: dict[str, str]
    xsd_to_cms: dict[str, str]
    objects: frozenset[str]
    default: str

    def xsd(self, cms_type: str | None) -> str:
        if cms_type is None:
            return self.default
        return self.cms_to_xsd.get(cms_type, self.default)

    def is_object(self, cms_type: str | None) -> bool:
        return cms_type in self.objects


@dataclass(frozen=True, slots=True)
class DiagnosticParameter:
    name: str
    type: str
    writable: bool
    default: str
    argument: str = ""
    result: str = ""


@dataclass(frozen=True, slots=True)
class DiagnosticObject:
    name: str  # CWMP object path ending in "."
    service: str
    start: str
    result: str
    requires: tuple[str, ...]
    parameters: tuple[DiagnosticParameter, ...]


@dataclass(frozen=True, slots=True)
class RootRule:
    uri_prefix: str
    location_base: str
    cwmp: str


@dataclass(frozen=True, slots=True)
class DeviceInfoRow:
    name: str
    type: str
    upnp: tuple[str, ...]
    device_id: str = ""
    forced_inform: bool = False
    writable: bool = False


@dataclass(frozen=True, slots=True)
class Tables:
    events: EventTable
    errors: ErrorTable
    firmware: FirmwareTable
    types: TypeTable
    diagnostics: tuple[DiagnosticObject, ...]
    roots: tuple[RootRule, ...]
    deviceinfo: tuple[DeviceInfoRow, ...]


# --- loading -------------------------------------------------------------------------------


def mappings_dir() -> Path:
    """Where the mapping files are (see the module docstring for the search order)."""
    env = os.environ.get("PROXIER_MAPPINGS")
    if env:
        return Path(env)
    source = Path(__file__).resolve().parents[2] / "mappings"
    if (source / "table2_errors.toml").is_file():
        return source
    return Path(sys.prefix) / "share" / "proxier" / "mappings"


@cache
def default_tables() -> Tables:
    """The tables from `mappings_dir()`, loaded and validated once per process."""
    return load_tables(mappings_dir())


def load_tables(directory: Path) -> Tables:
    docs = {name: _read(directory, name) for name in FILES}
    return Tables(
        events=_events(docs["table1_events"]),
        errors=_errors(docs["table2_errors"]),
        firmware=_firmware(docs["table3_firmware"]),
        types=_types(docs["types"]),
        diagnostics=_diagnostics(docs["diagnostics"]),
        roots=_roots(docs["roots"]),
        deviceinfo=_deviceinfo(docs["deviceinfo"]),
    )


class _Doc:
    """One parsed file, able to raise errors that name it."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    def fail(self, where: str, message: str) -> MappingError:
        return MappingError(f"{self.path.name}: {where}: {message}")

    def rows(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        items = self.data.get(key)
        if not isinstance(items, list) or not items:
            raise self.fail(f"[[{key}]]", "missing or empty")
        out = []
        for i, item in enumerate(items, 1):
            where = f"[[{key}]] row {i}"
            if not isinstance(item, dict):
                raise self.fail(where, "not a table")
            out.append((where, item))
        return out

    def get(
        self, item: dict[str, Any], key: str, kind: type, where: str, default: Any = ...
    ) -> Any:
        if key not in item:
            if default is ...:
                raise self.fail(where, f"missing `{key}`")
            return default
        value = item[key]
        if kind is int and isinstance(value, bool):
            raise self.fail(where, f"`{key}` must be an integer")
        if not isinstance(value, kind):
            raise self.fail(where, f"`{key}` must be {kind.__name__}, got {value!r}")
        return value

    def strings(self, item: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = self.get(item, key, list, where)
        if not value or not all(isinstance(v, str) and v for v in value):
            raise self.fail(where, f"`{key}` must be a non-empty list of strings")
        return tuple(value)


def _read(directory: Path, name: str) -> _Doc:
    path = directory / f"{name}.toml"
    try:
        with path.open("rb") as f:
            return _Doc(path, tomllib.load(f))
    except FileNotFoundError:
        raise MappingError(f"{path}: mapping file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path.name}: not valid TOML: {exc}") from None


def _cwmp_code(doc: _Doc, value: Any, where: str, *, zero: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise doc.fail(where, f"CWMP fault code must be an integer, got {value!r}")
    if not (9000 <= value <= 9899 or (zero and value == 0)):
        raise doc.fail(where, f"{value} is not a CPE fault code (9000-9899)")
    return value


def _events(doc: _Doc) -> EventTable:
    cached = doc.data.get("cache_announcements", [])
    if not isinstance(cached, list) or not all(isinstance(v, str) for v in cached):
        raise doc.fail("cache_announcements", "must be a list of strings")
    rows = []
    for where, item in doc.rows("row"):
        event = doc.get(item, "event", str, where)
        if event not in EVENT_CODES:
            raise doc.fail(where, f"unknown Inform event code {event!r}")
        on = doc.get(item, "on", str, where)
        if on not in TRIGGERS:
            raise doc.fail(where, f"unknown trigger {on!r} (known: {', '.join(TRIGGERS)})")
        when = doc.strings(item, "when", where)
        for cond in when:
            announced = cond.removeprefix("announced:")
            if announced != cond:
                if on != "ssdp:alive" or announced not in cached:
                    raise doc.fail(where, f"unknown condition {cond!r} for {on!r}")
            elif cond not in CONDITIONS:
                raise doc.fail(where, f"unknown condition {cond!r}")
            elif cond != "always" and cond not in TRIGGERS[on]:
                raise doc.fail(where, f"condition {cond!r} never holds on {on!r}")
        carrier = CARRIED_BY.get(event)
        if carrier is not None and (on, when) != (carrier[0], (carrier[1],)):
            raise doc.fail(
                where,
                f"{event!r} is delivered with what {carrier[0]!r} when {carrier[1]!r} "
                "carries: only that trigger and condition may raise it",
            )
        key = doc.get(item, "command_key", str, where, "")
        if key not in COMMAND_KEYS:
            raise doc.fail(where, f"unknown command_key source {key!r}")
        if key and any(cond != COMMAND_KEYS[key] for cond in when):
            raise doc.fail(where, f"command_key {key!r} exists only when {COMMAND_KEYS[key]!r}")
        if event.startswith("M ") and not key:
            raise doc.fail(where, f"{event!r} needs the command_key of the method it answers")
        rows.append(EventRow(event, on, when, key))
    events = {row.event for row in rows}
    if any(code in events for code in PAIRED) and not all(code in events for code in PAIRED):
        raise doc.fail("[[row]]", f"{' and '.join(map(repr, PAIRED))} go together (TR-069 Table 7)")
    return EventTable(tuple(rows), frozenset(cached))


def _errors(doc: _Doc) -> ErrorTable:
    unknown = _cwmp_code(doc, doc.data.get("unknown"), "unknown")
    transport = _cwmp_code(doc, doc.data.get("transport"), "transport")
    rows = []
    for where, item in doc.rows("error"):
        spec = doc.get(item, "upnp", str, where)
        m = re.fullmatch(r"(\d{3})(?:-(\d{3}))?", spec)
        if not m:
            raise doc.fail(where, f"`upnp` must be a code or a range lo-hi, got {spec!r}")
        low = int(m.group(1))
        high = int(m.group(2) or low)
        if high < low:
            raise doc.fail(where, f"empty range {spec!r}")
        description = doc.get(item, "description", str, where)
        rows.append(ErrorRow(low, high, description, _cwmp_code(doc, item.get("cwmp"), where)))
    allowed_raw = doc.data.get("allowed")
    if not isinstance(allowed_raw, dict) or set(allowed_raw) != set(TABLE2_RPCS):
        raise doc.fail("[allowed]", f"must list exactly {', '.join(TABLE2_RPCS)}")
    allowed = {
        rpc: frozenset(_cwmp_code(doc, c, f"[allowed] {rpc}") for c in codes)
        for rpc, codes in allowed_raw.items()
    }
    overrides: dict[tuple[str, int], int] = {}
    for where, item in doc.rows("override"):
        rpcs = doc.strings(item, "rpcs", where)
        codes = doc.get(item, "upnp", list, where)
        cwmp = _cwmp_code(doc, item.get("cwmp"), where)
        for rpc in rpcs:
            if rpc not in allowed:
                raise doc.fail(where, f"unknown RPC {rpc!r}")
            for code in codes:
                if not isinstance(code, int):
                    raise doc.fail(where, f"UPnP code must be an integer, got {code!r}")
                overrides[(rpc, code)] = cwmp
    table = ErrorTable(tuple(rows), unknown, transport, allowed, overrides)
    for row in rows:
        for rpc in TABLE2_RPCS:
            for code in (row.low, row.high):
                got = table.cwmp_fault(code, rpc)
                if got not in allowed[rpc]:
                    raise doc.fail(
                        f"[[error]] upnp={row.low}", f"gives {got}, not allowed for {rpc}"
                    )
    return table


def _firmware(doc: _Doc) -> FirmwareTable:
    unknown = _cwmp_code(doc, doc.data.get("unknown"), "unknown")
    transport = _cwmp_code(doc, doc.data.get("transport"), "transport")
    updates = {}
    for where, item in doc.rows("update_error"):
        code = doc.get(item, "upnp", int, where)
        doc.get(item, "description", str, where)
        updates[code] = _cwmp_code(doc, item.get("cwmp"), where)
    operations = {}
    for where, item in doc.rows("operation_error"):
        name = doc.get(item, "error_description", str, where)
        operations[name] = _cwmp_code(doc, item.get("cwmp"), where, zero=True)
    if operations.get("Error_None") != 0:
        raise doc.fail("[[operation_error]]", "Error_None must map to 0 (no fault)")
    return FirmwareTable(updates, operations, unknown, transport)


def _types(doc: _Doc) -> TypeTable:
    objects = doc.data.get("objects")
    if not isinstance(objects, list) or not all(isinstance(v, str) for v in objects):
        raise doc.fail("objects", "must be a list of strings")
    default = doc.data.get("default")
    if default not in XSD_TYPES:
        raise doc.fail("default", f"unknown xsi:type {default!r}")
    to_xsd: dict[str, str] = {}
    to_cms: dict[str, str] = {}
    for where, item in doc.rows("type"):
        xsd = doc.get(item, "xsd", str, where)
        if xsd not in XSD_TYPES:
            raise doc.fail(where, f"unknown xsi:type {xsd!r}")
        if xsd in to_cms:
            raise doc.fail(where, f"{xsd} listed twice")
        names = doc.strings(item, "cms", where)
        for name in names:
            if name in to_xsd or name in objects:
                raise doc.fail(where, f"CMS type {name!r} listed twice")
            to_xsd[name] = xsd
        to_cms[xsd] = names[0]
    return TypeTable(to_xsd, to_cms, frozenset(objects), str(default))


def _diagnostics(doc: _Doc) -> tuple[DiagnosticObject, ...]:
    objects = []
    for where, item in doc.rows("object"):
        name = doc.get(item, "name", str, where)
        if not re.fullmatch(r"Device\.([A-Za-z_][\w-]*\.)+", name):
            raise doc.fail(where, f"object name must be a CWMP object path, got {name!r}")
        service = doc.get(item, "service", str, where)
        if service not in ("BMS", "SMS"):
            raise doc.fail(where, f"service must be BMS or SMS, got {service!r}")
        params = []
        seen = set()
        for i, p in enumerate(doc.get(item, "parameter", list, where), 1):
            pwhere = f"{where} ({name}) parameter {i}"
            if not isinstance(p, dict):
                raise doc.fail(pwhere, "not a table")
            pname = doc.get(p, "name", str, pwhere)
            if not re.fullmatch(r"[A-Za-z_]\w*", pname) or pname in seen:
                raise doc.fail(pwhere, f"bad or repeated parameter name {pname!r}")
            seen.add(pname)
            ptype = doc.get(p, "type", str, pwhere)
            if ptype not in XSD_TYPES:
                raise doc.fail(pwhere, f"unknown xsi:type {ptype!r}")
            params.append(
                DiagnosticParameter(
                    pname,
                    ptype,
                    doc.get(p, "writable", bool, pwhere),
                    doc.get(p, "default", str, pwhere),
                    doc.get(p, "argument", str, pwhere, ""),
                    doc.get(p, "result", str, pwhere, ""),
                )
            )
        if "DiagnosticsState" not in seen:
            raise doc.fail(where, "a diagnostics object needs DiagnosticsState")
        objects.append(
            DiagnosticObject(
                name,
                service,
                doc.get(item, "start", str, where),
                doc.get(item, "result", str, where),
                doc.strings(item, "requires", where),
                tuple(params),
            )
        )
    return tuple(objects)


def _roots(doc: _Doc) -> tuple[RootRule, ...]:
    rules = []
    for where, item in doc.rows("root"):
        base = doc.get(item, "location_base", str, where)
        cwmp = doc.get(item, "cwmp", str, where)
        if not (base.startswith("/") and base.endswith("/")):
            raise doc.fail(where, f"location_base must start and end with '/', got {base!r}")
        if not re.fullmatch(r"Device\.([A-Za-z_][\w-]*\.)*", cwmp):
            raise doc.fail(where, f"cwmp must be Device. or an object below it, got {cwmp!r}")
        rules.append(RootRule(doc.get(item, "uri_prefix", str, where), base, cwmp))
    return tuple(rules)


def _deviceinfo(doc: _Doc) -> tuple[DeviceInfoRow, ...]:
    rows = []
    for where, item in doc.rows("parameter"):
        name = doc.get(item, "name", str, where)
        if not re.fullmatch(r"Device\.DeviceInfo\.[A-Za-z_]\w*", name):
            raise doc.fail(where, f"must name a Device.DeviceInfo parameter, got {name!r}")
        ptype = doc.get(item, "type", str, where)
        if ptype not in XSD_TYPES:
            raise doc.fail(where, f"unknown xsi:type {ptype!r}")
        upnp = doc.strings(item, "upnp", where)
        if not all(p.startswith("/") and not p.endswith("/") for p in upnp):
            raise doc.fail(where, "upnp paths must be absolute parameter paths")
        device_id = doc.get(item, "device_id", str, where, "")
        if device_id and device_id not in DEVICE_ID_FIELDS:
            raise doc.fail(where, f"unknown DeviceId field {device_id!r}")
        rows.append(
            DeviceInfoRow(
                name,
                ptype,
                upnp,
                device_id,
                doc.get(item, "forced_inform", bool, where, False),
                doc.get(item, "writable", bool, where, False),
            )
        )
    return tuple(rows)
