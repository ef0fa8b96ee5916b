"""What happened lately, per proxier: the feed behind `status`, the API, the console and the
embedding callbacks.

One `ActivityLog` per Proxier (no globals). Producers call `emit()`; consumers either
register a callback (`on`), iterate `subscribe()` (an async stream), or read the bounded ring
of recent entries (`recent`). A slow or failing consumer never blocks a producer: callbacks
that raise are logged once each, and a full subscriber queue drops its oldest entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from proxier.logsafe import get_logger

log = get_logger(__name__)

Kind = Literal["device_added", "device_removed", "online", "offline", "session", "event"]
KINDS: tuple[Kind, ...] = (
    "device_added",
    "device_removed",
    "online",
    "offline",
    "session",
    "event",
)
RECENT = 500
QUEUE = 1000


@dataclass(frozen=True, slots=True)
class Activity:
    """One thing that happened to one virtual device (`device` is its DeviceId string)."""

    seq: int
    time: float
    kind: Kind
    device: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "kind": self.kind,
            "device": self.device,
            **self.detail,
        }


Callback = Callable[[Activity], None]


class ActivityLog:
    """Bounded history plus fan-out to callbacks and async subscribers."""

    def __init__(self, clock: Callable[[], float], size: int = RECENT) -> None:
        self._clock = clock
        self._seq = itertools.count(1)
        self._recent: deque[Activity] = deque(maxlen=size)
        self._callbacks: dict[Kind | None, list[Callback]] = {}
        self._queues: set[asyncio.Queue[Activity]] = set()
        self.last_session: dict[str, Activity] = {}
        self.reason: dict[str, str] = {}

    @property
    def last_seq(self) -> int:
        """The newest activity's seq (0: none yet); `recent(since=last_seq)` is what follows."""
        return self._recent[-1].seq if self._recent else 0

    def on(self, kind: Kind | None, callback: Callback) -> Callable[[], None]:
        """Call `callback` for every activity of `kind` (None: all); returns an unsubscribe."""
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown activity kind {kind!r}; one of {', '.join(KINDS)}")
        callbacks = self._callbacks.setdefault(kind, [])
        callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in callbacks:
                callbacks.remove(callback)

        return unsubscribe

    async def subscribe(self) -> AsyncIterator[Activity]:
        """Every activity from now on, until the consumer stops iterating."""
        queue: asyncio.Queue[Activity] = asyncio.Queue(QUEUE)
        self._queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.discard(queue)

    def emit(self, kind: Kind, device: str, **detail: Any) -> Activity:
        item = Activity(next(self._seq), self._clock(), kind, device, detail)
        self._recent.append(item)
        if kind == "session":
            self.last_session[device] = item
        elif kind in ("online", "offline") and detail.get("reason"):
            self.reason[device] = str(detail["reason"])
        for callback in (*self._callbacks.get(kind, ()), *self._callbacks.get(None, ())):
            try:
                callback(item)
            except Exception as exc:  # a consumer's bug must not break the proxier
                log.warning("activity callback %r failed on %s: %s", callback, kind, exc)
        for queue in self._queues:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(item)
        return item

    def recent(
        self, *, since: int = 0, kinds: tuple[str, ...] = (), device: str = ""
    ) -> Iterator[Activity]:
        for item in self._recent:
            if item.seq <= since:
                continue
            if kinds and item.kind not in kinds:
                continue
            if device and item.device != device:
                continue
            yield item
