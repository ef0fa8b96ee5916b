"""Parameter values the ACS last read from each virtual device (console, device detail).

Kept from the GetParameterValuesResponses the proxier sent, in memory, bounded per device:
what an operator wants to see next to the device ("what did the ACS get?"), without reading
the device again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from proxier.cwmp.rpc import CpeRequest, CpeResponse, Fault, GetParameterValuesResponse

PER_DEVICE = 500


class Readings:
    def __init__(self, clock: Callable[[], float], per_device: int = PER_DEVICE) -> None:
        self._clock = clock
        self._per_device = per_device
        self._values: dict[str, OrderedDict[str, tuple[str, str, float]]] = {}

    def answered(self, device: str, request: CpeRequest, answer: CpeResponse | Fault) -> None:
        if not isinstance(answer, GetParameterValuesResponse):
            return
        values = self._values.setdefault(device, OrderedDict())
        now = self._clock()
        for pv in answer.parameter_list:
            values.pop(pv.name, None)
            values[pv.name] = (pv.value, pv.type, now)
        while len(values) > self._per_device:
            values.popitem(last=False)

    def of(self, device: str) -> dict[str, dict[str, object]]:
        """name → {value, type, time}, names sorted."""
        values = self._values.get(device, OrderedDict[str, tuple[str, str, float]]())
        return {
            name: {"value": value, "type": kind, "time": when}
            for name, (value, kind, when) in sorted(values.items())
        }

    def forget(self, device: str) -> None:
        self._values.pop(device, None)
