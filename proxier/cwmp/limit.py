"""Cap how many CWMP sessions run at once across all virtual devices of one proxier.

Hundreds of virtual devices may want a session at the same moment (proxier start, ACS back
after an outage). A gateway and the ACS are both better served by a bounded number of
parallel sessions; the others wait their turn, their events safe in their stores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from proxier.cwmp.transport import AcsReply, AcsTransport

S = TypeVar("S")


class LimitedTransport:
    """An AcsTransport that holds one slot of `limit` from its first POST until close."""

    def __init__(self, inner: AcsTransport, limit: asyncio.Semaphore) -> None:
        self._inner = inner
        self._limit = limit
        self._held = False

    async def post(self, body: bytes) -> AcsReply:
        if not self._held:
            await self._limit.acquire()
            self._held = True
        return await self._inner.post(body)

    async def close(self) -> None:
        try:
            await self._inner.close()
        finally:
            if self._held:
                self._held = False
                self._limit.release()


def limited(
    factory: Callable[[S], AcsTransport], limit: asyncio.Semaphore
) -> Callable[[S], AcsTransport]:
    """Wrap a runner's transport factory so its sessions share `limit`."""

    def make(settings: S) -> AcsTransport:
        return LimitedTransport(factory(settings), limit)

    return make
