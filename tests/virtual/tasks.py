"""Lab ACS task builders and result readers for the end-to-end RPC tests.

Tasks are the lab ACS's JSON (docs/labacs.md); results are what it recorded. Expectations
about the device are read from the lab device itself, never from the proxier.
"""

from __future__ import annotations

from typing import Any

from proxier.translate.tables import default_tables
from tests.virtual.rig import Rig

TYPES = default_tables().types
ERRORS = default_tables().errors
HOSTS = "Device.Hosts."
HOST = "Device.Hosts.Host."
PM = "Device.NAT.PortMapping."
UPNP_PM = "/BBF/NAT/PortMapping/"
#: The lab model's Host table holds UPnP instances 0, 2, 5: CWMP numbers 1, 2, 3 (TR-330
#: §4.6.1 note: UPnP instances are 0-based, CWMP ones 1-based; the proxier numbers them in
#: the order it first sees them, never by arithmetic).
SPARSE = {1: 0, 2: 2, 3: 5}


def gpn(path: str, next_level: bool) -> dict[str, Any]:
    return {"name": "GetParameterNames", "parameterPath": path, "nextLevel": next_level}


def gpv(*names: str) -> dict[str, Any]:
    return {"name": "GetParameterValues", "parameterNames": list(names)}


def spv(key: str, *items: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "name": "SetParameterValues",
        "parameterList": [list(i) for i in items],
        "parameterKey": key,
    }


def gpa(*names: str) -> dict[str, Any]:
    return {"name": "GetParameterAttributes", "parameterNames": list(names)}


def spa(name: str, notification: int, *, access_list: bool = False) -> dict[str, Any]:
    item = {
        "name": name,
        "notificationChange": not access_list,
        "notification": notification,
        "accessListChange": access_list,
        "accessList": ["Subscriber"] if access_list else [],
    }
    return {"name": "SetParameterAttributes", "parameterList": [item]}


def add(obj: str, key: str = "k") -> dict[str, Any]:
    return {"name": "AddObject", "objectName": obj, "parameterKey": key}


def delete(obj: str, key: str = "k") -> dict[str, Any]:
    return {"name": "DeleteObject", "objectName": obj, "parameterKey": key}


def ok(task: dict[str, Any]) -> dict[str, Any]:
    assert task["status"] == "done", f"{task['args']} → {task['status']} {task['result']}"
    result: dict[str, Any] = task["result"]
    return result


def names(task: dict[str, Any]) -> dict[str, bool]:
    listed = [(p["name"], p["writable"]) for p in ok(task)["parameterList"]]
    assert len(listed) == len(dict(listed)), f"duplicate names in {listed}"
    return dict(listed)


def values(task: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {p["name"]: (p["value"], p["type"]) for p in ok(task)["parameterList"]}


def fault(task: dict[str, Any]) -> tuple[int, list[tuple[str, int]]]:
    assert task["status"] == "fault", f"{task['args']} → {task['status']} {task['result']}"
    result = task["result"]
    detail = [(d["parameterName"], d["faultCode"]) for d in result["setParameterValuesFault"]]
    return result["faultCode"], detail


def upnp_of(model: Any, cwmp: str) -> str:
    """The lab device's path of a CWMP name: the shipped model's two roots (roots.toml), and
    each table's rows numbered 1, 2, … in ascending UPnP order, as a proxier that has
    seen an untouched device numbers them (so Host 1, 2, 3 are UPnP 0, 2, 5)."""
    if cwmp.startswith("Device.X_UPNP-ORG_DM."):
        path, rest = "/UPnP/DM/", cwmp[len("Device.X_UPNP-ORG_DM.") :]
    else:
        path, rest = "/BBF/", cwmp[len("Device.") :]
    for segment in rest.split("."):
        if segment.isdigit():
            found = [p for p in model.get_instances(path, 1) if p.count("/") == path.count("/") + 1]
            segment = (
                sorted(found, key=lambda p: int(p.rstrip("/").rsplit("/", 1)[1]))[int(segment) - 1]
                .rstrip("/")
                .rsplit("/", 1)[1]
            )
        path += segment + "/"
    return path if cwmp.endswith(".") else path.rstrip("/")


async def started(r: Rig) -> str:
    await r.start_proxier()
    dev_id: str = (await r.devices(1))[0]["id"]
    await r.informs(dev_id)  # BOOTSTRAP in, so the next session is a Connection Request's
    return dev_id
