"""WPS introduction, the control point's side (issue 9; dp-wps.md §1, §6).

`introduce()` runs one WSC registration as Registrar over DeviceProtection
SendSetupMessage: empty InMessage → M1, M2D → WSC_ACK (ready) or WSC_NACK (the user must
press the button), then M2 … M8 → WSC_Done. While the device is not ready it waits at most
the walk time (120 s), asking again with M2D (outside the Authenticator chain, so harmless)
each time SetupReady may have changed. PBC overlap (two distinct PBC devices within the
walk time) fails with Configuration Error 12. The caller gives the transport as `send`.

`Introducer` is the `DpManager.introduce` hook: it decides when a run may happen (once per
device on its own; again only on operator request or after a long back-off: never a loop),
and keeps the status text the API and `proxier status` show.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from proxier.logsafe import get_logger
from proxier.upnp.device import UpnpError
from proxier.wsc import tlv
from proxier.wsc.crypto import pin_valid
from proxier.wsc.pbc import WALK_TIME, PbcSessions
from proxier.wsc.registration import (
    MULTIPLE_PBC_SESSIONS,
    PASSWORD_ID_PBC,
    PASSWORD_ID_PIN,
    PBC_PASSWORD,
    DeviceInfo,
    Registrar,
)

if TYPE_CHECKING:
    from proxier.api import Proxier
    from proxier.config import DpsConfig, DpsPin
    from proxier.control.actions import Target
    from proxier.dp.manager import DpLink
    from proxier.upnp.device import DmEvent
    from proxier.upnp.gena import GenaManager

log = get_logger(__name__)

#: One SendSetupMessage: InMessage octets → OutMessage octets (UpnpError as the device says).
Send = Callable[[bytes], Awaitable[bytes]]
#: How long to wait between readiness checks while the user has not pressed yet.
POLL_INTERVAL = 2.0
#: A failed or timed-out run is retried on its own only after this long.
RETRY_BACKOFF = 6 * 3600.0


@dataclass(frozen=True)
class Result:
    ok: bool
    status: str
    config_error: int = 0


def _clock_text(wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(wall))


async def introduce(
    send: Send,
    *,
    cp_identity: str,
    device_identity: str,
    pin: str | None = None,
    sessions: PbcSessions | None = None,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
    on_status: Callable[[str], None] = lambda status: None,
    ready: asyncio.Event | None = None,
    walk_time: float = WALK_TIME,
    poll: float = POLL_INTERVAL,
) -> Result:
    """One introduction run; PIN mode when `pin` is given, else PBC. `ready` (optional) is
    set by whoever sees SetupReady=1 (a GENA event), cutting the wait short."""
    pbc = pin is None
    registrar = Registrar(
        uuid_r=uuid.UUID(cp_identity).bytes,
        password=PBC_PASSWORD if pbc else (pin or "").encode(),
        password_id=PASSWORD_ID_PBC if pbc else PASSWORD_ID_PIN,
        device=DeviceInfo(device_name="proxier", model_name="proxier"),
        m2d_first=True,
        expect_peer_uuid=uuid.UUID(device_identity).bytes if device_identity else None,
    )

    def failed(reason: str, error: int = 0) -> Result:
        registrar.abort(reason, error)
        return Result(False, f"failed: {reason}", error)

    try:
        try:
            m1 = await send(b"")
            if not m1:
                return failed("the device sent no M1")
            message = registrar.handle(m1)
            if registrar.ended or not message:
                return failed(_why(registrar))
            if pbc and sessions is not None:
                sessions.seen(registrar.uuid_e, clock())
            deadline = clock() + walk_time
            while True:
                # PBC overlap (dp-wps.md §6): until M2 is out, another PBC device seen within
                # the walk time means the user cannot know which one is introduced.
                if pbc and sessions is not None and registrar.expecting in ("M2D reply", "M3"):
                    if tlv.Message(message).message_type in (tlv.M2D, tlv.M2) and (
                        sessions.overlap(clock())
                    ):
                        await _tell(send, registrar.nack(MULTIPLE_PBC_SESSIONS))
                        return failed(
                            "PBC overlap: two devices in push-button mode within the walk "
                            "time (Configuration Error 12); press only one at a time",
                            MULTIPLE_PBC_SESSIONS,
                        )
                reply = await send(message)
                message = registrar.handle(reply) if reply else None
                if registrar.ended:
                    break
                if message:
                    continue
                if registrar.peer_ready is not False:
                    return failed(f"the device did not answer {registrar.expecting}")
                # Not ready (PBC not pressed): wait for SetupReady, then ask again with M2D.
                remaining = deadline - clock()
                if remaining <= 0:
                    await _tell(send, registrar.nack(0))
                    return failed(f"button not pressed within {walk_time:.0f} s")
                on_status(f"awaiting button press (until {_clock_text(wall() + remaining)})")
                await _wait(ready, min(poll, remaining))
                if ready is not None and ready.is_set():
                    ready.clear()
                message = registrar.m2d_again()
        except UpnpError as exc:
            if exc.code == 708:
                return failed("708 Busy: another control point is introducing this device")
            return failed(f"device answered {exc.code} {exc.description}"[:200])
        outcome = registrar.outcome
        if outcome is not None and outcome.ok:
            if pbc and sessions is not None:
                sessions.completed(registrar.uuid_e)
            return Result(True, "introduced")
        return failed(_why(registrar), outcome.config_error if outcome else 0)
    finally:
        if not registrar.ended:  # cancelled: still forget every secret
            registrar.abort("introduction cancelled")


def _why(registrar: Registrar) -> str:
    outcome = registrar.outcome
    if outcome is None:
        return "the run did not end"
    if outcome.config_error == 18:
        return "wrong PIN (Configuration Error 18)"
    return outcome.reason


async def _tell(send: Send, nack: bytes) -> None:
    """End the device's run with our WSC_NACK (best effort: it may be gone already)."""
    if nack:
        try:
            await send(nack)
        except UpnpError:
            pass


