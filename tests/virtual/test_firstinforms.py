"""The "first Informs first" gate (issue 13, bootstrap; virtual/firstinforms.py)."""

from __future__ import annotations

import asyncio

from proxier.virtual.firstinforms import FirstInforms


async def test_deferred_work_starts_once_no_device_waits_for_its_first_session() -> None:
    """Issue 13 rule: later work waits while any device waits for its first session."""
    gate = FirstInforms()
    gate.started("a")
    gate.started("b")
    turn = asyncio.create_task(gate.turn())
    await asyncio.sleep(0.05)
    gate.ended("a")
    await asyncio.sleep(0.05)
    assert not turn.done()
    gate.ended("b")
    await asyncio.wait_for(turn, 1.0)
    assert gate.waiting == 0


async def test_deferred_work_is_bounded_when_first_sessions_never_end() -> None:
    """Issue 13 rule "bounded, not starved forever": an ACS that never answers delays the
    later work by `longest` only."""
    gate = FirstInforms(longest=0.1)
    gate.started("a")
    await asyncio.wait_for(gate.turn(), 1.0)
    assert gate.waiting == 1


async def test_no_wait_when_no_device_waits() -> None:
    """Steady state: nothing is deferred."""
    gate = FirstInforms(longest=30)
    await asyncio.wait_for(gate.turn(), 0.5)
