"""500 virtual devices in one proxier process (issues 4 and 13): bootstrap time and the RSS of
an idle virtual device, with where that memory goes.

`proxier labacs serve` and `proxier lab --devices 500` run as their own processes on
loopback (so this process's RSS is the proxier's alone); one Proxier in this process
discovers all 500 through description URLs and each virtual device bootstraps. Measured in
the same run:
- RSS of this process before the proxier starts (Python + proxier + deps imported): the
  baseline;
- time from Proxier start until the ACS has an Inform from all 500 devices; per device;
- RSS per idle virtual device = (RSS after an idle spell − RSS before) / 500, against the
  issue 13 target (≤ 96 KiB) and as a ratio of the baseline;
- where it goes: Python objects (pymalloc arenas: live / held), the C heap (glibc: in use /
  free), shared-library pages, from /proc/self/smaps, mallinfo2 and sys._debugmallocstats.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_fleet import stop

from proxier.api import Proxier
from proxier.config import from_dict

DEVICES = 500
WITHIN = 110.0  # seconds
#: An idle spell after the bootstrap: sqlite connections close (5 s), HTTP keep-alives end.
IDLE = float(os.environ.get("SCALE_IDLE_SECONDS", "20"))
RSS_TARGET_KIB = 96.0  # issue 13


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def smaps_kib() -> dict[str, int]:
    """RSS by kind of mapping: C heap, anonymous (pymalloc arenas …), shared libraries."""
    out = {"heap": 0, "anon": 0, "libs": 0, "other": 0}
    kind = "other"
    for line in Path("/proc/self/smaps").read_text().splitlines():
        parts = line.split()
        if parts and "-" in parts[0] and not parts[0].endswith(":"):
            name = parts[5] if len(parts) > 5 else ""
            kind = (
                "heap"
                if name == "[heap]"
                else "anon"
                if not name
                else "libs"
                if ".so" in name
                else "other"
            )
        elif parts and parts[0] == "Rss:":
            out[kind] += int(parts[1])
    return out


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
        ).split()
    ]


def c_heap_kib() -> tuple[int, int] | None:
    """(in use, free) KiB of glibc's malloc arenas; None elsewhere."""
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _Mallinfo2
    info = mallinfo2()
    return info.uordblks >> 10, info.fordblks >> 10


def pymalloc_kib() -> tuple[int, int] | None:
    """(live objects, arenas held) KiB of Python's small-object allocator."""
    with tempfile.TemporaryFile() as f:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(f.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read().decode(errors="replace")
    live = re.search(r"# bytes in allocated blocks\s*=\s*([\d,]+)", text)
    arenas = re.search(r"(\d+) arenas \* (\d+) bytes/arena", text)
    if live is None or arenas is None:
        return None
    held = int(arenas.group(1)) * int(arenas.group(2))
    return int(live.group(1).replace(",", "")) >> 10, held >> 10


def snapshot() -> dict[str, int]:
    out = {"rss": rss_kib(), **smaps_kib()}
    heap = c_heap_kib()
    if heap is not None:
        out["c_used"], out["c_free"] = heap
    py = pymalloc_kib()
    if py is not None:
        out["py_live"], out["py_held"] = py
    return out


def spawn(args: list[str], log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "proxier", *args],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )


async def child(args: list[str], lines: int, log: Path) -> tuple[subprocess.Popen[str], list[str]]:
    """`proxier ARGS` and the first `lines` lines it prints (its URLs)."""
    proc = spawn(args, log)
    assert proc.stdout is not None
    out: list[str] = []
    while len(out) < lines:
        line = await asyncio.to_thread(proc.stdout.readline)
        if not line:
            raise RuntimeError(f"`proxier {args[0]}` stopped: see {log}")
        out.append(line.strip())
    return proc, out


