"""proxier's control point against a foreign DM device, run inside a test namespace.

    ip netns exec upnp-…-cp python -m tests.netns.interop_cp --source 198.18.0.11

Steps, one "OK …" line each: SSDP discovery (our M-SEARCH/NOTIFY driver) → description
(bounded GET, safe parse) → CMS GetValues and SetValues through CmsClient → GENA
subscription through GenaManager (callback on --source) until --events NOTIFYs arrived →
UNSUBSCRIBE. Exit 0 only if every step worked.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from urllib.parse import urljoin

import aiohttp

from proxier.upnp.client import CmsClient, SoapTransport
from proxier.upnp.device import DmEvent, ParameterValue
from proxier.upnp.discovery import Discovery, DiscoveryConfig, DiscoveryEvent
from proxier.upnp.gena import GenaManager
from proxier.upnp.http import bounded_request
from proxier.upnp.netns import in_private_netns
from proxier.xmlsafe import local_name, parse_xml

CMS_PREFIX = "urn:schemas-upnp-org:service:ConfigurationManagement:"


def service_urls(description: bytes, base: str, udn: str, prefix: str) -> tuple[str, str]:
    """(controlURL, eventSubURL) of the service of type `prefix`* of device `udn`."""
    root = parse_xml(description)
    for device in root.iter("{*}device"):
        if device.findtext("{*}UDN", "").strip() != udn:
            continue
        for service in device.iter("{*}service"):
            fields = {local_name(c): (c.text or "").strip() for c in service}
            if fields.get("serviceType", "").startswith(prefix):
                return urljoin(base, fields["controlURL"]), urljoin(base, fields["eventSubURL"])
    raise SystemExit(f"FAIL no {prefix} in the description of {udn}")


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--get-path", default="/UPnP/DM/")
    parser.add_argument("--set-path", default="/UPnP/DM/X_Test/Writable")
    parser.add_argument("--events", type=int, default=2)
    parser.add_argument("--within", type=float, default=20.0)
    args = parser.parse_args()
    if not in_private_netns():
        print("refusing to run in the host network namespace", file=sys.stderr)
        return 2

    found: asyncio.Queue[DiscoveryEvent] = asyncio.Queue()

    def on_discovery(event: DiscoveryEvent) -> None:
        if event.kind == "alive":  # types are hints; the description decides
            found.put_nowait(event)

    config = DiscoveryConfig(interfaces=(args.source,), search_interval=2.0, mx=1)
    async with aiohttp.ClientSession() as session, Discovery(config, on_discovery):
        event = await asyncio.wait_for(found.get(), args.within)
        print(f"OK discovered {event.udn} at {event.location} from {event.remote}", flush=True)
        described = await bounded_request(session, "GET", event.location, max_bytes=1 << 20)
        control, event_sub = service_urls(described.body, described.url, event.udn, CMS_PREFIX)
        print(f"OK description: control={control} events={event_sub}", flush=True)

        cms = CmsClient(SoapTransport(session), control)
        values = await cms.get_values([args.get_path])
        print(f"OK GetValues -> {len(values)} values, first {values[0]}", flush=True)
        status = await cms.set_values([ParameterValue(args.set_path, "set-by-proxier")])
        print(f"OK SetValues -> {status}", flush=True)

        events: asyncio.Queue[DmEvent] = asyncio.Queue()
        async with GenaManager(session, host=args.source.split("%")[0]) as gena:
            gena.add(event.udn + "/CMS", "CMS", event_sub, events.put_nowait)
            for _ in range(args.events):
                got = await asyncio.wait_for(events.get(), args.within)
                print(f"OK event seq={got.seq} {got.variables}", flush=True)
        print("OK unsubscribed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
