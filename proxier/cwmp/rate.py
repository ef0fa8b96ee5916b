"""`acs.session_rate`: at most N new CWMP sessions per second across one proxier (sans-IO).

A lab user testing an ACS wants either a storm (every virtual device at once, bounded only by
`acs.max_parallel_sessions`) or a gentle ramp (a steady number of new sessions per second).
`SessionPacer` hands out start times one `1/rate` apart, first come first served: the caller
waits the returned delay before its first POST. Rate 0 means unlimited (the lab default).
"""

from __future__ import annotations


class SessionPacer:
    """Start slots `1/rate` seconds apart, in the order they are asked for."""

    __slots__ = ("_next", "interval")

    def __init__(self, rate: float) -> None:
        if rate < 0:
            raise ValueError("session rate must be >= 0")
        self.interval = 1.0 / rate if rate else 0.0
        self._next = float("-inf")

    def delay(self, now: float) -> float:
        """Reserve the next start slot; seconds from `now` until it (0 = start at once)."""
        if not self.interval:
            return 0.0
        slot = max(now, self._next)
        self._next = slot + self.interval
        return slot - now
