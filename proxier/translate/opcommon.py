"""Small pieces shared by the TR-330 operations modules (diagnostics, firmware, logs).

Kept apart so `diagnostics.py`, `firmware.py` and `logs.py` each keep one job: the CWMP
fault exception with its standard FaultString, UPnP ID-list parsing, "does this device's
SCPD list that action" and the persistence interface the firmware tracker writes to.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from typing import Protocol, TypeVar

from proxier.cwmp.faults import fault
from proxier.cwmp.rpc import CwmpFaultError, SetParameterValuesFault
from proxier.logsafe import get_logger

log = get_logger(__name__)

T = TypeVar("T")


class KeyValueStore(Protocol):
    """Durable string key/value pairs (`proxier.cwmp.store.DeviceStore` is one)."""

    def kv_get(self, key: str) -> str | None: ...
    def kv_set(self, key: str, value: str) -> None: ...
    def kv_delete(self, key: str) -> None: ...
    def kv_items(self, prefix: str = "") -> dict[str, str]: ...


class MemoryKeyValueStore:
    """A `KeyValueStore` in memory (tests, or a device whose state need not survive)."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def kv_get(self, key: str) -> str | None:
        return self.data.get(key)

    def kv_set(self, key: str, value: str) -> None:
        self.data[key] = value

    def kv_delete(self, key: str) -> None:
        self.data.pop(key, None)

    def kv_items(self, prefix: str = "") -> dict[str, str]:
        return {k: v for k, v in sorted(self.data.items()) if k.startswith(prefix)}


def cwmp_error(
    code: int, detail: str = "", details: tuple[SetParameterValuesFault, ...] = ()
) -> CwmpFaultError:
    """The exception answering an RPC with fault `code` (standard FaultString + detail)."""
    f = fault(code, detail, details)
    return CwmpFaultError(f.fault_code, f.fault_string, f.set_parameter_values_fault)


_ID_SPLIT = re.compile(r"[\s,]+")


def parse_ids(text: str) -> set[int]:
    """A UPnP ID list (TestIDs, OperationIDs: comma-separated ui4, reference §3.1/§4.1,
    whitespace tolerated); entries that are not numbers are ignored."""
    out = set()
    for item in _ID_SPLIT.split(text.strip()):
        if item.isdigit():
            out.add(int(item))
    return out


def supports(service: object, action: str) -> bool:
    """Whether the device's SCPD lists `action` (clients without an SCPD say yes)."""
    check = getattr(service, "supports", None)
    if callable(check):
        return bool(check(action))
    return True


async def bounded(awaitable: Awaitable[T], seconds: float) -> T:
    """Await one device call, at most `seconds` (TimeoutError after that)."""
    async with asyncio.timeout(seconds):
        return await awaitable
