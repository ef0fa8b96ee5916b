"""Lab device costs, as ratios against the raw SOAP round trip measured in the same run.

- baseline: one trivial SOAP action (CMS GetAlarmsEnabled) over loopback HTTP, aiohttp client
- CMS GetValues of 100 parameters over SOAP (request encode, device engine, response decode)
- the same GetValues in process (LocalDmDevice: the engine alone, no HTTP)
- a lab with 100 devices: time to start it and fetch every description, per device
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import aiohttp

from proxier.lab.datamodel import DataModel, load_model_spec
from proxier.lab.local import LocalDmDevice
from proxier.lab.scpd import CMS
from proxier.lab.server import LabServer
from proxier.upnp import cms_xml, soap

N_PARAMS = 100
ROUNDS = 200


def bench_model() -> dict[str, Any]:
    nodes = [
        {"path": f"/Bench/P{i}", "type": "string", "default": f"value-{i}"} for i in range(N_PARAMS)
    ]
    return {"nodes": nodes}


async def soap_call(
    session: aiohttp.ClientSession, url: str, action: str, args: list[tuple[str, str]]
) -> dict[str, str]:
    headers, body = soap.build_request(CMS.service_type, action, args)
    async with session.post(url, data=body, headers=headers) as response:
        return dict(soap.parse_response(action, response.status, await response.read()))


async def timed(coro_factory: Any, rounds: int = ROUNDS) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await coro_factory()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


async def main() -> None:
    paths = [f"/Bench/P{i}" for i in range(N_PARAMS)]
    content = cms_xml.build_content_path_list(paths)
    async with LabServer(1, model=bench_model()) as lab, aiohttp.ClientSession() as session:
        device = lab.devices[0]
        url = f"{device.base_url}{device.base_path}/cms/control"

        async def trivial() -> None:
            await soap_call(session, url, "GetAlarmsEnabled", [])

        async def get_values() -> None:
            out = await soap_call(session, url, "GetValues", [("Parameters", content)])
            assert len(cms_xml.parse_parameter_value_list(out["ParameterValueList"])) == N_PARAMS

        await timed(trivial, 20)
        base = await timed(trivial)
        gv = await timed(get_values)
    local = LocalDmDevice(DataModel(load_model_spec(bench_model())))

    async def local_values() -> None:
        await local.cms.get_values(paths)

    loc = await timed(local_values)
    print(f"lab CMS, {N_PARAMS} parameters (median of {ROUNDS})")
    print(f"  baseline SOAP round trip          {base * 1e3:8.3f} ms")
    for label, value in ((f"GetValues x{N_PARAMS} over SOAP", gv), ("... in process", loc)):
        print(f"  {label:32} {value * 1e3:8.3f} ms  = {value / base:5.2f}x baseline")

    for count in (1, 100):
        start = time.perf_counter()
        async with LabServer(count) as lab, aiohttp.ClientSession() as session:
            for description in lab.description_urls:
                async with session.get(description) as response:
                    await response.read()
            elapsed = time.perf_counter() - start
        if count == 1:
            one = elapsed
        else:
            per_device = elapsed / count / base
            print(f"  lab of {count} devices: start + all descriptions {elapsed * 1e3:8.1f} ms")
            print(f"    = {elapsed / one:5.1f}x one device, {per_device:5.1f}x baseline per device")


if __name__ == "__main__":
    asyncio.run(main())
