"""`DeviceRunner`: the thin asyncio driver that owns one `CpeEngine`.

An idle runner is one timer handle on the event loop's own heap (`loop.call_at`), set for
the engine's next timer and moved whenever a wake-up (Connection Request, value change,
transfer completion) changes it; no task, no coroutine frame, no polling. When the timer
falls due, one short-lived task fires the engine's timers and runs the session it asks for
over a fresh transport, then the runner goes back to a timer handle. Thousands of runners
share one loop this way (issue 13: a suspended task per device cost KiBs of memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from proxier.cwmp.engine import AcsSettings, CpeEngine, SessionResult
from proxier.cwmp.transport import AcsTransport
from proxier.logsafe import get_logger

log = get_logger(__name__)

#: Builds the transport for one session from where the ACS is right now.
TransportFactory = Callable[[AcsSettings], AcsTransport]

#: Seconds a runner waits after a failed step (a bug) or a timer nothing consumed.
BACKOFF = 1.0


class DeviceRunner:
    """Drives one engine on the running event loop until `stop()`."""

    __slots__ = (
        "_clock",
        "_factory",
        "_handle",
        "_handle_at",
        "_hold_until",
        "_on_session",
        "_paused",
        "_started",
        "_step",
        "engine",
    )

    def __init__(
        self,
        engine: CpeEngine,
        transport_factory: TransportFactory,
        *,
        clock: Callable[[], float] = time.time,
        on_session: Callable[[SessionResult], None] | None = None,
    ) -> None:
        self.engine = engine
        self._factory = transport_factory
        self._clock = clock
        self._on_session = on_session
        #: the loop timer set for the engine's next timer (None: nothing due, or busy)
        self._handle: asyncio.TimerHandle | None = None
        self._handle_at: float | None = None  # the engine timer it is set for
        #: the step in progress (timers fired, maybe a session), only while it runs
        self._step: asyncio.Task[None] | None = None
        self._hold_until = 0.0  # monotonic: no step before (back-off)
        self._paused = False
        self._started = False
        engine.set_wakeup(self.wake)

    @property
    def running(self) -> bool:
        return self._started

    def start(self, *, booted: bool = False) -> None:
        """Start driving; `booted` raises "1 BOOT" first (the device just came up)."""
        if booted:
            self.engine.device_booted(self._clock())
        if not self._started:
            self._started = True
            self.wake()

    async def stop(self) -> None:
        """Stop after cancelling any session in progress (state is in the store)."""
        self._started = False
        self._cancel_timer()
        step, self._step = self._step, None
        if step is not None:
            step.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await step

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Start no sessions until `resume()` (the proxied device is offline, Annex J.2.3).

        Timers are not consumed while paused: what fell due is handled on resume, so
        pending events wait in the store instead of being lost or retried into the void.
        """
        self._paused = True
        self._cancel_timer()

    def resume(self) -> None:
        self._paused = False
        self.wake()

    def connection_request(self) -> bool:
        """For the Connection Request server: False means answer 503 (§3.2.2).

        A paused (offline) device refuses: TR-069 Annex J.2.3 wants 503 for an offline
        proxied device.
        """
        if self._paused:
            return False
        return self.engine.connection_request(self._clock())

    def wake(self) -> None:
        """The engine's timers may have changed: set the loop timer for the next one.

        During a step nothing is set: the step's end looks again."""
        if not self._started or self._paused or self._step is not None:
            self._cancel_timer()
            return
        timer = self.engine.get_timer()
        if timer is not None and timer == self._handle_at:
            return  # set for that already (a cancelled handle lingers in the loop's heap)
        self._cancel_timer()
        if timer is None:
            return
        loop = asyncio.get_running_loop()
        delay = max(timer - self._clock(), self._hold_until - time.monotonic(), 0.0)
        self._handle = loop.call_later(delay, self._fire)
        self._handle_at = timer

    def _cancel_timer(self) -> None:
        self._handle_at = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = self._handle_at = None
        if not self._started or self._paused or self._step is not None:
            return
        step = asyncio.get_running_loop().create_task(self._run_step())
        self._step = step
        step.add_done_callback(self._stepped)

    def _stepped(self, step: asyncio.Task[None]) -> None:
        if self._step is not step:
            return  # stopped: `stop()` owns it
        self._step = None
        if not step.cancelled() and step.exception() is not None:
            # A bug must not silence the device: log, and keep the timers running.
            log.error(
                "%s: runner step failed",
                self.engine.config.device_id.serial_number,
                exc_info=step.exception(),
            )
            self._hold_until = time.monotonic() + BACKOFF
        self.wake()

    async def _run_step(self) -> None:
        now = self._clock()
        timer = self.engine.get_timer()
        if self.engine.transfers_due(now):
            await self.engine.start_due_transfers(now)
        if not self.engine.handle_timer(now):
            stuck = self.engine.get_timer()
            if stuck is not None and stuck <= now and timer is not None and timer <= now:
                # A due time nothing consumes would spin the loop: back off instead.
                log.warning("%s: timer did not advance", self.engine.config.device_id.serial_number)
                self._hold_until = time.monotonic() + BACKOFF
            return
        try:
            transport = self._factory(self.engine.acs_settings())
        except Exception as exc:
            self.engine.session_not_started(self._clock(), f"no transport: {exc}")
            return
        try:
            result = await self.engine.run_session(transport)
        finally:
            with contextlib.suppress(Exception):
                await transport.close()
        if self._on_session is not None:
            self._on_session(result)
