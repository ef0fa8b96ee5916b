"""`EventFeed`: a device's DM events handled one at a time, in arrival order, by an async
handler, with a task only while events wait.

A virtual device used to consume its events with a task suspended on a queue for its whole
life: a Task, its coroutine frames and an `asyncio.Queue` (three deques and an Event) cost
about 5 KiB per idle device (issue 13). An idle feed is a few pointers; the first event
starts one drain task, which ends when the backlog is empty.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from proxier.logsafe import get_logger

log = get_logger(__name__)

T = TypeVar("T")

#: Events a slow handler may fall behind by before the oldest is dropped (as the device's
#: own event queue did).
LIMIT = 1024


class EventFeed(Generic[T]):
    """Feeds pushed items to `handler`, one at a time, in order (never blocks the pusher)."""

    __slots__ = ("_backlog", "_closed", "_drain", "_handler", "limit", "name")

    def __init__(
        self, handler: Callable[[T], Awaitable[object]], *, name: str, limit: int = LIMIT
    ) -> None:
        self._handler = handler
        self.name = name  # for the log lines: the virtual device's id
        self.limit = limit
        self._backlog: deque[T] | None = None  # only while items wait
        self._drain: asyncio.Task[None] | None = None  # only while items are handled
        self._closed = False

    @property
    def busy(self) -> bool:
        return self._drain is not None

    def push(self, item: T) -> None:
        """Queue one item; the oldest waiting one is dropped when `limit` are waiting."""
        if self._closed:
            return
        backlog = self._backlog
        if backlog is None:
            backlog = self._backlog = deque()
        elif len(backlog) >= self.limit:
            backlog.popleft()
            log.warning("%s: event consumer too slow, dropped the oldest event", self.name)
        backlog.append(item)
        if self._drain is None:
            self._drain = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            while self._backlog:
                item = self._backlog.popleft()
                try:
                    await self._handler(item)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s: event handling failed", self.name)
        finally:
            self._drain = None
            if not self._backlog:
                self._backlog = None

    async def close(self, wait: float = 5.0) -> None:
        """Later pushes are ignored; what waits is handled for up to `wait` seconds, then
        the rest is dropped and the handler in progress cancelled."""
        self._closed = True
        drain = self._drain
        if drain is None:
            return
        await asyncio.wait({drain}, timeout=wait)
        self._backlog = None
        drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drain
