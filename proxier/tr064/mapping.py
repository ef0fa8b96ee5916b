"""mappings/tr064.toml: TR-064 actions → Device:2 parameters, loaded and checked row by row.

Sans-IO: `load_mapping` reads the table; `Mapping.expand` turns it into the concrete
parameters of one device, given which service instances and actions its SCPDs offer.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from proxier.translate.tables import mappings_dir

TYPES = frozenset(
    {"xsd:string", "xsd:boolean", "xsd:unsignedInt", "xsd:int", "xsd:unsignedLong", "xsd:dateTime"}
)
_ACTION = re.compile(r"^[A-Za-z][\w-]*:[A-Za-z][\w-]*$")


class MappingError(ValueError):
    """A bad row; the message names the file and the row."""


@dataclass(frozen=True, slots=True)
class ParamRow:
    path: str
    type: str
    get: tuple[str, str] | None  # (service name, action)
    out: str
    set: tuple[str, str] | None
    inp: str
    hidden: bool
    const: str | None

    @property
    def writable(self) -> bool:
        return self.set is not None


@dataclass(frozen=True, slots=True)
class ObjectRow:
    path: str  # with "{i}"
    service: str  # one instance per service instance ("WLANConfiguration"), or ""
    table: str  # a TR-064 list ("Hosts"), or ""
    count: tuple[str, str] | None
    count_out: str
    entry: tuple[str, str] | None
    key: str
    number_of_entries: str


@dataclass(frozen=True, slots=True)
class Concrete:
    """One parameter of one device: its row, the service instance and table instance."""

    name: str
    row: ParamRow
    service: str  # service key "WLANConfiguration:2" ("" for table rows)
    instance: int = 0  # the {i} of a table row


@dataclass(frozen=True, slots=True)
class Tr064Mapping:
    parameters: tuple[ParamRow, ...]
    objects: tuple[ObjectRow, ...]

    def object_of(self, row: ParamRow) -> ObjectRow | None:
        for obj in self.objects:
            if row.path.startswith(obj.path + "."):
                return obj
        return None

    def expand(
        self,
        instances: Mapping[str, list[int]],
        offers: Callable[[str, str], bool],
        tables: Mapping[str, list[int]],
    ) -> dict[str, Concrete]:
        """Every parameter the device has: `instances` = service name → instance numbers,
        `offers(service_key, action)`, `tables` = table name → CWMP instance numbers."""
        out: dict[str, Concrete] = {}
        for row in self.parameters:
            obj = self.object_of(row)
            if obj is not None and obj.table:
                if obj.entry is None or not offers(f"{obj.entry[0]}:1", obj.entry[1]):
                    continue
                for n in tables.get(obj.table, []):
                    name = row.path.replace("{i}", str(n))
                    out[name] = Concrete(name, row, f"{obj.entry[0]}:1", n)
                continue
            numbers = instances.get(obj.service, []) if obj is not None else [1]
            reads = row.get or row.set
            for n in numbers:
                name = row.path.replace("{i}", str(n))
                service = f"{reads[0]}:{n}" if reads is not None else ""
                if row.get is not None and not offers(service, row.get[1]):
                    continue  # the device's SCPD lacks the action: no such parameter (§6)
                out[name] = Concrete(name, row, service)
        return out


def _action(value: Any, where: str) -> tuple[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ACTION.match(value):
        raise MappingError(f'{where}: expected "Service:Action", got {value!r}')
    service, action = value.split(":")
    return service, action


def _str(entry: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str):
        raise MappingError(f"{where}: {key!r} must be a string")
    return value


def load_mapping(path: Path) -> Tr064Mapping:
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MappingError(f"{path}: {exc}") from None
    params: list[ParamRow] = []
    for n, entry in enumerate(doc.get("parameter", []), 1):
        where = f"{path.name} parameter row {n}"
        kind = _str(entry, "type", where)
        if kind not in TYPES:
            raise MappingError(f"{where}: unknown type {kind!r}")
        const = entry.get("const")
        row = ParamRow(
            path=_str(entry, "path", where),
            type=kind,
            get=_action(entry.get("get"), where),
            out=_str(entry, "out", where, ""),
            set=_action(entry.get("set"), where),
            inp=_str(entry, "in", where, ""),
            hidden=bool(entry.get("hidden", False)),
            const=str(const) if const is not None else None,
        )
        if not row.path.startswith("Device.") or row.path.endswith("."):
            raise MappingError(f"{where}: path must name a Device. parameter")
        if row.set is not None and not row.inp:
            raise MappingError(f"{where}: 'set' needs 'in'")
        if row.const is None and not row.out:
            raise MappingError(f"{where}: needs 'out' or 'const'")
        params.append(row)
    objects: list[ObjectRow] = []
    for n, entry in enumerate(doc.get("object", []), 1):
        where = f"{path.name} object row {n}"
        obj = ObjectRow(
            path=_str(entry, "path", where),
            service=_str(entry, "service", where, ""),
            table=_str(entry, "table", where, ""),
            count=_action(entry.get("count"), where),
            count_out=_str(entry, "count_out", where, ""),
            entry=_action(entry.get("entry"), where),
            key=_str(entry, "key", where, ""),
            number_of_entries=_str(entry, "number_of_entries", where, ""),
        )
        if not obj.path.endswith(".{i}") or bool(obj.service) == bool(obj.table):
            raise MappingError(f"{where}: path ends in .{{i}}; one of 'service' or 'table'")
        if obj.table and (obj.count is None or obj.entry is None or not obj.key):
            raise MappingError(f"{where}: a table needs count, entry and key")
        objects.append(obj)
    return Tr064Mapping(tuple(params), tuple(objects))


@cache
def default_mapping() -> Tr064Mapping:
    return load_mapping(mappings_dir() / "tr064.toml")
