"""First Informs first (issue 13, bootstrap): work a device needs only after its
BOOTSTRAP/BOOT Inform waits while any device still waits for its first session.

At a fleet's start each new device costs its first session plus work that only matters
once the ACS knows it: the scan of parameters that already notify (TR-330 §4.6.5, run on
the initial GENA event) and the listing of its logs (§4.4.1). Run all at once, the later
work of early devices delays the first Inform of later ones; here it waits in a
low-priority queue instead. This changes WHEN the proxier does that work, never WHAT:
- a device counts as waiting from its attach until its first session ends (whatever the
  result) or it is detached; one with nothing to inform once attached (a proxier restart
  with no pending event) or held/offline stops counting at once (virtual/device.py);
- deferred work starts once no device is waiting (all of it then: the pieces are short
  request sequences, and a device arriving meanwhile shares the loop with them as before);
- bounded, never starved: each piece waits at most `LONGEST` seconds from its queueing,
  then runs whatever else waits (an ACS that never answers delays it by that much only).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable

#: the longest a piece of deferred work waits (seconds) before it runs anyway
LONGEST = 120.0


class FirstInforms:
    """One per proxier process: who waits for a first session, and the deferred work."""

    def __init__(self, *, longest: float = LONGEST) -> None:
        self.longest = longest
        self._waiting: set[Hashable] = set()
        self._idle: asyncio.Event | None = None  # made in the running loop

    @property
    def waiting(self) -> int:
        """Devices whose first session has not ended yet."""
        return len(self._waiting)

    def started(self, device: Hashable) -> None:
        """`device` (re)attached: its first session is to come."""
        self._waiting.add(device)
        if self._idle is not None:
            self._idle.clear()

    def ended(self, device: Hashable) -> None:
        """`device`'s first session ended, or the device is gone."""
        self._waiting.discard(device)
        if not self._waiting and self._idle is not None:
            self._idle.set()

    async def turn(self) -> None:
        """Return once no device waits for its first session, or after `longest`: the
        caller's deferred work starts then."""
        if self._idle is None:
            self._idle = asyncio.Event()
            if not self._waiting:
                self._idle.set()
        deadline = time.monotonic() + self.longest
        while self._waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(self._idle.wait(), left)
            except TimeoutError:
                return
