"""The lab device's WPS introduction: DeviceProtection SendSetupMessage running the WSC
Enrollee (dp-wps.md §1, §6; issue 9 "Lab device side").

One `LabIntroduction` per protected lab device. The caller passes the TLS peer's identity
and the time; this class keeps the run, the push button (walk time 120 s) and SetupReady,
and answers like the reference devices: M1 for an empty InMessage, 708 while another
control point's run is live, 704 when a message cannot be processed (the run is reset),
and on WSC_Done reports the control point to introduce. PIN mode (`proxier lab --pin`)
is ready at once; PBC mode answers the M2D with WSC_NACK until the button is pressed.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from proxier.upnp.device import UpnpError
from proxier.wsc import tlv
from proxier.wsc.pbc import WALK_TIME, PushButton
from proxier.wsc.registration import (
    PASSWORD_ID_PBC,
    PASSWORD_ID_PIN,
    PBC_PASSWORD,
    DeviceInfo,
    Enrollee,
)

#: A run nobody moved on for this long is stale: the next caller may start a new one.
RUN_TIMEOUT = WALK_TIME


@dataclass(frozen=True)
class Introduced:
    """A run that reached WSC_Done: who to add to the ACL."""

    identity: str


class LabIntroduction:
    """SendSetupMessage(ProtocolType="WPS") of one lab device."""

    def __init__(
        self,
        *,
        device_identity: str,
        friendly_name: str,
        pin: str | None,
        publish: Callable[[bool], None],
        prompt: Callable[[], None] = lambda: None,
        run_timeout: float = RUN_TIMEOUT,
    ) -> None:
        self.uuid_e = uuid.UUID(device_identity).bytes
        self.device = DeviceInfo(device_name=friendly_name[:32], model_name="proxier lab")
        self.pin = pin
        self.button = PushButton()
        self.run_timeout = run_timeout
        self._publish = publish
        self._prompt = prompt
        self.setup_ready = True
        self.run: Enrollee | None = None
        self.owner = ""
        self.last_at = 0.0
        self._prompted = False

    def _set_ready(self, ready: bool) -> None:
        if ready != self.setup_ready:
            self.setup_ready = ready
            self._publish(ready)

    def state_variables(self) -> dict[str, str]:
        return {"SetupReady": "1" if self.setup_ready else "0"}

    def press(self, now: float) -> float:
        """The user pressed the WPS button: valid for the walk time. A run waiting for it
        gets the PBC password and SetupReady=1 tells its control point to send M2.
        Returns when the press expires."""
        self.button.press(now)
        if self.run is not None and not self.run.ended and not self.run.ready:
            self.run.set_password(PBC_PASSWORD, PASSWORD_ID_PBC)
            self.last_at = now
        self.setup_ready = False  # force the event even if it was 1
        self._set_ready(True)
        return now + self.button.walk_time

    def expire(self, now: float) -> bool:
        """Run timeout: a run nobody moved on for `run_timeout` is dropped and SetupReady
        goes back to 1 (the lab calls this from a timer). True if one was dropped."""
        if self.run is None or now - self.last_at < self.run_timeout:
            return False
        self._drop_run("run timed out")
        self._set_ready(True)
        return True

    def _drop_run(self, reason: str) -> None:
        if self.run is not None:
            self.run.abort(reason)
        self.run = None
        self.owner = ""

    def _new_run(self, identity: str, now: float) -> Enrollee:
        if self.pin is not None:
            password: bytes | None = self.pin.encode()
            password_id = PASSWORD_ID_PIN
        else:
            password = PBC_PASSWORD if self.button.active(now) else None
            password_id = PASSWORD_ID_PBC
        return Enrollee(
            uuid_e=self.uuid_e,
            password=password,
            password_id=password_id,
            device=self.device,
            expect_peer_uuid=uuid.UUID(identity).bytes,
        )

    def message(
        self, protocol: str, in_message: str, identity: str | None, now: float
    ) -> tuple[str, Introduced | None]:
        """(OutMessage, the control point to introduce on WSC_Done); UpnpError 600, 704,
        708 or 606 as DeviceProtection gives them."""
        if protocol != "WPS":
            self._drop_run("setup protocol changed")
            self._set_ready(True)
            raise UpnpError(600, f"setup protocol {protocol[:20]!r} is not supported")
        if identity is None:
            raise UpnpError(606, "SendSetupMessage needs TLS with a client certificate")
        try:
            raw = base64.b64decode(in_message, validate=True)
        except (binascii.Error, ValueError):
            raise UpnpError(704, "InMessage is not base64") from None
        live = self.run is not None and now - self.last_at < self.run_timeout
        if self.run is not None and not live:
            self._drop_run("run timed out")
        if live and self.owner != identity:
            raise UpnpError(708, "busy: another control point's introduction is running")
        if not raw:
            self._drop_run("a new run replaces it")
            self.run = self._new_run(identity, now)
            self._prompted = False
            self.owner, self.last_at = identity, now
            self._set_ready(False)
            return base64.b64encode(self.run.m1()).decode(), None
        run = self.run
        if run is None:
            raise UpnpError(704, "no introduction is running: send an empty InMessage first")
        self.last_at = now
        reply = run.handle(raw)
        outcome = run.outcome
        if outcome is None:
            if reply and not run.ready and _is_nack(reply) and not self._prompted:
                self._prompted = True
                self._prompt()  # PBC M2D answered "not ready": the user must press
            return base64.b64encode(reply or b"").decode(), None
        self.run, self.owner = None, ""
        self._set_ready(True)
        if outcome.ok:
            if run.password_id == PASSWORD_ID_PBC:
                self.button.consume()
            return base64.b64encode(reply or b"").decode(), Introduced(identity)
        if _is_nack(raw):  # the control point ended the run itself
            return "", None
        raise UpnpError(
            704, f"WPS run failed: {outcome.reason} (Config Error {outcome.config_error})"
        )


def _is_nack(raw: bytes) -> bool:
    try:
        return tlv.Message(raw).message_type == tlv.WSC_NACK
    except tlv.TlvError:
        return False
