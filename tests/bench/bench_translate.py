"""Translation overhead: a proxied GetParameterValues against the CMS::GetValues it causes.

Issue 4 target: a proxied GetParameterValues of 100 parameters costs at most 1.15x a direct
CMS::GetValues of the same parameters on the same device, in the same run.

- baseline: CMS::GetValues of 100 parameters over SOAP/HTTP on loopback (network client)
- proxied: UpnpBackend.get_parameter_values of the same 100 CWMP names over that client
- the same pair in process (LocalDmDevice): the translation's own cost, without HTTP
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from proxier.lab.datamodel import DataModel, load_model_spec
from proxier.lab.local import LocalDmDevice
from proxier.lab.server import LabServer
from proxier.translate.backend import ProxierIdentity, UpnpBackend
from proxier.translate.instances import InstanceStore
from proxier.upnp.client import CmsClient, NetworkDmDevice, SoapTransport
from proxier.upnp.device import DmDevice

N_PARAMS = 100
ROUNDS = 200
TARGET = 1.15


def bench_model() -> dict[str, Any]:
    nodes = [
        {
            "path": f"/BBF/Bench/P{i}",
            "type": "unsignedInt" if i % 2 else "string",
            "default": str(i),
        }
        for i in range(N_PARAMS)
    ]
    return {
        "nodes": nodes,
        "supported_data_models": [
            {"uri": "urn:broadband-forum-org:tr-181-2-11-0", "location": "/BBF/"}
        ],
    }


async def timed(factory: Any, rounds: int = ROUNDS) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await factory()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


async def pair(device: DmDevice, store_dir: Path) -> tuple[float, float]:
    paths = [f"/BBF/Bench/P{i}" for i in range(N_PARAMS)]
    names = [f"Device.Bench.P{i}" for i in range(N_PARAMS)]
    store = InstanceStore(store_dir / f"{id(device)}.sqlite")
    backend = UpnpBackend(
        device, instance_store=store, proxier_info=ProxierIdentity("00D09E", "Bench", "B1")
    )

    async def direct() -> None:
        assert len(await device.cms.get_values(paths)) == N_PARAMS

    async def proxied() -> None:
        assert len(await backend.get_parameter_values(names)) == N_PARAMS

    await timed(direct, 20)
    await timed(proxied, 20)
    base = await timed(direct)
    prox = await timed(proxied)
    store.close()
    return base, prox


async def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        async with LabServer(1, model=bench_model()) as lab, aiohttp.ClientSession() as session:
            lab_device = lab.devices[0]
            url = f"{lab_device.base_url}{lab_device.base_path}/cms/control"
            network = NetworkDmDevice("uuid:bench", CmsClient(SoapTransport(session), url))
            base, prox = await pair(network, Path(tmp))
        local = LocalDmDevice(DataModel(load_model_spec(bench_model())))
        lbase, lprox = await pair(local, Path(tmp))
    print(f"translation, GetParameterValues of {N_PARAMS} parameters (median of {ROUNDS})")
    print(f"  CMS::GetValues over SOAP (baseline)  {base * 1e3:8.3f} ms")
    print(
        f"  proxied GPV over SOAP                {prox * 1e3:8.3f} ms  = {prox / base:5.2f}x"
        f" baseline (target <= {TARGET}x)"
    )
    print(f"  CMS::GetValues in process            {lbase * 1e3:8.3f} ms")
    print(f"  proxied GPV in process               {lprox * 1e3:8.3f} ms  = {lprox / lbase:5.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
