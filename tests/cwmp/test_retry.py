"""Session retry waits, TR-069 §3.2.1.1 Table 3, with an injected random source."""

from __future__ import annotations

import random

import pytest

from proxier.cwmp.retry import RetryPolicy

TABLE_3 = [
    (1, 5, 10),
    (2, 10, 20),
    (3, 20, 40),
    (4, 40, 80),
    (5, 80, 160),
    (6, 160, 320),
    (7, 320, 640),
    (8, 640, 1280),
    (9, 1280, 2560),
    (10, 2560, 5120),
    (11, 2560, 5120),
    (50, 2560, 5120),
]


@pytest.mark.parametrize(("retry", "low", "high"), TABLE_3)
def test_default_ranges_are_table_3(retry: int, low: int, high: int) -> None:
    """TR-069 §3.2.1.1 Table 3: default wait interval ranges, #10 and subsequent capped."""
    assert RetryPolicy().interval_range(retry) == (low, high)


def test_wait_is_uniform_within_the_range() -> None:
    """§3.2.1.1: the CPE MUST choose the wait randomly from the range."""
    policy = RetryPolicy()
    rng = random.Random(7)
    waits = [policy.wait(3, rng) for _ in range(2000)]
    assert min(waits) >= 20 and max(waits) <= 40
    assert min(waits) < 21 and max(waits) > 39  # really spread over the range


def test_extremes_of_the_random_source() -> None:
    """The range ends are reachable: random 0 → minimum, random 1 → maximum."""

    class Fixed(random.Random):
        def __init__(self, value: float) -> None:
            super().__init__()
            self.value = value

        def random(self) -> float:
            return self.value

    assert RetryPolicy().wait(1, Fixed(0.0)) == 5
    assert RetryPolicy().wait(1, Fixed(1.0)) == 10


def test_parameters_change_the_ranges() -> None:
    """TR-181 CWMPRetryMinimumWaitInterval (m) and CWMPRetryIntervalMultiplier (k/1000)."""
    policy = RetryPolicy(minimum_wait_interval=10, interval_multiplier=1500)
    assert policy.interval_range(1) == (10, 15)
    assert policy.interval_range(2) == (15, 22.5)


def test_out_of_range_parameters_rejected() -> None:
    """TR-181 ranges: m in 1..65535, k in 1000..65535."""
    with pytest.raises(ValueError):
        RetryPolicy(minimum_wait_interval=0)
    with pytest.raises(ValueError):
        RetryPolicy(interval_multiplier=999)
