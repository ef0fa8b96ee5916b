"""Forced Inform values read together with a value change (issue 13: storms).

A ConfigurationUpdate makes the proxier re-read the notified parameters (`notify.py`), and
the "4 VALUE CHANGE" Inform that follows at once reads the Forced Inform parameters (TR-069
Table 7 and A.3.3.1: every Inform carries them) from the same device. Reading both in ONE
CMS::GetValues saves a SOAP round trip per change for the proxier and for the device: under
a storm of 100 changes, 100 requests fewer.

The forced values are handed over to the next GetValues that asks for no more than them,
once, within `ttl` seconds, and only while no other action went to the device in between (a
SetValues could have changed them; the backend calls `clear`). Otherwise the device is asked
again, as before. A device that refuses one of the forced paths in the combined read is read
without them from then on, so a change is never lost to a forced parameter it lacks.

Sans-IO apart from the reader passed in; time is `now`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container, Iterable, Mapping, Sequence

from proxier.cwmp.engine import FORCED_INFORM_FROM_BACKEND
from proxier.cwmp.rpc import CwmpFaultError
from proxier.upnp.device import ParameterValue

#: Seconds a handed-over read stays good: the Inform of a change normally starts within
#: milliseconds; behind a queue of sessions (acs.max_parallel_sessions) it reads afresh.
HANDOFF_TTL = 2.0

Reader = Callable[[Sequence[str]], Awaitable[Sequence[ParameterValue]]]


class ReadHandoff:
    """Values of the forced parameters read with a change, waiting for the Inform's read."""

    __slots__ = ("_at", "_values", "refused")

    def __init__(self) -> None:
        self._values: dict[str, ParameterValue] | None = None
        self._at = 0.0
        #: the device refused a combined read once: no more extra paths
        self.refused = False

    async def read(
        self, paths: Sequence[str], forced: Iterable[str], get: Reader, now: float
    ) -> Sequence[ParameterValue]:
        """`get(paths)`, with the `forced` paths added to the same request; their values
        are kept for `take`. What is returned may hold more than `paths`."""
        wanted = set(paths)
        extra = [] if self.refused else [p for p in forced if p not in wanted]
        if not extra:
            got = await get(paths)
            self.put(got, now)
            return got
        try:
            got = await get([*paths, *extra])
        except CwmpFaultError:
            self.refused = True
            self.clear()
            return await get(paths)
        self.put(got, now)
        return got

    def put(self, got: Iterable[ParameterValue], now: float) -> None:
        self._values = {pv.path: pv for pv in got}
        self._at = now

    def clear(self) -> None:
        self._values = None

    def take(
        self, content: Sequence[str], now: float, ttl: float = HANDOFF_TTL
    ) -> list[ParameterValue] | None:
        """The kept values of exactly `content`, once; None when they are not all there,
        too old, or gone (then the caller asks the device)."""
        values, self._values = self._values, None
        if values is None or now - self._at > ttl or not content:
            return None
        try:
            return [values[path] for path in content]
        except KeyError:
            return None


def forced_paths(
    plain: Mapping[str, str],
    answered: Container[str],
    names: Iterable[str] = FORCED_INFORM_FROM_BACKEND,
) -> list[str]:
    """The UPnP paths of the forced `names` the device has answered before (`_GpvCache`:
    `plain` once an Inform read them, `answered` once the device gave a value): a name the
    device lacks (RootDataModelVersion on most) never joins a change's read."""
    return [upnp for name in names if (upnp := plain.get(name)) is not None and upnp in answered]
