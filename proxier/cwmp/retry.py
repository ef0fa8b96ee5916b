"""Session retry wait intervals of TR-069 §3.2.1.1 (Table 3).

With m = CWMPRetryMinimumWaitInterval (default 5 s) and k = CWMPRetryIntervalMultiplier/1000
(default 2.0), retry #n waits a random time in [m·k^(c-1), m·k^c] with c = min(n, 10); the
defaults reproduce Table 3 (5-10 s, 10-20 s, … 2560-5120 s from the tenth retry on). The
random source is injected so the table is testable without sleeping.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

DEFAULT_MINIMUM_WAIT_INTERVAL = 5
DEFAULT_INTERVAL_MULTIPLIER = 2000
#: From this post-reboot retry on, the range stops growing (Table 3 "#10 and subsequent").
LAST_GROWING_RETRY = 10


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """CWMPRetryMinimumWaitInterval (1–65535 s) and CWMPRetryIntervalMultiplier (1000–65535)."""

    minimum_wait_interval: int = DEFAULT_MINIMUM_WAIT_INTERVAL
    interval_multiplier: int = DEFAULT_INTERVAL_MULTIPLIER

    def __post_init__(self) -> None:
        if not 1 <= self.minimum_wait_interval <= 65535:
            raise ValueError("CWMPRetryMinimumWaitInterval must be 1..65535")
        if not 1000 <= self.interval_multiplier <= 65535:
            raise ValueError("CWMPRetryIntervalMultiplier must be 1000..65535")

    def interval_range(self, retry: int) -> tuple[float, float]:
        """(min, max) seconds to wait before post-reboot retry number `retry` (1-based)."""
        if retry < 1:
            raise ValueError("retry numbers start at 1")
        c = min(retry, LAST_GROWING_RETRY)
        k = self.interval_multiplier / 1000
        m = self.minimum_wait_interval
        return m * k ** (c - 1), m * k**c

    def wait(self, retry: int, rng: random.Random) -> float:
        """A random wait for retry number `retry`, uniform over its range."""
        low, high = self.interval_range(retry)
        return rng.uniform(low, high)
