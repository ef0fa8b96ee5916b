"""Keep a resident fleet's long-lived objects out of the cyclic GC's full passes (issue 13).

A proxier with a fleet holds hundreds of thousands of long-lived objects (devices, their
tables, sockets). CPython's full (generation 2) collection walks all of them: with 100
virtual devices one pass took ~110 ms of the event loop, in the middle of a storm of value
changes, so the changes it delayed missed their deadline. After each full collection the
survivors are frozen (`gc.freeze`: left out of later passes), so the next full passes walk
only what is new since. Every `refresh` seconds they are unfrozen once: the next full pass
walks everything again, which collects cycles among objects frozen meanwhile (a device that
went away), then freezes what survives.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

#: Seconds between unfreezes: how long cyclic garbage among frozen objects can wait.
REFRESH = 600.0


class GcFreezer:
    """Installed on the running loop by the daemon; `close()` undoes it."""

    def __init__(self, refresh: float = REFRESH) -> None:
        self.refresh = refresh
        self._timer: asyncio.TimerHandle | None = None
        gc.callbacks.append(self._on_gc)
        self._arm()

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info.get("generation") == 2:
            gc.freeze()  # the survivors of a full pass: no cyclic garbage among them

    def _arm(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self.refresh, self._unfreeze)

    def _unfreeze(self) -> None:
        gc.unfreeze()
        self._arm()

    def close(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        gc.unfreeze()