async def _wait(ready: asyncio.Event | None, seconds: float) -> None:
    if ready is None:
        await asyncio.sleep(seconds)
        return
    try:
        await asyncio.wait_for(ready.wait(), seconds)
    except TimeoutError:
        pass


def pin_for(pins: tuple[DpsPin, ...], udn: str, friendly_name: str, device_id: str) -> str | None:
    """The `[[dps.pin]]` entry for a device, matched like `[[dps.login]]`."""
    keys = {udn, udn.removeprefix("uuid:"), friendly_name, device_id}
    for entry in pins:
        if entry.match in keys:
            return str(entry.pin)
    return next((str(e.pin) for e in pins if e.match == "*"), None)


class Introducer:
    """The `DpManager.introduce` hook: when to run, in which mode, and the status text."""

    def __init__(
        self,
        config: DpsConfig,
        cp_identity: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        walk_time: float = WALK_TIME,
        poll: float = POLL_INTERVAL,
    ) -> None:
        self.config = config
        self.cp_identity = cp_identity
        self.clock = clock
        self.walk_time = walk_time
        self.poll = poll
        self.sessions = PbcSessions(walk_time)
        self.status: dict[str, str] = {}
        self._last_run: dict[str, float] = {}
        self._running: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        #: when set (the daemon's GENA), a run subscribes to the device's DeviceProtection
        #: events so that SetupReady=1 (the button press) cuts the wait short
        self.gena: GenaManager | None = None

    def status_for(self, udns: tuple[str, ...] | list[str]) -> dict[str, str]:
        """The "introduction" entry of a device's security status (empty: never ran)."""
        for udn in udns:
            if udn in self.status:
                return {"introduction": self.status[udn]}
        return {}

    def start(self, link: DpLink, pin: str | None = None) -> None:
        """Operator request (`proxier devices introduce ID [--pin PIN]`): one run now,
        whatever the mode and the back-off; status shows how it goes."""
        self._spawn(link, pin)

    async def close(self) -> None:
        """Stop the runs in progress (the proxier stops): each forgets its secrets."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _may_run(self, udn: str) -> bool:
        if self.config.introduction == "none":
            return False
        last = self._last_run.get(udn)
        return last is None or self.clock() - last >= RETRY_BACKOFF

    async def __call__(self, link: DpLink) -> bool:
        """The DpManager hook, awaited while the device is attached: the run goes on in the
        background (the device is proxied meanwhile with what it grants; a button press may
        take up to the walk time), so it returns False; success reads the roles again."""
        if link.dp is not None and self._may_run(link.udn):
            self._spawn(link, None)
        return False

    def _spawn(self, link: DpLink, pin: str | None) -> None:
        udn = link.udn
        if udn in self._running:
            return  # one run per device at a time
        self._running.add(udn)
        self._last_run[udn] = self.clock()
        self.status[udn] = "running"

        async def run() -> None:
            try:
                if await self._run(link, pin):
                    await link.refresh()
            except UpnpError as exc:
                self.status[udn] = f"failed: {exc}"[:200]
            finally:
                self._running.discard(udn)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, link: DpLink, pin: str | None) -> bool:
        udn = link.udn
        if link.dp is None:
            self.status[udn] = "failed: the device lists no DeviceProtection service"
            return False
        if pin is None and self.config.introduction == "pin":
            pin = pin_for(self.config.pin, udn, link.friendly_name, link.device_identity)
            if pin is None:
                self.status[udn] = "failed: no [[dps.pin]] entry matches this device"
                self._last_run[udn] = self.clock()
                return False
        dp = link.dp

        async def send(message: bytes) -> bytes:
            out = await dp.transport.invoke(
                dp.url,
                dp.type,
                "SendSetupMessage",
                (("ProtocolType", "WPS"), ("InMessage", base64.b64encode(message).decode())),
                ("OutMessage",),
            )
            try:
                return base64.b64decode(out["OutMessage"], validate=True)
            except (binascii.Error, ValueError):
                raise UpnpError(0, "OutMessage is not base64") from None

        def on_status(text: str) -> None:
            self.status[udn] = text

        ready = asyncio.Event()

        def on_event(event: DmEvent) -> None:
            if event.variables.get("SetupReady") == "1":
                ready.set()

        key = f"{udn}/DP-WPS"
        gena = self.gena if pin is None and dp.event_url else None
        if gena is not None:
            gena.add(key, "DP", dp.event_url, on_event)
        try:
            result = await introduce(
                send,
                cp_identity=self.cp_identity,
                device_identity=link.device_identity,
                pin=pin,
                sessions=self.sessions,
                clock=self.clock,
                on_status=on_status,
                ready=ready,
                walk_time=self.walk_time,
                poll=self.poll,
            )
        finally:
            if gena is not None:
                await gena.remove(key)
        self.status[udn] = result.status
        level = logging.INFO if result.ok else logging.WARNING
        log.log(level, "%s: WPS introduction %s", udn, result.status)
        return result.ok


def install(proxier: Proxier) -> Introducer:
    """Plug WPS introduction into a Proxier: the DpManager hook, the operator action
    `introduce` (`proxier devices introduce ID [--pin PIN]`, body {"pin": …}) and the
    "introduction" entry of each device's security detail."""
    introducer = Introducer(proxier.config.dps, proxier.dp.identity.identity)
    proxier.dp.introduce = introducer
    actions = proxier.actions

    def udns(target: Target) -> tuple[str, ...]:
        return tuple(target.udns) if hasattr(target, "udns") else target.record.udns

    async def introduce_action(target: Target, body: dict[str, Any]) -> dict[str, Any]:
        pin = body.get("pin")
        if pin is not None and not (isinstance(pin, str) and pin_valid(pin)):
            raise ValueError("pin must be 8 digits with a valid WPS checksum digit")
        links = [proxier.dp.links[u] for u in udns(target) if u in proxier.dp.links]
        if not links:
            raise ValueError("not a DeviceProtection device the proxier is connected to")
        for link in links:
            introducer.start(link, pin)
        return {"introduction": "requested"}

    actions.register("introduce", introduce_action)
    detail = actions.security_detail
    actions.security_detail = lambda target: {
        **detail(target),
        **introducer.status_for(udns(target)),
    }
    return introducer
