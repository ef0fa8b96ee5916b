"""Protected DM actions per second over DeviceProtection TLS: one kept-alive TLS session
(what the proxier does: one session per device) against a new handshake per action (issue 8).

One `proxier lab --dps` device on loopback trusting a development CA; the control point uses
a CA-signed certificate (carrier flow: Admin) and calls CMS SetValues (Admin-only) N times:
- reuse: `ProtectedTransport`'s way, one aiohttp session with a single kept-alive connection;
- handshake: a fresh session (new TCP + TLS handshake) for every action;
- resumed: a fresh connection per action that resumes the TLS session (what a reconnect
  costs the proxier).
Bounded: 200 actions each, loopback only.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from proxier.dp import certs
from proxier.dp.pins import check_at_handshake
from proxier.lab.dp import DpSettings
from proxier.lab.scpd import CMS
from proxier.lab.server import LabServer
from proxier.upnp.client import SoapTransport
from proxier.upnp.tls import CertificateFiles, client_ssl_context

N = 200
SPV = (
    '<cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"><Parameter>'
    "<ParameterPath>/UPnP/DM/DeviceInfo/FriendlyName</ParameterPath><Value>bench {i}</Value>"
    "</Parameter></cms:ParameterValueList>"
)


async def rate(url: str, context: ssl.SSLContext, reuse: bool) -> float:
    def session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1, ssl=context))

    shared = session() if reuse else None
    start = time.perf_counter()
    try:
        for i in range(N):
            s = shared or session()
            try:
                soap = SoapTransport(s, ssl_context=context)
                args = (("ParameterValueList", SPV.format(i=i)),)
                await soap.invoke(url, CMS.service_type, "SetValues", args, ("Status",))
            finally:
                if shared is None:
                    await s.close()
    finally:
        if shared is not None:
            await shared.close()
    return N / (time.perf_counter() - start)


async def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        made = certs.init(Path(tmp) / "certs")
        files = CertificateFiles(made["ca"], made["certificate"], made["key"])
        context = client_ssl_context(files)
        async with LabServer(1, dps=DpSettings(Path(tmp) / "lab", trust_ca=made["ca"])) as lab:
            device = lab.devices[0]
            base = device.secure_location.split("/dev/")[0]
            url = f"{base}{device.base_path}/cms/control"
            await rate(url, context, True)  # warm-up (and Admin granted on first call)
            reused = await rate(url, context, True)
            fresh = await rate(url, context, False)
            resuming = client_ssl_context(files)
            check_at_handshake(resuming, lambda der: None)  # the proxier's per-device hook
            resumed = await rate(url, resuming, False)
    print(
        f"DP protected action (CMS SetValues over mutual TLS): {reused:.0f}/s with TLS reuse, "
        f"{fresh:.0f}/s with a new handshake per action ({reused / fresh:.1f}× faster reused), "
        f"{resumed:.0f}/s with a new connection resuming the TLS session"
    )
    return 0 if reused > fresh else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
