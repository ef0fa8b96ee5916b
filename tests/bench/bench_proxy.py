"""Proxied GetParameterValues of 100 parameters vs a direct CMS GetValues (issue 4, target ≤ 1.15×).

One lab DM device, the proxier and the lab ACS on loopback. Both sides run in the same process
against the same device over the same HTTP session:
- baseline: `CmsClient.get_values` of the 100 UPnP paths (SOAP over loopback, the device's work)
- proxied: `CpeEngine.execute(GetParameterValues(...))` of the same 100 parameters by their CWMP
  names, on the virtual device's engine: name translation, the UpnpBackend call, type mapping.
  The ACS's HTTP leg is left out so that the ratio isolates the translation overhead.
Rounds alternate between the two so that machine noise hits both alike. With `--profile` the
proxied side is profiled (cProfile) and the top functions are printed.

The target holds for a request asked before (the ACS's periodic reads), where the backend's
GetParameterValues cache has each name's translation. For information, a second pair of rounds
empties that cache before every proxied request (names, types and instance map stay known).
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from proxier.api import Proxier
from proxier.config import from_dict
from proxier.cwmp.rpc import (
    AddObject,
    AddObjectResponse,
    Fault,
    GetParameterValues,
    GetParameterValuesResponse,
)
from proxier.lab.server import LabServer
from proxier.labacs.server import LabAcs, LabAcsConfig

N_PARAMS = 100
ROUNDS = 200
TARGET = 1.15


async def pick(backend: Any, dm: Any) -> tuple[list[str], list[str]]:
    """100 device-held parameters: CWMP names and the UPnP paths they translate to."""
    infos = await backend.get_parameter_names("Device.", False)
    names: list[str] = []
    paths: list[str] = []
    for info in infos:
        if info.name.endswith(".") or backend.paths.root_for_cwmp(info.name) is None:
            continue
        try:
            upnp = backend.paths.to_upnp(info.name)
            await dm.cms.get_values([upnp])
        except Exception:
            continue  # proxier-held (ManagementServer, ProxierInfo …): no device round trip
        names.append(info.name)
        paths.append(upnp)
        if len(names) == N_PARAMS:
            break
    return names, paths


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


async def main(profile: bool) -> int:
    acs_config = LabAcsConfig(port=0)
    async with LabAcs(acs_config) as acs, LabServer(1) as lab:
        config = from_dict(
            {
                "acs": {"url": acs.url, "periodic_inform_interval": 3600},
                "connection_request": {"port": 0},
                "upnp": {"description_urls": list(lab.description_urls)},
                "state": {"dir": tempfile.mkdtemp(prefix="proxier-bench-proxy-")},
                "privacy": {"mode": "auto"},  # proxied at once (default: approve)
                "api": {"enable": False},
            }
        )
        async with Proxier(config) as proxier:
            assert proxier.manager is not None
            deadline = time.monotonic() + 30
            while not any(d.engine for d in proxier.manager):
                if time.monotonic() > deadline:
                    print("the virtual device never attached")
                    return 1
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # let the bootstrap session finish
            device = next(d for d in proxier.manager if d.engine)
            engine, dm = device.engine, device.dm
            assert engine is not None and dm is not None
            backend = engine.backend.main  # the UpnpBackend under the ManagementServer mount
            await backend.ensure_ready()
            for i in range(6):  # the default lab model alone has < 100 device-held parameters
                added = await engine.execute(AddObject("Device.NAT.PortMapping.", f"bench-{i}"))
                assert isinstance(added, AddObjectResponse), added
            names, paths = await pick(backend, dm)
            if len(names) < N_PARAMS:
                print(f"only {len(names)} device parameters found; want {N_PARAMS}")
            request = GetParameterValues(parameter_names=tuple(names))

            async def proxied() -> None:
                got = await engine.execute(request)
                assert isinstance(got, GetParameterValuesResponse), got
                assert not isinstance(got, Fault)
                assert len(got.parameter_list) == len(names)

            async def direct() -> None:
                got = await dm.cms.get_values(paths)
                assert len(got) == len(paths)

            for _ in range(20):  # warm caches on both sides
                await proxied()
                await direct()
            base: list[float] = []
            prox: list[float] = []
            for _ in range(ROUNDS):
                base.append(await timed(direct))
                prox.append(await timed(proxied))
            base_cold: list[float] = []
            cold: list[float] = []
            for _ in range(ROUNDS):
                base_cold.append(await timed(direct))
                backend._gpv.clear()
                cold.append(await timed(proxied))
            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(ROUNDS):
                    await proxied()
                profiler.disable()

    b, p = statistics.median(base), statistics.median(prox)
    ratio = p / b
    verdict = "OK" if ratio <= TARGET else "MISSES TARGET"
    print(f"{len(names)} parameters, {ROUNDS} rounds each, medians")
    print(f"baseline: CMS GetValues direct              {b * 1e3:8.3f} ms")
    print(f"proxied:  engine GetParameterValues         {p * 1e3:8.3f} ms")
    print(f"ratio proxied/direct                        ×{ratio:.3f}", end="")
    print(f"  (target ≤ {TARGET}) {verdict}")
    cold_ratio = statistics.median(cold) / statistics.median(base_cold)
    print(f"for information, GPV cache emptied each round  ×{cold_ratio:.3f}")
    if profile:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats("proxier/(translate|cwmp|upnp)", 25)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main("--profile" in sys.argv)))
