"""A token bucket for Connection Requests (TR-069 §3.2.2: the CPE SHOULD restrict them).

A fixed "N per window" count refuses an ACS that legitimately bursts: GenieACS sends one
Connection Request per NBI task, so a script queueing 20 tasks sends 20 at once. A bucket of
`limit` tokens lets such a burst through at once and refills at `limit` per `window`
seconds, so a flood is held to that steady rate. Sans-IO: the clock comes in as `now`, and
the limits come in on every call so a changed configuration applies at once.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Defaults of `connection_request.rate_limit` / `rate_window`: a burst of 64 (an ACS's
#: tasks queued at once), refilled over 5 minutes (one more about every 4.7 s).
DEFAULT_RATE_LIMIT = 64
DEFAULT_RATE_WINDOW = 300.0


@dataclass(slots=True)
class TokenBucket:
    """`take` answers whether one more request fits; starts full."""

    tokens: float | None = None
    stamp: float = 0.0

    def take(self, now: float, limit: int, window: float) -> bool:
        if self.tokens is None:
            tokens = float(limit)
        else:
            refill = max(0.0, now - self.stamp) * limit / window if window > 0 else limit
            tokens = min(float(limit), self.tokens + refill)
        self.stamp = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False
