"""CMS::GetValues of 100 parameters through `CmsClient` vs the raw SOAP round trip (issue 3,
make bench).

Both run against the same lab DM device in the same process and run: the baseline is a
plain aiohttp POST of the pre-built envelope with the body read as bytes (no XML work); ours
builds the ContentPathList and the envelope, posts through the bounded transport, and parses
the SOAP response and the ParameterValueList into typed values. The ratio is the cost of
our layers on top of the wire.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from proxier.lab.server import LabServer
from proxier.upnp import cms_xml, soap
from proxier.upnp.client import CmsClient, NetworkDmDevice, SoapTransport
from proxier.upnp.description import describe
from proxier.upnp.device import ParameterValue

N_PARAMS = 100
ROUNDS = 300
TABLE = "/BBF/NAT/PortMapping/"


async def main() -> None:
    async with LabServer(1) as lab, aiohttp.ClientSession() as session:
        (described,) = (await describe(session, lab.description_urls[0])).devices
        device = NetworkDmDevice.from_description(described, SoapTransport(session))
        cms: CmsClient = device.cms
        while True:
            leaves = [
                p
                for p in await cms.get_supported_parameters("/BBF/NAT/", 0)
                if p.startswith(TABLE) and not p.endswith("/")
            ]
            instances = await cms.get_instances(TABLE, 0)
            paths = [inst + p[len(TABLE) + 2 :] for inst in instances for p in leaves]
            if len(paths) >= N_PARAMS:
                break
            await cms.create_instance(TABLE, [ParameterValue("Description", "bench")])
        paths = paths[:N_PARAMS]

        headers, body = soap.build_request(
            cms.service_type, "GetValues", [("Parameters", cms_xml.build_content_path_list(paths))]
        )

        async def raw() -> int:
            async with session.post(cms.control_url, data=body, headers=headers) as response:
                return len(await response.read())

        async def ours() -> int:
            return len(await cms.get_values(paths))

        assert await ours() == N_PARAMS
        size = await raw()
        for _ in range(20):  # warm up both paths (connections, caches)
            await raw()
            await ours()
        raw_times: list[float] = []
        our_times: list[float] = []
        for _ in range(ROUNDS):  # interleaved, so drift hits both equally
            t0 = time.perf_counter()
            await raw()
            t1 = time.perf_counter()
            await ours()
            t2 = time.perf_counter()
            raw_times.append(t1 - t0)
            our_times.append(t2 - t1)
        raw_med = statistics.median(raw_times)
        our_med = statistics.median(our_times)
        print(f"CMS GetValues, {N_PARAMS} parameters, response {size} bytes, {ROUNDS} rounds")
        print(f"  raw SOAP round trip (baseline): median {raw_med * 1e3:.3f} ms")
        print(f"  CmsClient.get_values          : median {our_med * 1e3:.3f} ms")
        print(f"  ratio CmsClient / raw = {our_med / raw_med:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
