"""proxier.memtrim (issue 13, memory): free C-heap pages go back to the OS after a burst."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from proxier import dbfile, memtrim
from proxier.dbfile import PrivateDatabase


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@pytest.mark.skipif(not memtrim.available(), reason="the C library has no malloc_trim")
def test_issue13_trim_returns_free_heap_pages_between_live_chunks() -> None:
    """Issue 13: memory freed in the middle of the C heap (a burst's buffers between what
    stays) is RSS until trimmed; `trim()` gives it back."""
    burst = []
    keep = []
    for _ in range(4000):
        burst.append(bytearray(8192))  # below the mmap threshold: from the heap
        keep.append(bytearray(600))  # a small survivor after each: the heap cannot shrink
    for chunk in burst:
        chunk[::4096] = b"x" * len(chunk[::4096])  # touch every page
    burst.clear()
    before = rss_kib()
    assert memtrim.trim()
    after = rss_kib()
    assert before - after > 16 * 1024, (before, after)  # most of the ~32 MiB freed
    assert len(keep) == 4000


async def test_issue13_a_burst_of_released_databases_ends_with_one_trim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: once TRIM_AFTER connections were released and few remain open (a
    bootstrap or storm is over), the pool trims the heap once, on its closer thread."""
    trims: list[str] = []
    monkeypatch.setattr(dbfile.OPEN, "idle", 0.05)
    monkeypatch.setattr(dbfile.OPEN, "released", 0)
    monkeypatch.setattr(memtrim, "trim", lambda: trims.append("trim") or True)
    databases = [PrivateDatabase(tmp_path / f"d{i}.sqlite") for i in range(dbfile.TRIM_AFTER)]
    for database in databases:
        database.connection.execute("CREATE TABLE IF NOT EXISTS t (v INTEGER)")
    for _ in range(100):
        await asyncio.sleep(0.02)
        if len(dbfile.OPEN) == 0:
            break
    await asyncio.to_thread(dbfile.wait_released)
    assert len(dbfile.OPEN) == 0
    assert trims == ["trim"]
    for database in databases:
        database.close()
