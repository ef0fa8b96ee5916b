"""Device descriptions just fetched by discovery, handed to the describe step (issue 13).

A configured description URL is probed by discovery (is the device there, which UDNs does it
list?) and, when that probe makes a device alive, described right after (the same document
plus its SCPDs). Fetching and parsing the same bytes twice within moments doubled the
description traffic of a fleet bootstrap on both sides. The probe keeps the document here;
the describe step takes it (once) instead of fetching it again. A document older than `ttl`
seconds is not used: the describe step then fetches it as before.

Sans-IO: the clock is passed in.
"""

from __future__ import annotations

from proxier.upnp.http import HttpResult

#: Seconds a probed document stays usable by the describe step that follows it.
DEFAULT_TTL = 60.0
#: Documents kept at most (a fleet of 2,000 probed at once fits; the oldest go first).
DEFAULT_MAX = 4096


class FreshDocuments:
    """url → the description document last fetched from it, for one use within `ttl`."""

    def __init__(self, ttl: float = DEFAULT_TTL, max_entries: int = DEFAULT_MAX) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._docs: dict[str, tuple[float, HttpResult]] = {}

    def __len__(self) -> int:
        return len(self._docs)

    def keep(self, url: str, result: HttpResult, now: float) -> None:
        """Remember a 200 answer fetched from `url` at `now`."""
        self._docs.pop(url, None)
        self._docs[url] = (now, result)
        while len(self._docs) > self.max_entries:
            del self._docs[next(iter(self._docs))]  # insertion order: the oldest first
        self._expire(now)

    def take(self, url: str, now: float) -> HttpResult | None:
        """The document fetched from `url` within `ttl` seconds, forgotten once taken."""
        entry = self._docs.pop(url, None)
        if entry is None or now - entry[0] > self.ttl:
            return None
        return entry[1]

    def _expire(self, now: float) -> None:
        # insertion order is time order (`keep` re-inserts): stale entries are at the front
        while self._docs:
            url, (when, _) = next(iter(self._docs.items()))
            if now - when <= self.ttl:
                return
            del self._docs[url]
