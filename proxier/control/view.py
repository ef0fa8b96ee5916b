"""How a virtual device looks to an operator: the JSON of `status`, the API and the console.

Never a credential: the Connection Request URL's secret path is masked unless asked for.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from proxier.control.actions import Sighting
from proxier.control.activity import ActivityLog
from proxier.virtual.device import VirtualDevice
from proxier.virtual.registry import VirtualDeviceRecord

MASK = "***"
#: ManagementServer leaves the console may show (the rest are credentials or noise).
SHOWN_MS = (
    "URL",
    "PeriodicInformEnable",
    "PeriodicInformInterval",
    "ParameterKey",
    "ConnectionRequestURL",
)


def mask_url(url: str) -> str:
    """http://host:port/cr/<secret> → http://host:port/cr/*** (the last segment is the
    device's token: whoever knows it may knock, so it is shown only on request)."""
    if not url:
        return ""
    parts = urlsplit(url)
    head = parts.path.rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, f"{head}/{MASK}", "", ""))


def without_password(url: str) -> str:
    """An ACS URL as shown to people: a password in it becomes ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{MASK}@{host}"))


def identity(rec: VirtualDeviceRecord) -> dict[str, Any]:
    """A VirtualDevice table row as the API shows it (TR-330 §4.3.1 identity columns)."""
    return {
        "instance": rec.instance,
        "id": rec.key.id,
        "manufacturer": rec.manufacturer,
        "oui": rec.key.oui,
        "product_class": rec.key.product_class,
        "serial_number": rec.key.serial_number,
        "udns": list(rec.udns),
        "location": rec.location,
        "online": rec.online,
    }


def summary(
    device: VirtualDevice,
    activity: ActivityLog,
    security: str,
    *,
    secrets: bool = False,
    security_detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    engine = device.engine
    last = activity.last_session.get(device.id)
    url = device.connection_request_url
    return {
        **identity(device.record),
        "online": device.online,
        "reason": activity.reason.get(
            device.id, "" if device.online else "not discovered since start"
        ),
        "security": security,
        "security_detail": security_detail or {},
        "last_session": None if last is None else last.as_dict(),
        "next_periodic_inform": engine.next_periodic_inform if engine is not None else None,
        "pending_events": [e.code for e in device.store.events()],
        "connection_request_url": url if secrets else mask_url(url),
    }


def detail(
    device: VirtualDevice,
    activity: ActivityLog,
    security: str,
    *,
    secrets: bool = False,
    security_detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary plus what the console shows on a device page."""
    out = summary(device, activity, security, secrets=secrets, security_detail=security_detail)
    engine = device.engine
    values = {
        "Device.ManagementServer." + leaf: engine.setting(leaf) if engine is not None else ""
        for leaf in SHOWN_MS
    }
    values["Device.ManagementServer.ConnectionRequestURL"] = out["connection_request_url"]
    values["Device.ManagementServer.URL"] = without_password(values["Device.ManagementServer.URL"])
    out["parameters"] = values
    #: UPnP DM values last read from the device for notification (TR-330 §4.4, A.3.2.4).
    out["values_last_read"] = device.store.notified_values()
    out["sessions"] = [a.as_dict() for a in activity.recent(kinds=("session",), device=device.id)]
    out["events"] = [a.as_dict() for a in activity.recent(kinds=("event",), device=device.id)]
    return out


def held_back(sighting: Sighting, security: str, security_detail: dict[str, Any]) -> dict[str, Any]:
    """A device the privacy gate holds back, in the shape of a detailed summary: no DeviceId
    yet (named by its UDN, instance 0), nothing sent to the ACS (TR-330 §2.4)."""
    return {
        "instance": 0,
        "id": sighting.udn,
        "manufacturer": "",
        "oui": "",
        "product_class": "",
        "serial_number": "",
        "udns": [sighting.udn],
        "location": sighting.location,
        "online": False,
        "privacy": sighting.privacy,
        "reason": "held back until approved (privacy.mode = approve): nothing sent to the ACS",
        "security": security,
        "security_detail": security_detail,
        "last_session": None,
        "next_periodic_inform": None,
        "pending_events": [],
        "connection_request_url": "",
        "parameters": {},
        "parameters_last_read": {},
        "values_last_read": {},
        "sessions": [],
        "events": [],
    }
