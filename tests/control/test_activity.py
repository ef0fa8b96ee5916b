"""Issue 11 embedding: the activity feed's rules (callbacks, stream, bounded history)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from proxier.control.activity import ActivityLog


def test_callbacks_by_kind_and_a_failing_one_is_contained(caplog: pytest.LogCaptureFixture) -> None:
    """A consumer's exception is logged once per call and never reaches the producer."""
    log = ActivityLog(clock=lambda: 42.0)
    sessions: list[str] = []
    everything: list[str] = []

    def broken(_: object) -> None:
        raise RuntimeError("agent bug")

    log.on("session", lambda a: sessions.append(a.device))
    log.on(None, lambda a: everything.append(a.kind))
    off = log.on("online", broken)
    with caplog.at_level(logging.WARNING):
        log.emit("online", "DEV-1", reason="first discovery")
    assert "agent bug" in caplog.text
    off()
    off()  # twice is harmless
    item = log.emit("session", "DEV-1", ok=True, reason="", events=["1 BOOT"], rpcs=0)
    assert sessions == ["DEV-1"] and everything == ["online", "session"]
    assert item.as_dict() == {
        "seq": 2,
        "time": 42.0,
        "kind": "session",
        "device": "DEV-1",
        "ok": True,
        "reason": "",
        "events": ["1 BOOT"],
        "rpcs": 0,
    }
    assert log.last_session["DEV-1"] is item and log.reason["DEV-1"] == "first discovery"
    with pytest.raises(ValueError, match="unknown activity kind"):
        log.on("sesion", print)  # type: ignore[arg-type]


def test_history_is_bounded_and_filtered() -> None:
    log = ActivityLog(clock=lambda: 0.0, size=3)
    for i in range(5):
        log.emit("event", f"DEV-{i % 2}", code="4 VALUE CHANGE", command_key="")
    assert [a.seq for a in log.recent()] == [3, 4, 5]
    assert [a.seq for a in log.recent(since=3, device="DEV-0")] == [5]
    assert log.last_seq == 5


async def test_stream_gets_what_follows_and_drops_oldest_when_behind() -> None:
    log = ActivityLog(clock=lambda: 0.0)
    stream = log.subscribe()
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # the consumer is waiting now
    log.emit("device_added", "DEV-1", instance=1)
    assert (await first).kind == "device_added"
    for i in range(1005):  # a consumer that fell 1005 behind keeps the newest 1000
        log.emit("event", "DEV-1", code=str(i), command_key="")
    assert (await anext(stream)).detail["code"] == "5"
    await stream.aclose()
