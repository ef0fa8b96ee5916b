"""Reading the Forced Inform parameters when the backend lacks some of them (TR-069 §3.7.1.5
Table 6 forced parameters; a name the device does not hold is 9005).

One GetParameterValues for all of them is the common case. When it fails with 9005 the
missing names are found one at a time and left out from then on, as before; but after each
missing name the names left are asked together again (issue 13, bootstrap: a device
without `Device.RootDataModelVersion`, the first forced name, cost one request per forced
name instead of two, on both the device and the proxier, for every device of a fleet).
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
    together = False  # the names left are asked in one read (after a missing name)
    while rest:
        if together and len(rest) > 1:
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
