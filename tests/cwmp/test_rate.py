"""`acs.session_rate` (issue 13): session starts paced across all virtual devices.

The pacer alone (sans-IO, exact times) and the shared transport limit over real sockets:
a scripted ACS (aiohttp) records when each session's first POST arrives.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest
from aiohttp import web

from proxier.cwmp.engine import AcsSettings
from proxier.cwmp.http import HttpSettings, transport_factory
from proxier.cwmp.limit import limited
from proxier.cwmp.rate import SessionPacer


def test_unlimited_rate_never_delays() -> None:
    """Issue 13: session_rate = 0 (the lab default) is a storm: every session starts now."""
    pacer = SessionPacer(0)
    assert [pacer.delay(5.0) for _ in range(100)] == [0.0] * 100


def test_slots_are_one_interval_apart_in_asking_order() -> None:
    """Issue 13: at 4 sessions/s the n-th asker starts n × 0.25 s later, first come first
    served; a quiet spell does not bank a burst."""
    pacer = SessionPacer(4)
    assert [pacer.delay(10.0) for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]
    assert pacer.delay(10.1) == pytest.approx(0.9)
    assert pacer.delay(100.0) == 0.0
    assert pacer.delay(100.0) == 0.25


def test_negative_rate_is_refused() -> None:
    with pytest.raises(ValueError):
        SessionPacer(-1)


async def first_posts(rate: float, parallel: int, sessions: int) -> list[float]:
    """Open `sessions` sessions through one limited factory against a scripted ACS; the
    arrival times (loop clock) of their first POSTs, in order."""
    loop = asyncio.get_running_loop()
    arrivals: list[float] = []

    async def acs(request: web.Request) -> web.Response:
        await request.read()
        arrivals.append(loop.time())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/acs", acs)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    make = limited(
        transport_factory(HttpSettings(url="http://invalid/")),
        asyncio.Semaphore(parallel),
        SessionPacer(rate) if rate else None,
    )

    async def session() -> None:
        transport = make(AcsSettings(url=f"http://127.0.0.1:{port}/acs"))
        try:
            await transport.post(b"<Inform/>")
        finally:
            await transport.close()

    try:
        await asyncio.gather(*(session() for _ in range(sessions)))
    finally:
        await runner.cleanup()
    return arrivals


async def test_session_rate_spaces_first_posts_on_the_wire() -> None:
    """Issue 13 (acs.session_rate): 10 sessions at 20/s start 50 ms apart, so their first
    POSTs reach the ACS spread over 9 × 50 ms (less the connection set-up jitter of the
    loopback), none lost; unpaced they arrive within a few ms of each other."""
    arrivals = await first_posts(rate=20, parallel=16, sessions=10)
    assert len(arrivals) == 10
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.03
    assert arrivals[-1] - arrivals[0] >= 0.40


async def test_unlimited_rate_is_a_storm_bounded_by_parallel_sessions() -> None:
    """Issue 13 (storm): without session_rate all 30 sessions run, max_parallel_sessions at
    a time; all reach the ACS well inside the time a 20/s ramp would take (1.5 s)."""
    arrivals = await first_posts(rate=0, parallel=8, sessions=30)
    assert len(arrivals) == 30
    assert arrivals[-1] - arrivals[0] < 1.0
