"""SharedFacts (issue 13, memory): per-device fact caches that share equal content."""

from __future__ import annotations

import asyncio

from proxier.translate import facts
from proxier.translate.facts import SharedFacts, seal_all


def learnt(entries: dict[str, str]) -> SharedFacts[str, str]:
    m: SharedFacts[str, str] = SharedFacts()
    for key, value in entries.items():
        m[key] = value
    return m


def test_issue13_devices_with_the_same_facts_share_one_table() -> None:
    """Issue 13: two devices of one model that learnt the same types hold one dict between
    them once sealed; each still reads exactly its own facts."""
    types = {f"/BBF/DeviceInfo/P{i}": "string" for i in range(50)}
    a, b = learnt(types), learnt(dict(reversed(types.items())))
    seal_all()
    assert a.shared and b.shared
    assert a._base is b._base  # one table for both
    assert dict(a) == dict(b) == types


def test_issue13_a_write_after_sharing_is_the_devices_own() -> None:
    """Copy on write: a fact one device learns later (or forgets) never shows on the other."""
    a, b = learnt({"/x": "string", "/y": "int"}), learnt({"/x": "string", "/y": "int"})
    seal_all()
    a["/y"] = "boolean"
    del b["/x"]
    assert a["/y"] == "boolean" and a.get("/x") == "string" and len(a) == 2
    assert b.get("/x") is None and "/x" not in b and b["/y"] == "int" and list(b) == ["/y"]
    seal_all()
    assert dict(a) == {"/x": "string", "/y": "boolean"} and dict(b) == {"/y": "int"}
    a.clear()
    assert len(a) == 0 and a.get("/y") is None and dict(b) == {"/y": "int"}


async def test_issue13_facts_are_sealed_by_one_process_timer() -> None:
    """A burst of writes is merged into the shared content after SEAL_DELAY by one timer
    for the whole process (no timer per device)."""
    old = facts.SEAL_DELAY
    facts.SEAL_DELAY = 0.01
    try:
        maps = [learnt({"/a": "1", "/b": "2"}) for _ in range(20)]
        assert not any(m.shared for m in maps)
        await asyncio.sleep(0.05)
        assert all(m.shared for m in maps)
        assert len({id(m._base) for m in maps}) == 1
    finally:
        facts.SEAL_DELAY = old
