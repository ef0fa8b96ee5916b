"""`DeviceRunner`: the thin asyncio driver that owns one `CpeEngine`.

It sleeps until the engine's next timer or a wake-up (Connection Request, value change,
transfer completion) — one timer handle per wait, no polling — then lets the engine fire its
timers and runs the session it asks for over a fresh transport. Hundreds of runners share
one loop; an idle one is a suspended task and costs memory only.
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


class DeviceRunner:
    """Drives one engine on the running event loop until `stop()`."""

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
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._paused = False
        self._stopping = False
        engine.set_wakeup(self._wake.set)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, *, booted: bool = False) -> None:
        """Start driving; `booted` raises "1 BOOT" first (the device just came up)."""
        if booted:
            self.engine.device_booted(self._clock())
        if not self.running:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop after cancelling any session in progress (state is in the store)."""
        task, self._task = self._task, None
        if task is not None:
            # The flag and the wake-up end the loop even if the cancel is lost (Python 3.11's
            # wait_for drops a cancel that races a completed wait).
            self._stopping = True
            self._wake.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Start no sessions until `resume()` (the proxied device is offline, Annex J.2.3).

        Timers are not consumed while paused: what fell due is handled on resume, so
        pending events wait in the store instead of being lost or retried into the void.
        """
        self._paused = True
        self._wake.set()

    def resume(self) -> None:
        self._paused = False
        self._wake.set()

    def connection_request(self) -> bool:
        """For the Connection Request server: False means answer 503 (§3.2.2).

        A paused (offline) device refuses: TR-069 Annex J.2.3 wants 503 for an offline
        proxied device.
        """
        if self._paused:
            return False
        return self.engine.connection_request(self._clock())

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug must not silence the device: log, and keep the timers running.
                log.exception("%s: runner step failed", self.engine.config.device_id.serial_number)
                await asyncio.sleep(1.0)

    async def _step(self) -> None:
        if self._paused:
            self._wake.clear()
            await self._wake.wait()
            return
        timer = self.engine.get_timer()
        now = self._clock()
        if timer is None or timer > now:
            self._wake.clear()
            delay = None if timer is None else timer - now
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            if self._paused or self._stopping:
                return
        now = self._clock()
        if self.engine.transfers_due(now):
            await self.engine.start_due_transfers(now)
        if not self.engine.handle_timer(now):
            stuck = self.engine.get_timer()
            if stuck is not None and stuck <= now and timer is not None and timer <= now:
                # A due time nothing consumes would spin the loop: back off instead.
                log.warning("%s: timer did not advance", self.engine.config.device_id.serial_number)
                await asyncio.sleep(1.0)
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
