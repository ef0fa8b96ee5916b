"""DeviceRunner: the asyncio driver around one engine (timers only, no polling)."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from proxier.cwmp.engine import AcsSettings, CpeEngine, EngineConfig, SessionResult
from proxier.cwmp.memory import device2_backend
from proxier.cwmp.rpc import DeviceIdStruct
from proxier.cwmp.runner import DeviceRunner
from proxier.cwmp.store import DeviceStore
from tests.cwmp.acs_peer import ScriptedAcs

URL = "http://127.0.0.1:7547/"


def make(tmp_path: Path, serial: str) -> tuple[CpeEngine, DeviceStore]:
    device = DeviceIdStruct("Acme", "00D09E", "Lamp", serial)
    store = DeviceStore(tmp_path / f"{serial}.sqlite")
    engine = CpeEngine(
        device2_backend(device, acs_url=URL),
        store,
        EngineConfig(device, URL, periodic_inform_enable=False),
        rng=random.Random(3),
    )
    return engine, store


async def test_runner_delivers_boot_then_connection_request(tmp_path: Path) -> None:
    """§3.2.1: a session on boot/bootstrap; §3.2.2: a Connection Request starts one session
    with "6 CONNECTION REQUEST"; the transport is closed after each session."""
    engine, store = make(tmp_path, "R1")
    peers: list[ScriptedAcs] = []
    results: asyncio.Queue[SessionResult] = asyncio.Queue()

    def factory(settings: AcsSettings) -> ScriptedAcs:
        assert settings.url == URL
        peers.append(ScriptedAcs())
        return peers[-1]

    runner = DeviceRunner(engine, factory, on_session=results.put_nowait)
    runner.start(booted=True)
    first = await asyncio.wait_for(results.get(), 10)
    assert first.ok and set(first.events) == {"0 BOOTSTRAP", "1 BOOT"}
    assert runner.connection_request()
    second = await asyncio.wait_for(results.get(), 10)
    assert second.events == ("6 CONNECTION REQUEST",)
    assert [p.closed for p in peers] == [1, 1]
    await runner.stop()
    assert not runner.running
    store.close()


async def test_idle_runners_do_not_poll(tmp_path: Path) -> None:
    """Design target: an idle virtual device costs memory only — no timer, no wake-ups."""
    runners = []
    calls = 0
    done: asyncio.Queue[SessionResult] = asyncio.Queue()
    stores = []
    for i in range(20):
        engine, store = make(tmp_path, f"I{i}")
        stores.append(store)
        original = engine.handle_timer

        def counting(now: float, original=original) -> bool:  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            return bool(original(now))

        engine.handle_timer = counting  # type: ignore[method-assign]
        runner = DeviceRunner(engine, lambda s: ScriptedAcs(), on_session=done.put_nowait)
        runner.start()
        runners.append(runner)
    for _ in range(20):
        await asyncio.wait_for(done.get(), 10)  # each delivers its BOOTSTRAP once
    for _ in range(20):
        await asyncio.sleep(0)
    settled = calls
    assert all(r.engine.get_timer() is None for r in runners)
    for _ in range(200):
        await asyncio.sleep(0)
    assert calls == settled
    for r in runners:
        await r.stop()
    for s in stores:
        s.close()


async def test_paused_runner_holds_events_and_refuses_connection_requests(
    tmp_path: Path,
) -> None:
    """TR-069 Annex J.2.3: an offline proxied device answers Connection Requests with 503
    and starts no sessions; its pending events go out once it is back (§3.7.1.5)."""
    engine, store = make(tmp_path, "P1")
    results: asyncio.Queue[SessionResult] = asyncio.Queue()
    runner = DeviceRunner(engine, lambda s: ScriptedAcs(), on_session=results.put_nowait)
    runner.pause()
    runner.start(booted=True)
    assert not runner.connection_request()
    for _ in range(20):
        await asyncio.sleep(0)
    assert results.empty()
    assert {e.code for e in store.events()} >= {"0 BOOTSTRAP", "1 BOOT"}
    runner.resume()
    first = await asyncio.wait_for(results.get(), 10)
    assert set(first.events) == {"0 BOOTSTRAP", "1 BOOT"}
    assert runner.connection_request()
    await runner.stop()
    store.close()


async def test_stop_during_session_is_a_failed_attempt(tmp_path: Path) -> None:
    """§3.2.1.1: a session cut short (runner stopped) counts as failed — RetryCount grows and
    a retry is scheduled; a new runner on the same engine picks the timers up again."""
    engine, store = make(tmp_path, "S1")
    posted = asyncio.Event()

    class Hanging(ScriptedAcs):
        async def post(self, body: bytes):  # type: ignore[no-untyped-def]
            posted.set()
            await asyncio.Event().wait()

    runner = DeviceRunner(engine, lambda s: Hanging())
    runner.start(booted=True)
    await asyncio.wait_for(posted.wait(), 10)
    assert engine.in_session
    await runner.stop()
    assert not engine.in_session and engine.retry_count == 1
    assert store.get_meta("session_open") == "0"
    timer = engine.get_timer()
    assert timer is not None
    results: asyncio.Queue[SessionResult] = asyncio.Queue()
    again = DeviceRunner(engine, lambda s: ScriptedAcs(), on_session=results.put_nowait)
    engine.raise_event("8 DIAGNOSTICS COMPLETE")  # a new event: retry at once
    again.start()
    result = await asyncio.wait_for(results.get(), 10)
    assert result.ok and "0 BOOTSTRAP" in result.events and engine.retry_count == 0
    await again.stop()
    store.close()


async def test_unusable_acs_url_is_retried_on_schedule(tmp_path: Path) -> None:
    """§3.2.1.1: when no transport can be built (e.g. a bad ACS URL) the attempt counts as
    failed and waits a Table 3 interval, instead of spinning."""
    engine, store = make(tmp_path, "U1")
    attempts = 0
    tried = asyncio.Event()

    def factory(settings: AcsSettings) -> ScriptedAcs:
        nonlocal attempts
        attempts += 1
        tried.set()
        raise ValueError("ACS URL must be http(s)")

    runner = DeviceRunner(engine, factory)
    runner.start(booted=True)
    await asyncio.wait_for(tried.wait(), 10)
    for _ in range(50):
        await asyncio.sleep(0)
    assert attempts == 1 and engine.retry_count == 1
    timer = engine.get_timer()
    assert timer is not None and timer > time.time() + 4
    await runner.stop()
    store.close()


async def test_issue13_idle_runner_is_a_loop_timer_that_still_fires(tmp_path: Path) -> None:
    """Issue 13 (memory): between sessions a runner holds no task, only a timer handle on
    the event loop's heap; the timer still fires the periodic Inform ("2 PERIODIC",
    TR-069 §3.2.1) at its time."""
    device = DeviceIdStruct("Acme", "00D09E", "Lamp", "T1")
    store = DeviceStore(tmp_path / "T1.sqlite")
    engine = CpeEngine(
        device2_backend(device, acs_url=URL),
        store,
        EngineConfig(device, URL, periodic_inform_enable=True, periodic_inform_interval=1),
        rng=random.Random(3),
    )
    results: asyncio.Queue[SessionResult] = asyncio.Queue()
    runner = DeviceRunner(engine, lambda s: ScriptedAcs(), on_session=results.put_nowait)
    runner.start(booted=True)
    first = await asyncio.wait_for(results.get(), 10)
    assert "1 BOOT" in first.events
    await asyncio.sleep(0)
    mine = [t for t in asyncio.all_tasks() if "DeviceRunner" in repr(t.get_coro())]
    assert mine == []  # no task while idle …
    handles = [
        h
        for h in asyncio.get_running_loop()._scheduled  # type: ignore[attr-defined]
        if not h.cancelled() and getattr(h._callback, "__self__", None) is runner
    ]
    assert len(handles) == 1  # … one timer handle
    periodic = await asyncio.wait_for(results.get(), 5)
    assert "2 PERIODIC" in periodic.events
    await runner.stop()
    assert not runner.running
    store.close()