async def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="proxier-bench-scale-"))
    acs, first = await child(
        ["labacs", "serve", "--port", "0", "--db", ":memory:"], 1, tmp / "acs.log"
    )
    lab = None
    try:
        found = re.search(r"CWMP (\S+)\s+REST (\S+)/devices", first[0])
        if found is None:
            raise RuntimeError(f"lab ACS did not start: {first[0]!r}")
        acs_url, rest = found.group(1), found.group(2)
        lab, urls = await child(["lab", "--devices", str(DEVICES)], DEVICES, tmp / "lab.log")
        config = from_dict(
            {
                "acs": {"url": acs_url, "periodic_inform_interval": 3600},
                "connection_request": {"port": 0},
                "upnp": {
                    "description_urls": urls,
                    "probe_interval": 1800,  # as bench_fleet: no description polling
                    # issue 12's admission limits (128, 32 new a minute) sized to the bench
                    "max_devices": DEVICES,
                    "max_new_devices_per_minute": DEVICES,
                },
                "state": {"dir": str(tmp / "state")},
                "privacy": {"mode": "auto"},  # proxied at once (default: approve)
                "api": {"enable": False},
            }
        )
        return await measure(config, rest)
    finally:
        if lab is not None:
            stop(lab)
        stop(acs)


async def informed(rest: str) -> int:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(f"{rest}/devices") as r:
        devices = await r.json()
    return sum(1 for d in devices if d["deviceId"]["serialNumber"].startswith("LAB"))


async def measure(config: object, rest: str) -> int:
    before = snapshot()
    start = time.perf_counter()
    async with Proxier(config) as proxier:  # type: ignore[arg-type]
        count = 0
        marks: dict[int, float] = {}
        while time.perf_counter() - start < WITHIN:
            count = await informed(rest)
            for step in (1, 100, 250, DEVICES):
                if count >= step and step not in marks:
                    marks[step] = time.perf_counter() - start
            if count >= DEVICES:
                break
            await asyncio.sleep(0.5)
        elapsed = marks.get(DEVICES, time.perf_counter() - start)
        await asyncio.sleep(IDLE)
        after = snapshot()
        online = sum(1 for row in proxier.virtual_devices() if row["online"])
    print(f"{DEVICES} lab devices; {count} informed the ACS, {online} online in the proxier")
    for step, at in sorted(marks.items()):
        print(f"  {step:4d} device(s) informed after {at:7.2f} s")
    n = max(count, 1)
    print(f"bootstrap of {count}: {elapsed:.2f} s, {elapsed / n * 1e3:.1f} ms/device")
    idle = before["rss"]
    per_device = (after["rss"] - idle) / n
    print(f"idle process RSS (baseline):   {idle / 1024:8.1f} MiB")
    print(
        f"RSS after {count} virtual devices and {IDLE:.0f} s idle: {after['rss'] / 1024:8.1f} MiB"
    )
    print(
        f"RSS per idle virtual device:   {per_device:8.1f} KiB "
        f"(×{per_device / idle:.4f} of the idle process; {count} devices ="
        f" ×{(after['rss'] - idle) / idle:.2f})  ≤ {RSS_TARGET_KIB:.0f} KiB:"
        f" {'OK' if per_device <= RSS_TARGET_KIB else 'MISSED'}"
    )
    print("  where it goes, KiB per device (after − before) / devices:")
    for key, what in (
        ("anon", "anonymous mappings (Python's pymalloc arenas …)"),
        ("py_live", "  of which live Python objects (pymalloc)"),
        ("py_held", "  pymalloc arenas held (live + free inside them)"),
        ("heap", "C heap (glibc [heap]: sqlite, big Python objects, …)"),
        ("c_used", "  malloc in use (all arenas)"),
        ("c_free", "  malloc free, not returned (trimmed pages are not RSS)"),
        ("libs", "shared-library pages (fixed, paged in on first use)"),
    ):
        if key in after and key in before:
            print(f"    {what:<58} {(after[key] - before[key]) / n:7.1f}")
    if count < DEVICES:
        print(f"FAILED: only {count} of {DEVICES} devices bootstrapped within {WITHIN:.0f} s")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
