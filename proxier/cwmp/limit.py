"""Cap how many CWMP sessions run at once across all virtual devices of one proxier.

Hundreds of virtual devices may want a session at the same moment (proxier start, ACS back
after an outage). A gateway and the ACS are both better served by a bounded number of
parallel sessions; the others wait their turn, their events safe in their stores.
`acs.session_rate` (a `SessionPacer`) spaces session starts further: a slot first, then the
start time, so no session holds a slot while a faster one overtakes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from proxier.cwmp.rate import SessionPacer
from proxier.cwmp.transport import AcsReply, AcsTransport

S = TypeVar("S")


class LimitedTransport:
    """An AcsTransport that holds one slot of `limit` from its first POST until close."""

    def __init__(
        self, inner: AcsTransport, limit: asyncio.Semaphore, pacer: SessionPacer | None = None
    ) -> None:
        self._inner = inner
        self._limit = limit
        self._pacer = pacer
        self._held = False

    async def post(self, body: bytes) -> AcsReply:
        if not self._held:
            await self._limit.acquire()
            self._held = True
            if self._pacer is not None:
                wait = self._pacer.delay(asyncio.get_running_loop().time())
                if wait > 0:
                    await asyncio.sleep(wait)
        return await self._inner.post(body)

    async def close(self) -> None:
        try:
            await self._inner.close()
        finally:
            if self._held:
                self._held = False
                self._limit.release()


def limited(
    factory: Callable[[S], AcsTransport],
    limit: asyncio.Semaphore,
    pacer: SessionPacer | None = None,
) -> Callable[[S], AcsTransport]:
    """Wrap a runner's transport factory so its sessions share `limit` (and `pacer`)."""

    def make(settings: S) -> AcsTransport:
        return LimitedTransport(factory(settings), limit, pacer)

    return make
