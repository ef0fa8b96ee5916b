"""Stop time of a fleet: `bench_stop.py [COUNT]` (default 300; the figure of record is 2000).

Three real processes on loopback, started as bench_fleet.py starts them (`proxier labacs
serve`, `proxier lab --devices COUNT`, `proxier run` with the lab's description URLs and the
admission limits raised to COUNT). Once every device has informed the ACS and the proxier is
idle, it gets SIGTERM; measured is SIGTERM → process exit (wall time, and the process's CPU
seconds from its rusage, which the machine's other load does not inflate), against the same
for a proxier with one lab device in the same run (the baseline). Also printed: the log's
stopping/stopped lines, ERROR lines and tracebacks. Target: ≤ 2 s with 2,000 devices (well
inside the 3 s the operator-facing rule allows, and systemd's default stop timeout).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from bench_fleet import (
    cpu_seconds,
    log_problems,
    settle,
    start_acs,
    start_lab,
    start_proxier,
    stop,
    verdict,
    wait_devices,
    write_config,
)

DEFAULT_COUNT = 300  # `make bench` runs every script: this one stays short
STOP_TARGET_S = 2.0


async def stop_time(tmp: Path, name: str, urls: list[str]) -> float:
    """Start a lab ACS and a proxier over `urls`, wait until all informed and the proxier is
    idle, SIGTERM it: seconds until it exited."""
    log = tmp / f"{name}.log"
    acs, acs_url, rest = await start_acs(tmp)
    proxier = start_proxier(write_config(tmp, name, acs_url, urls), log)
    try:
        async with aiohttp.ClientSession() as http:
            got, _ = await wait_devices(http, rest, len(urls), 60 + len(urls) * 0.1)
        if got == 0:
            raise RuntimeError(f"{name}: no device informed the ACS")
        if got < len(urls):  # a description fetch timed out under load: retried much later
            print(f"{name}: {got} of {len(urls)} devices informed; stopping it regardless")
        await settle(proxier.pid)
        cpu_before = cpu_seconds(proxier.pid)
        start = time.perf_counter()
        proxier.terminate()
        _, status, usage = await asyncio.to_thread(os.wait4, proxier.pid, 0)
        took = time.perf_counter() - start
        proxier.returncode = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime - cpu_before
    finally:
        stop(proxier)
        stop(acs)
    text = log.read_text(errors="replace")
    lines = [ln for ln in text.splitlines() if "stopping (" in ln or "stopped (" in ln]
    problems = log_problems(log)
    print(
        f"{name}: {len(urls)} device(s): SIGTERM → exit {took:6.2f} s ({cpu:5.2f} s of CPU),"
        " exit status"
        f" {proxier.returncode}, stopping/stopped lines {len(lines)}/2, {len(problems)} ERROR"
        " line(s)",
        flush=True,
    )
    for line in problems[:5]:
        print(f"  {line}")
    return took


async def main(count: int) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="proxier-bench-stop-"))
    lab = one = None
    try:
        one, one_urls = await start_lab(1, tmp)
        base = await stop_time(tmp, "one", one_urls)
        stop(one)
        lab, urls = await start_lab(count, tmp)
        took = await stop_time(tmp, "fleet", urls)
        print(
            f"stop: {count} devices {took:6.2f} s (×{took / base:5.2f} of 1 device,"
            f" {base:5.2f} s)  ≤ {STOP_TARGET_S:.0f} s: {verdict(took <= STOP_TARGET_S)}",
            flush=True,
        )
    finally:
        for proc in (lab, one):
            if proc is not None and proc.poll() is None:
                stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_COUNT)))
