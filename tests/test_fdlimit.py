"""proxier.fdlimit (issue 13): a fleet's process raises its soft RLIMIT_NOFILE and says so.

Each case runs in a child interpreter started with a low soft limit, so this test process
keeps its own limits."""

from __future__ import annotations

import resource
import subprocess
import sys

CHILD = """
import logging, resource, sys
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stdout)
from proxier.fdlimit import raise_nofile
got = raise_nofile(int(sys.argv[1]))
print("soft", resource.getrlimit(resource.RLIMIT_NOFILE)[0], "returned", got)
"""


def run_child(devices: int, soft: int, hard: int) -> str:
    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(devices)],
        preexec_fn=limits,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def hard_limit() -> int:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 1 << 20 if hard == resource.RLIM_INFINITY else int(hard)


def test_soft_limit_is_raised_for_2000_devices_and_logged() -> None:
    """Issue 13: 2,000 devices with a soft limit of 256 → raised to 512 + 3 × 2,000, one
    INFO line naming both figures."""
    hard = hard_limit()
    assert hard >= 6512, "this machine's hard limit is too low for the check"
    out = run_child(2000, 256, hard)
    assert "soft 6512 returned 6512" in out
    assert "raised the open-file limit (RLIMIT_NOFILE) from 256 to 6512 for 2000 devices" in out


def test_enough_already_is_left_alone_silently() -> None:
    hard = hard_limit()
    out = run_child(10, min(4096, hard), hard)
    assert out.strip() == f"soft {min(4096, hard)} returned {min(4096, hard)}"


def test_hard_limit_too_low_raises_to_it_and_warns() -> None:
    """Issue 13: when even the hard limit is short, use all of it and warn with the figures."""
    out = run_child(2000, 256, 1024)
    assert "soft 1024 returned 1024" in out
    assert "WARNING open-file limit 1024 (hard limit 1024) is below the 6512 wanted" in out
