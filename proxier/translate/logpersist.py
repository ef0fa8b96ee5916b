"""`Device.DeviceInfo.VendorLogFile.{i}.Persistent` from what a log does across a reboot.

TR-330 §4.4.1: "Persistent: could use 0 initially, and observe if the log content is purged
after the device rebooted and update the value accordingly, since BMS has not defined an
argument to indicate log persistency." So the device says it by what its log holds: the
proxier keeps a mark of each log (its last `TAIL` bytes, from the LogURL that BMS GetLogInfo
gives) taken while the device runs; when the device has rebooted (TR-330 Table 1 "1 BOOT")
it reads the log again: the mark still in it → the content survived → Persistent 1; gone →
purged → 0. Then it marks the log again for the next reboot. A BaselineReset is no evidence
(a reset may wipe even persistent logs), an empty log has nothing to recognise (no mark),
and a log the proxier could not read keeps its last value.

Marks and verdicts live in the device's store (private sqlite), so a proxier restart keeps
both. Limit: a persistent log that rotated past the mark between the mark and the reboot
looks purged until the next reboot. `marks`/`verdict` are sans-IO; `LogPersistence` calls
the `fetch` it is given (GetLogInfo + a bounded GET, `proxier.translate.logs`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from proxier.logsafe import get_logger
from proxier.translate.opcommon import KeyValueStore

log = get_logger(__name__)

#: Bytes of a log's end that identify its content.
TAIL = 256
MARK = "tr330.logs.mark."  # + LogURI → hex of the log's last TAIL bytes
PERSISTENT = "tr330.logs.persistent."  # + LogURI → "1" / "0"


def mark_of(content: bytes) -> str | None:
    """What to look for after the reboot; None for an empty log."""
    return content[-TAIL:].hex() if content else None


def verdict(mark: str, content: bytes) -> bool:
    """True when the content from before the reboot is still in the log."""
    return bytes.fromhex(mark) in content


class LogPersistence:
    """The Persistent verdicts of one device's logs (see the module docstring)."""

    def __init__(
        self, store: KeyValueStore | None, fetch: Callable[[str], Awaitable[bytes | None]]
    ) -> None:
        self.store = store
        self.fetch = fetch  # a log's content; None (logged there) when not readable
        self._lock = asyncio.Lock()

    def persistent(self, uri: str) -> str:
        """The xsd:boolean value for the log: "0" until a reboot showed otherwise."""
        if self.store is None:
            return "0"
        return self.store.kv_get(PERSISTENT + uri) or "0"

    async def mark(self, uris: Iterable[str]) -> None:
        """Mark the logs that have no mark yet (attach: the content before any reboot)."""
        if self.store is None:
            return
        async with self._lock:
            for uri in uris:
                if self.store.kv_get(MARK + uri) is None:
                    content = await self.fetch(uri)
                    found = None if content is None else mark_of(content)
                    if found is not None:
                        self.store.kv_set(MARK + uri, found)

    async def rebooted(self, uris: Iterable[str]) -> None:
        """The device rebooted: judge each marked log, then mark it again."""
        store = self.store
        if store is None:
            return
        async with self._lock:
            found: dict[str, tuple[bool | None, str | None]] = {}
            for uri in uris:
                content = await self.fetch(uri)
                if content is None:
                    continue
                before = store.kv_get(MARK + uri)
                kept = None if before is None else verdict(before, content)
                found[uri] = (kept, mark_of(content))
            for uri, (kept, again) in found.items():  # no await: readers see all or none
                if kept is not None:
                    store.kv_set(PERSISTENT + uri, "1" if kept else "0")
                if again is not None:
                    store.kv_set(MARK + uri, again)
                else:
                    store.kv_delete(MARK + uri)
            judged = {u[-40:]: k for u, (k, _) in found.items() if k is not None}
            if judged:
                log.info("logs kept across the reboot: %s", judged)
