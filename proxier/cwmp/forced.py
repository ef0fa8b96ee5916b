"""Reading the Forced Inform parameters when the backend lacks some of them (TR-069 §3.7.1.5
Table 6 forced parameters; a name the device does not hold is 9005).

One GetParameterValues for all of them is the common case. When it fails with 9005 the
missing names are found one at a time and left out from then on, as before; but after each
missing name the names left are asked together again (issue 13, bootstrap: a device
without `Device.RootDataModelVersion`, the first forced name, cost one request per forced
name instead of two, on both the device and the proxier, for every device of a fleet).
First the names but the first are asked together: when they are read, the first is the
missing one (that device: 2 requests in all instead of 3).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from proxier.cwmp.rpc import CwmpFaultError, ParameterValueStruct
from proxier.logsafe import get_logger

log = get_logger(__name__)

Read = Callable[[Sequence[str]], Awaitable[list[ParameterValueStruct]]]


async def read_forced_separately(
    read: Read,
    names: Sequence[str],
    missing: set[str],
    last: Mapping[str, ParameterValueStruct],
) -> list[ParameterValueStruct]:
    """The values of `names`, whose joint read failed with 9005: each name found missing
    is added to `missing`; once the backend fails otherwise, the values in `last` stand
    for the names not read yet."""
    values: list[ParameterValueStruct] = []
    rest = list(names)
    gave_up = False  # the device failed otherwise than 9005 for rest[1:]
    if len(rest) > 1:
        # All but the first, together: when they are read, the first is the missing one
        # (one request saved for the common case of a single missing name, issue 13).
        try:
            values = await read(rest[1:])
        except CwmpFaultError as exc:  # one at a time below
            gave_up = exc.fault.fault_code != 9005
        except Exception:
            gave_up = False  # logged below, when its names are read again
        else:
            missing.add(rest[0])
            return values
    together = False  # the names left are asked in one read (after a missing name)
    known_failing = len(rest) > 1  # rest[1:] was just asked together, in vain
    while rest:
        if together and known_failing and gave_up:
            return values + [last[n] for n in rest if n in last]  # as if asked again
        if together and len(rest) > 1 and not known_failing:
            try:
                values.extend(await read(rest))
                return values
            except CwmpFaultError as exc:
                if exc.fault.fault_code != 9005:
                    return values + [last[n] for n in rest if n in last]
            except Exception:
                log.exception("reading %s failed", ", ".join(rest))
                return values + [last[n] for n in rest if n in last]
        together = False
        name = rest.pop(0)
        known_failing = known_failing and name == names[0]
        try:
            values.extend(await read([name]))
            continue
        except CwmpFaultError as exc:
            if exc.fault.fault_code == 9005:
                missing.add(name)
                together = True
                continue
        except Exception:
            log.exception("reading %s failed", name)
        return values + [last[n] for n in (name, *rest) if n in last]
    return values
