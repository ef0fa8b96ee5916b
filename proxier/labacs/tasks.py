"""Lab ACS tasks as JSON ⇄ CWMP RPC objects, and the GenieACS-style device id.

A task is `{"name": "GetParameterValues", "parameterNames": [...]}`: the RPC name (either
case of the first letter, GenieACS writes `getParameterValues`) and its Annex A arguments in
camelCase. Nested structs are objects (camelCase keys) or positional lists, so
`{"name":"SetParameterValues","parameterList":[["Device.X","1","xsd:unsignedInt"]]}` works;
GenieACS's `parameterValues` is accepted as an alias of `parameterList`. Results come back
the same way: the response's fields in camelCase plus `"name"`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from typing import Any

from proxier.cwmp import rpc
from proxier.cwmp.deviceid import acs_device_id
from proxier.cwmp.rpc import DeviceIdStruct, Fault, ParameterValueStruct
from proxier.cwmp.xsdtypes import format_datetime, parse_datetime


class TaskError(ValueError):
    """The task JSON does not describe a valid RPC; the message says which field and why."""


#: RPCs an ACS may ask a CPE to run (TR-069 Annex A.3.2 / A.4.1), by name.
REQUESTS: dict[str, type[Any]] = {
    cls.__name__: cls for cls in typing.get_args(rpc.CpeRequest) if isinstance(cls, type)
}

_ALIASES = {"parameterValues": "parameterList"}


def device_id(device: DeviceIdStruct) -> str:
    """GenieACS id `OUI-ProductClass-SerialNumber`, escaped (proxier.cwmp.deviceid)."""
    return acs_device_id(device.oui, device.product_class, device.serial_number)


def _snake(name: str) -> str:
    out = []
    for i, char in enumerate(name):
        if char.isupper() and i and (not name[i - 1].isupper()):
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(rpc))


# --- JSON → RPC ------------------------------------------------------------------------------


def task_request(task: dict[str, Any]) -> Any:
    """Build the CPE request object a task JSON describes, or raise TaskError."""
    if not isinstance(task, dict):
        raise TaskError("a task is a JSON object")
    name = task.get("name")
    if not isinstance(name, str) or not name:
        raise TaskError('a task needs a "name" (an RPC such as "GetParameterValues")')
    cls = REQUESTS.get(name[:1].upper() + name[1:])
    if cls is None:
        raise TaskError(f"unknown RPC {name!r}; known: {', '.join(sorted(REQUESTS))}")
    args = {_ALIASES.get(k, k): v for k, v in task.items() if k != "name"}
    return _build(cls, args, name)


def _build(cls: type[Any], value: Any, where: str) -> Any:
    fields = dataclasses.fields(cls)
    hints = _hints(cls)
    if isinstance(value, list):
        if len(value) > len(fields):
            raise TaskError(f"{where}: at most {len(fields)} values")
        value = {_camel(f.name): v for f, v in zip(fields, value, strict=False)}
    if not isinstance(value, dict):
        raise TaskError(f"{where}: expected an object")
    known = {_camel(f.name) for f in fields}
    extra = set(value) - known
    if extra:
        raise TaskError(f"{where}: unknown field(s) {sorted(extra)}; expected {sorted(known)}")
    kwargs: dict[str, Any] = {}
    for f in fields:
        key = _camel(f.name)
        if key in value:
            kwargs[f.name] = _convert(hints[f.name], value[key], f"{where}.{key}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            if cls is ParameterValueStruct and f.name == "type":
                continue
            raise TaskError(f"{where}: missing {key!r}")
    if cls is ParameterValueStruct and "type" not in kwargs:
        kwargs["type"] = _guess_type(value.get("value"))
    return cls(**kwargs)


def _guess_type(value: Any) -> str:
    if isinstance(value, bool):
        return "xsd:boolean"
    if isinstance(value, int):
        return "xsd:int" if value < 0 else "xsd:unsignedInt"
    return "xsd:string"


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        if not isinstance(value, list):
            raise TaskError(f"{where}: expected a list")
        return tuple(_convert(item_hint, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        raise TaskError(f"{where}: unsupported field type")
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _build(hint, value, where)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if value in ("true", "1", 1):
            return True
        if value in ("false", "0", 0):
            return False
        raise TaskError(f"{where}: expected a boolean")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise TaskError(f"{where}: expected an integer")
    if hint is str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | str):
            return str(value)
        raise TaskError(f"{where}: expected a string")
    if hint is datetime:
        try:
            return parse_datetime(str(value))
        except ValueError as exc:
            raise TaskError(f"{where}: {exc}") from None
    raise TaskError(f"{where}: unsupported field type {hint!r}")


# --- RPC → JSON ------------------------------------------------------------------------------


def to_json(obj: Any) -> Any:
    """A message (or part of one) as JSON-ready data with camelCase keys."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {_camel(f.name): to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [to_json(v) for v in obj]
    if isinstance(obj, datetime):
        return format_datetime(obj)
    return obj


def result_json(message: Any) -> dict[str, Any]:
    """A CPE answer as task result JSON: `{"name": "GetParameterValuesResponse", ...}`."""
    data = to_json(message)
    assert isinstance(data, dict)
    return {"name": "Fault" if isinstance(message, Fault) else type(message).__name__, **data}


def expected_response(request: Any) -> type[Any] | None:
    """The Annex A response class answering `request` (None if it has none, e.g.
    ScheduleDownload, which proxier always faults)."""
    cls = getattr(rpc, type(request).__name__ + "Response", None)
    return cls if isinstance(cls, type) else None
