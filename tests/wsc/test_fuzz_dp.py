"""Fuzzed WSC messages through the DeviceProtection layers (issue 9 "Done when": bounded,
no crash, the run ends cleanly): into the lab device's SendSetupMessage Enrollee, and as
device answers into the proxier's introduction run. Seeded, so failures reproduce."""

from __future__ import annotations

import base64
import random
import uuid

from proxier.dp.wps import Result, Send, introduce
from proxier.lab.wps import LabIntroduction
from proxier.upnp.device import UpnpError
from proxier.wsc import tlv
from proxier.wsc.registration import Enrollee, Registrar
from tests.wsc.test_fuzz import _mutate

PIN = "12345670"
DEVICE_ID = "11111111-2222-5333-8444-555555555555"
CP_ID = "66666666-7777-5888-9999-aaaaaaaaaaaa"
ROUNDS = 60


def _lab() -> LabIntroduction:
    return LabIntroduction(
        device_identity=DEVICE_ID, friendly_name="fuzz", pin=PIN, publish=lambda ready: None
    )


def test_issue9_fuzzed_registrar_messages_into_lab_send_setup_message_end_cleanly() -> None:
    rng = random.Random(9300)
    for round_ in range(ROUNDS):
        lab = _lab()
        now = float(round_)
        m1 = base64.b64decode(lab.message("WPS", "", CP_ID, now)[0])
        registrar = Registrar(
            uuid_r=uuid.UUID(CP_ID).bytes, password=PIN.encode(), rng=random.Random(2).randbytes
        )
        message = registrar.handle(m1)
        target = rng.randrange(4)  # which of M2, M4, M6, M8 gets mutated
        for step in range(4):
            assert message
            sent = _mutate(rng, message) if step == target else message
            try:
                out, done = lab.message("WPS", base64.b64encode(sent).decode(), CP_ID, now)
            except UpnpError as exc:
                assert exc.code == 704, exc  # the only answer to a bad message
                break
            reply = base64.b64decode(out)
            if done is not None or not reply:
                break
            message = registrar.handle(reply)
        assert lab.run is None or not lab.run.ended  # no half-dead run is kept
        if lab.run is None:
            assert lab.setup_ready  # a reset device is ready again
        # whatever happened, a new run starts cleanly
        assert (
            tlv.Message(base64.b64decode(lab.message("WPS", "", CP_ID, now)[0])).message_type
            == tlv.M1
        )


def _device(enrollee: Enrollee, target: int, rng: random.Random) -> Send:
    """A device whose `target`-th chain message (M1, M3, M5, M7 or Done) is mutated."""
    steps = 0

    async def send(message: bytes) -> bytes:
        nonlocal steps
        reply = enrollee.m1() if not message else (enrollee.handle(message) or b"")
        if reply and tlv.Message(reply).message_type in (tlv.WSC_ACK, tlv.WSC_NACK):
            return reply  # M2D answers are not fuzzed here
        steps += 1
        return _mutate(rng, reply) if steps - 1 == target and reply else reply

    return send


async def test_issue9_fuzzed_device_answers_into_the_proxier_run_end_cleanly() -> None:
    rng = random.Random(9400)
    for _ in range(ROUNDS):
        enrollee = Enrollee(
            uuid_e=uuid.UUID(DEVICE_ID).bytes, password=PIN.encode(), rng=random.Random(1).randbytes
        )
        result = await introduce(
            _device(enrollee, rng.randrange(5), rng),
            cp_identity=CP_ID,
            device_identity=DEVICE_ID,
            pin=PIN,
            walk_time=0.1,
            poll=0.05,
        )
        assert isinstance(result, Result)
        assert result.ok or result.status.startswith("failed: ")
