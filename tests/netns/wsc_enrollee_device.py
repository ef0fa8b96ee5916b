"""proxier's WSC Enrollee as a WFA UPnP device, for wpa_supplicant's External Registrar.

    ip netns exec upnp-…-er python -m tests.netns.wsc_enrollee_device --pin PIN

Announces `urn:schemas-wifialliance-org:device:WFADevice:1` (NOTIFY and M-SEARCH
answers on --addr), serves a description whose UDN is uuid:<UUID-E> with the
WFAWLANConfig service, answers SUBSCRIBE with a SID, GetDeviceInfo with M1 of a fresh
Enrollee run and each PutMessage with the run's next message (dp-wps.md §5). Prints
"READY", one "MSG <name>" per message received, and "RESULT ok" or
"RESULT fail <error> <why>" when a run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import uuid

from aiohttp import web
from async_upnp_client.ssdp import get_ssdp_socket

from proxier.upnp import soap, ssdp
from proxier.upnp.netns import in_private_netns
from proxier.wsc.registration import Enrollee
from tests.netns.wfa_wlanconfig import DEVICE, SERVICE, ap_settings, message_name

GROUP = (ssdp.SSDP_GROUP_V4, ssdp.SSDP_PORT)

DESCRIPTION = """<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<device>
<deviceType>{device}</deviceType>
<friendlyName>proxier WSC Enrollee</friendlyName>
<manufacturer>proxier</manufacturer>
<modelName>lab</modelName>
<modelNumber>1</modelNumber>
<serialNumber>0</serialNumber>
<UDN>uuid:{uuid}</UDN>
<serviceList><service>
<serviceType>{service}</serviceType>
<serviceId>urn:wifialliance-org:serviceId:WFAWLANConfig1</serviceId>
<SCPDURL>/wps_scpd.xml</SCPDURL>
<controlURL>/wps_control</controlURL>
<eventSubURL>/wps_event</eventSubURL>
</service></serviceList>
</device>
</root>
"""


class WfaDevice(asyncio.DatagramProtocol):
    """SSDP side: answers M-SEARCH for the WFADevice and can send NOTIFY alive."""

    def __init__(self, udn: str, location: str) -> None:
        self.udn, self.location = udn, location
        self.transport: asyncio.DatagramTransport | None = None

    def notify(self) -> None:
        assert self.transport is not None
        for nt in (DEVICE, SERVICE):
            packet = ssdp.build_notify("ssdp:alive", nt, self.udn, location=self.location)
            self.transport.sendto(packet, GROUP)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        try:
            msg = ssdp.parse(data)
        except ssdp.SsdpError:
            return
        if msg.kind == "search" and msg.target in (DEVICE, "ssdp:all") and self.transport:
            print(f"SSDP M-SEARCH {msg.target} from {addr[0]}:{addr[1]}", flush=True)
            answer = ssdp.build_search_response(DEVICE, self.udn, location=self.location)
            self.transport.sendto(answer, (str(addr[0]), int(addr[1])))


class Control:
    """The WFAWLANConfig service carrying one Enrollee run at a time."""

    def __init__(self, uuid_e: bytes, pin: bytes) -> None:
        self.uuid_e, self.pin = uuid_e, pin
        self.run: Enrollee | None = None

    def new_run(self) -> bytes:
        self.run = Enrollee(
            uuid_e=self.uuid_e,
            password=self.pin,
            m7_settings=ap_settings(b"wsc-lab", b"wsc-lab-passphrase", bytes(6)),
        )
        return self.run.m1()

    def put(self, message: bytes) -> bytes:
        print(f"MSG {message_name(message)}", flush=True)
        if self.run is None:
            return b""
        reply = self.run.handle(message) or b""
        outcome = self.run.outcome
        if outcome is not None:
            if outcome.ok:
                print("RESULT ok", flush=True)
            else:
                print(f"RESULT fail {outcome.config_error} {outcome.reason}", flush=True)
            self.run = None
        return reply

    async def soap(self, request: web.Request) -> web.Response:
        try:
            _, action, args = soap.parse_request(await request.read())
        except Exception as exc:  # a bad request is answered, never crashes the peer
            print(f"BAD request: {exc}", flush=True)
            return web.Response(status=500, body=soap.build_fault(402, "Invalid Args"))
        if action == "GetDeviceInfo":
            out = [("NewDeviceInfo", base64.b64encode(self.new_run()).decode())]
        elif action == "PutMessage":
            reply = self.put(base64.b64decode(args.get("NewInMessage", "")))
            out = [("NewOutMessage", base64.b64encode(reply).decode())]
        else:
            print(f"ACTION {action} (ignored)", flush=True)
            out = []
        body = soap.build_response(SERVICE, action, out)
        return web.Response(body=body, content_type="text/xml", charset="utf-8")


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--addr", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=49200)
    parser.add_argument("--uuid-e", default="11111111222233334444555555555555")
    parser.add_argument("--pin", required=True)
    args = parser.parse_args()
    if not in_private_netns():
        print("refusing to run in the host network namespace", file=sys.stderr)
        return 2
    uuid_e = bytes.fromhex(args.uuid_e)
    udn = f"uuid:{uuid.UUID(bytes=uuid_e)}"
    control = Control(uuid_e, args.pin.encode())
    description = DESCRIPTION.format(device=DEVICE, service=SERVICE, uuid=uuid.UUID(bytes=uuid_e))

    async def describe(_: web.Request) -> web.Response:
        return web.Response(text=description, content_type="text/xml")

    async def subscribe(request: web.Request) -> web.Response:
        print(f"SUBSCRIBE {request.headers.get('CALLBACK', '')}", flush=True)
        return web.Response(headers={"SID": f"uuid:{uuid.uuid4()}", "TIMEOUT": "Second-1800"})

    app = web.Application()
    app.router.add_get("/description.xml", describe)
    app.router.add_route("SUBSCRIBE", "/wps_event", subscribe)
    app.router.add_route("UNSUBSCRIBE", "/wps_event", subscribe)
    app.router.add_post("/wps_control", control.soap)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, args.addr, args.port).start()

    device = WfaDevice(udn, f"http://{args.addr}:{args.port}/description.xml")
    sock, _, _ = get_ssdp_socket((args.addr, 0), GROUP)
    sock.bind(("", ssdp.SSDP_PORT))
    loop = asyncio.get_running_loop()
    device.transport, _ = await loop.create_datagram_endpoint(lambda: device, sock=sock)
    print("READY", flush=True)
    for _ in range(60):  # announce for a while: the ER may start after us
        device.notify()
        await asyncio.sleep(1.0)
    await asyncio.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
