"""A minimal scripted CPE for lab ACS tests: our codec and HTTP driver, answers from a table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from proxier.cwmp import rpc
from proxier.cwmp.http import HttpAcsTransport, HttpSettings
from proxier.cwmp.rpc import Envelope
from proxier.cwmp.soap import decode, encode

DEVICE = rpc.DeviceIdStruct("Lab Inc.", "00D09E", "Lab-Box", "SN 0001")
DEVICE_ID = "00D09E-Lab%2DBox-SN%200001"


def inform(
    events: tuple[tuple[str, str], ...] = (("1 BOOT", ""),),
    cr_url: str = "",
    retry_count: int = 0,
) -> rpc.Inform:
    return rpc.Inform(
        device_id=DEVICE,
        event=tuple(rpc.EventStruct(code, key) for code, key in events),
        max_envelopes=1,
        current_time=datetime(2026, 11, 21, 16, 0, tzinfo=UTC),
        retry_count=retry_count,
        parameter_list=(
            rpc.ParameterValueStruct("Device.DeviceInfo.SoftwareVersion", "1.0"),
            rpc.ParameterValueStruct("Device.ManagementServer.ConnectionRequestURL", cr_url),
        ),
    )


async def run_session(
    settings: HttpSettings,
    answer: Callable[[Any], Any],
    *,
    first: rpc.Inform | None = None,
    cpe_requests: tuple[Any, ...] = (),
    version: str = "1.2",
) -> list[Any]:
    """One session: Inform, CPE requests, empty POST, then `answer(request)` per ACS request.

    Returns the ACS messages received (InformResponse first)."""
    received: list[Any] = []
    async with HttpAcsTransport(settings) as transport:
        reply = await transport.post(encode(Envelope(first or inform(), "1", version=version)))
        assert reply.status == 200, reply
        received.append(decode(reply.body).body)
        for n, request in enumerate(cpe_requests):
            reply = await transport.post(encode(Envelope(request, f"c{n}", version=version)))
            received.append(decode(reply.body).body)
        reply = await transport.post(b"")
        while reply.status == 200 and reply.body:
            envelope = decode(reply.body)
            received.append(envelope.body)
            out = Envelope(answer(envelope.body), envelope.cwmp_id, version=envelope.version)
            reply = await transport.post(encode(out))
        assert reply.status == 204, reply
    return received
