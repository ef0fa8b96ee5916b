"""Issue 13 "all bootstrapped, online": a device whose description read fails transiently
is read again with back-off (`proxier.virtual.redescribe`), not left missing at the ACS until
its next discovery round."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from proxier.upnp.discovery import DiscoveryEvent
from proxier.virtual.redescribe import Redescriber, RetrySchedule
from tests.virtual.rig import rig


def test_backoff_doubles_from_base_up_to_the_cap() -> None:
    """Issue 13: 5 s, 10 s, 20 s ... capped (no jitter drawn: rand() = 0)."""
    schedule = RetrySchedule(base=5.0, cap=60.0, jitter=0.25, rand=lambda: 0.0)
    delays = [schedule.failed("uuid:a", now=100.0 + i).delay for i in range(6)]
    assert delays == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]


def test_jitter_shortens_never_lengthens_so_a_fleet_spreads_out() -> None:
    """Issue 13: with jitter the delay stays within [(1 - jitter) × d, d], never above the
    cap, so devices that failed together do not retry in lockstep."""
    draws = iter([0.0, 1.0, 0.5])
    schedule = RetrySchedule(base=8.0, cap=8.0, jitter=0.25, rand=lambda: next(draws))
    delays = [schedule.failed(udn, now=0.0).delay for udn in ("uuid:a", "uuid:b", "uuid:c")]
    assert delays == [8.0, 6.0, 7.0]


def test_success_reports_the_outage_and_starts_over() -> None:
    """Issue 13: recovery ends the back-off (the next failure starts at `base` again) and
    says how long the device was unreadable; an unknown key recovers silently."""
    schedule = RetrySchedule(base=5.0, cap=300.0, jitter=0.0)
    schedule.failed("uuid:a", now=10.0)
    retry = schedule.failed("uuid:a", now=15.0)
    assert (retry.attempt, retry.since, retry.delay) == (2, 10.0, 10.0)
    assert schedule.succeeded("uuid:a", now=40.0) == 30.0
    assert "uuid:a" not in schedule
    assert schedule.succeeded("uuid:a", now=41.0) is None
    assert schedule.failed("uuid:a", now=50.0).delay == 5.0


def test_forget_drops_the_device() -> None:
    """Issue 13: a device that leaves (byebye, expiry, forget) is not read again."""
    schedule = RetrySchedule()
    schedule.failed("uuid:a", now=0.0)
    schedule.forget("uuid:a")
    assert "uuid:a" not in schedule and len(schedule) == 0


async def test_timer_replays_the_latest_event_until_read_with_one_log_line_each_way(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 13: a transient failure arms one timer that replays the device's discovery
    event; each further failure re-arms it (back-off), logging nothing more; the read that
    works ends it with one "back to normal" line."""
    caplog.set_level(logging.INFO, logger="proxier")
    replayed: list[DiscoveryEvent] = []
    redescribe = Redescriber(replayed.append, RetrySchedule(base=0.05, cap=0.2, jitter=0.0))
    alive = DiscoveryEvent("alive", "uuid:a", "http://127.0.0.1:1/d.xml")
    for attempt in range(3):
        redescribe.failed("uuid:a", "GET took longer than 5 s")
        redescribe.settle(alive)
        for _ in range(100):
            if len(replayed) > attempt:
                break
            await asyncio.sleep(0.01)
        assert len(replayed) == attempt + 1 and replayed[-1] is alive
    redescribe.recovered("uuid:a")
    redescribe.settle(alive)
    await asyncio.sleep(0.3)
    assert len(replayed) == 3
    lines = [m for m in caplog.messages if m.startswith("uuid:a")]
    assert len(lines) == 2, lines
    assert "reading it again with back-off" in lines[0] and "back to normal" in lines[1]


@pytest.mark.parametrize("kind", ["byebye", "expired"])
async def test_a_device_that_leaves_is_not_read_again(kind: str) -> None:
    """Issue 13: byebye or expiry (and `forget`, `close`) cancel the pending read."""
    replayed: list[DiscoveryEvent] = []
    redescribe = Redescriber(replayed.append, RetrySchedule(base=0.05, cap=0.2, jitter=0.0))
    redescribe.failed("uuid:a", "refused")
    redescribe.settle(DiscoveryEvent("alive", "uuid:a"))
    redescribe.settle(DiscoveryEvent(kind, "uuid:a"))  # type: ignore[arg-type]
    redescribe.failed("uuid:b", "refused")
    redescribe.settle(DiscoveryEvent("alive", "uuid:b"))
    redescribe.close()
    await asyncio.sleep(0.15)
    assert replayed == [] and len(redescribe.schedule) == 0


async def test_all_bootstrapped_online_after_a_transient_scpd_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 13 "all bootstrapped, online": the lab device's SCPDs answer 503 at first (its
    description reads, so discovery knows it); with upnp.probe_interval = 3600 s nothing
    else would read it again, yet once the SCPDs answer it reaches the lab ACS within the
    first back-off step (5 s), with one INFO line for the failure and one for the recovery."""
    caplog.set_level(logging.INFO, logger="proxier")
    async with rig(tmp_path) as r:
        r.upnp = {"probe_interval": 3600}
        (device,) = r.lab.devices
        device.faults.scpd_unavailable = True
        await r.start_proxier()
        failing = [m for m in caplog.messages if "reading it again with back-off" in m]
        for _ in range(100):
            if failing:
                break
            await asyncio.sleep(0.05)
            failing = [m for m in caplog.messages if "reading it again with back-off" in m]
        assert len(failing) == 1 and "HTTP 503" in failing[0], caplog.messages
        assert await r.client.devices() == []
        device.faults.scpd_unavailable = False
        found = await r.devices(1, within=8.0)
        assert found[0]["id"].endswith(device.serial_number)
        await r.inform_with(found[0]["id"], "0 BOOTSTRAP", wait=5.0)
        assert [m for m in caplog.messages if "back to normal after" in m], caplog.messages
        assert not [m for m in caplog.messages if "skipping device" in m], caplog.messages
