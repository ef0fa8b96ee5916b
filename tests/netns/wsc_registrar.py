"""proxier's WSC Registrar against hostapd's AP Enrollee over WFA UPnP, inside a namespace.

    ip netns exec upnp-…-ap python -m tests.netns.wsc_registrar --url URL --pin PIN

GetDeviceInfo → M1, then PutMessage(M2) → M3 … PutMessage(M8) → WSC_Done. Prints one
"MSG <name>" line per message received, then "RESULT ok" or "RESULT fail <error> <why>".
With --record FILE it writes the run (messages and our random draws) as JSON, for the
known-answer test. Exit 0 only on success.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import aiohttp

from proxier.upnp.client import SoapTransport
from proxier.upnp.netns import in_private_netns
from proxier.wsc.registration import Registrar
from tests.netns.wfa_wlanconfig import (
    RecordingRng,
    ap_settings,
    get_device_info,
    message_name,
    put_message,
)


async def run(url: str, pin: str, uuid_r: bytes, record: str | None) -> int:
    rng = RecordingRng(os.urandom)
    registrar = Registrar(
        uuid_r=uuid_r,
        password=pin.encode(),
        m8_settings=ap_settings(b"wsc-test", b"wsc-test-passphrase", bytes(6)),
        rng=rng,
    )
    messages: list[str] = []
    async with aiohttp.ClientSession() as session:
        soap = SoapTransport(session, timeout=10.0)
        incoming = await get_device_info(soap, url)
        while incoming:
            print(f"MSG {message_name(incoming)}", flush=True)
            messages.append(incoming.hex())
            reply = registrar.handle(incoming)
            if not reply:
                break
            messages.append(reply.hex())
            incoming = await put_message(soap, url, reply)
    if record:
        recording = {"draws": [d.hex() for d in rng.draws], "messages": messages}
        await asyncio.to_thread(Path(record).write_text, json.dumps(recording, indent=1))
    outcome = registrar.outcome
    if outcome is not None and outcome.ok:
        print("RESULT ok", flush=True)
        return 0
    error = outcome.config_error if outcome else -1
    reason = outcome.reason if outcome else "run did not end"
    print(f"RESULT fail {error} {reason}", flush=True)
    return 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--pin", required=True)
    parser.add_argument("--uuid-r", default="66666666777788889999aaaaaaaaaaaa")
    parser.add_argument("--record")
    args = parser.parse_args()
    if not in_private_netns():
        print("refusing to run in the host network namespace", file=sys.stderr)
        return 2
    return asyncio.run(run(args.url, args.pin, bytes.fromhex(args.uuid_r), args.record))


if __name__ == "__main__":
    sys.exit(main())
