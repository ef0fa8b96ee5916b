"""Cost of one full empty CWMP session through the engine (issue 2, make bench).

A session here is Inform → InformResponse → empty POST → 204 between `CpeEngine` (with its
sqlite store and the in-memory Device:2 backend) and an in-memory ACS peer that decodes and
encodes real SOAP. The baseline is the codec work alone for the same messages: encode the
Inform, decode it (ACS side), encode the InformResponse, decode it (CPE side). The ratio is
what the engine, session machine, store and backend add on top of the codec.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from proxier.cwmp.engine import CpeEngine, EngineConfig
from proxier.cwmp.memory import device2_backend
from proxier.cwmp.rpc import DeviceIdStruct, Envelope, InformResponse
from proxier.cwmp.soap import decode, encode
from proxier.cwmp.store import DeviceStore
from tests.cwmp.acs_peer import ScriptedAcs

DEVICE = DeviceIdStruct("Example", "00D09E", "MediaBox", "SN-0001")
URL = "http://127.0.0.1:7547/"
SESSIONS = 300


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = DeviceStore(Path(tmp) / "bench" / "dev.sqlite")
        engine = CpeEngine(
            device2_backend(DEVICE, acs_url=URL),
            store,
            EngineConfig(DEVICE, URL, periodic_inform_enable=False),
        )

        async def sessions(n: int) -> list[Envelope | None]:
            peer = ScriptedAcs()
            for _ in range(n):
                result = await engine.run_session(peer)
                assert result.ok, result.reason
            return peer.received

        received = asyncio.run(sessions(3))  # warm up, and capture the messages
        inform = received[-2]
        assert inform is not None and received[-1] is None
        response = Envelope(InformResponse(1), cwmp_id=inform.cwmp_id, version="1.2")

        def codec_only() -> None:
            decode(encode(inform), acs=True)
            decode(encode(response))

        def best_session() -> float:
            runs = []
            for _ in range(5):
                start = time.perf_counter()
                asyncio.run(sessions(SESSIONS))
                runs.append((time.perf_counter() - start) / SESSIONS)
            return min(runs)

        t_session = best_session()
        t_codec = min(timeit.repeat(codec_only, number=SESSIONS, repeat=7)) / SESSIONS
        store.close()
    print(f"empty session (engine + codec + store): {t_session * 1e6:9.1f} µs")
    print(f"baseline: encode+decode of its messages: {t_codec * 1e6:9.1f} µs")
    print(f"ratio session / codec-only:              {t_session / t_codec:9.2f}x")


if __name__ == "__main__":
    main()
