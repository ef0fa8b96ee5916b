"""EventFeed (issue 13, memory): a device's events handled in order, one at a time, with a
task only while events wait."""

from __future__ import annotations

import asyncio

from proxier.virtual.eventfeed import EventFeed


async def test_issue13_idle_feed_holds_no_task_and_events_keep_their_order() -> None:
    """Issue 13: an idle virtual device holds no event task; events pushed in a burst are
    handled one at a time, in arrival order (a later event never overtakes)."""
    seen: list[int] = []
    running = 0

    async def handle(item: int) -> None:
        nonlocal running
        running += 1
        assert running == 1, "two events handled at once"
        await asyncio.sleep(0.001 * (3 - item % 3))
        seen.append(item)
        running -= 1

    feed: EventFeed[int] = EventFeed(handle, name="dev-1")
    assert not feed.busy
    for item in range(10):
        feed.push(item)
    assert feed.busy
    for _ in range(200):
        if not feed.busy:
            break
        await asyncio.sleep(0.01)
    assert seen == list(range(10))
    assert not feed.busy  # the drain task ended with the backlog
    feed.push(10)
    await asyncio.sleep(0.05)
    assert seen[-1] == 10 and not feed.busy
    await feed.close()


async def test_issue13_feed_drops_the_oldest_beyond_its_limit_and_survives_a_failure() -> None:
    """Issue 13: a consumer that falls behind loses the oldest waiting events (never blocks
    the GENA server); a handler failure is logged and the next event is still handled."""
    gate = asyncio.Event()
    seen: list[int] = []

    async def handle(item: int) -> None:
        if item == 0:
            await gate.wait()
        if item == 4:
            raise RuntimeError("bug in one event")
        seen.append(item)

    feed: EventFeed[int] = EventFeed(handle, name="dev-2", limit=3)
    feed.push(0)
    await asyncio.sleep(0)  # 0 is being handled, waiting on the gate
    for item in range(1, 7):
        feed.push(item)  # 1..6 wait; only the last 3 (4, 5, 6) are kept
    gate.set()
    for _ in range(100):
        if not feed.busy:
            break
        await asyncio.sleep(0.01)
    assert seen == [0, 5, 6]
    await feed.close()


async def test_issue13_close_lets_waiting_events_finish_then_ignores_new_ones() -> None:
    """Detaching a device handles what already arrived (bounded), then nothing more."""
    seen: list[int] = []

    async def handle(item: int) -> None:
        await asyncio.sleep(0.01)
        seen.append(item)

    feed: EventFeed[int] = EventFeed(handle, name="dev-3")
    feed.push(1)
    feed.push(2)
    await feed.close(wait=5.0)
    assert seen == [1, 2]
    feed.push(3)
    await asyncio.sleep(0.03)
    assert seen == [1, 2] and not feed.busy


async def test_issue13_close_cancels_a_handler_that_does_not_finish() -> None:
    """A hung handler does not hold a detach longer than `wait`."""
    started = asyncio.Event()

    async def handle(item: int) -> None:
        started.set()
        await asyncio.Event().wait()

    feed: EventFeed[int] = EventFeed(handle, name="dev-4")
    feed.push(1)
    await started.wait()
    await asyncio.wait_for(feed.close(wait=0.05), 2)
    assert not feed.busy
