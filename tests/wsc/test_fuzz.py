"""Fuzzed WSC messages into both roles (issue 9 "Done when": bounded count, no crash, the
run ends cleanly). A seeded loop, so any failure reproduces.

For each stage of a valid run, the message due next is mutated (bit flips, truncation,
bytes inserted, attributes dropped, duplicated, reordered or given a wrong length, the
Message Type changed, random bytes) and fed to the role; then the rest of the valid run
is played. The role must never raise, must only ever send well-formed TLV streams, and
must end: with success only if the mutated message still carried everything the run
needs, else with a failure that leaves no secret behind.
"""

from __future__ import annotations

import random

import pytest

from proxier.wsc import tlv
from proxier.wsc.registration import Enrollee, Registrar
from tests.wsc.runs import UUID_E, UUID_R

PIN = b"12345670"
ROUNDS = 100  # per role and stage: bounded, about a quarter second each


def _mutate(rng: random.Random, raw: bytes) -> bytes:
    choice = rng.randrange(9)
    data = bytearray(raw)
    if choice == 0 and data:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif choice == 1:
        del data[rng.randrange(len(data) + 1) :]
    elif choice == 2:
        at = rng.randrange(len(data) + 1)
        data[at:at] = rng.randbytes(rng.randint(1, 8))
    elif choice == 3:
        return rng.randbytes(rng.randint(0, 300))
    attrs = tlv.decode(raw)
    if choice == 4 and attrs:
        del attrs[rng.randrange(len(attrs))]
    elif choice == 5 and attrs:
        attrs.insert(rng.randrange(len(attrs) + 1), attrs[rng.randrange(len(attrs))])
    elif choice == 6:
        rng.shuffle(attrs)
    elif choice == 7 and attrs:
        i = rng.randrange(len(attrs))
        kind, value = attrs[i]
        attrs[i] = (kind, value[: rng.randrange(len(value) + 1)] + rng.randbytes(rng.randint(0, 3)))
    elif choice == 8:
        attrs = [(k, bytes([rng.randrange(256)]) if k == tlv.MESSAGE_TYPE else v) for k, v in attrs]
    else:
        return bytes(data)
    return tlv.encode(attrs)


def _well_formed(reply: bytes | None) -> None:
    if reply is not None:
        assert tlv.Message(reply).message_type in tlv.MESSAGE_NAMES


def _valid_transcript() -> list[bytes]:
    """The messages of one valid run, M1 … Done, with fixed randomness per role."""
    e_rng, r_rng = random.Random(1), random.Random(2)
    enrollee = Enrollee(uuid_e=UUID_E, password=PIN, rng=e_rng.randbytes)
    registrar = Registrar(uuid_r=UUID_R, password=PIN, rng=r_rng.randbytes)
    out = [enrollee.m1()]
    side: Enrollee | Registrar = registrar
    while (reply := side.handle(out[-1])) is not None:
        out.append(reply)
        side = enrollee if side is registrar else registrar
    return out


def _play(role: Enrollee | Registrar, incoming: list[bytes | None]) -> None:
    for msg in incoming:
        if msg is not None and not role.ended:
            _well_formed(role.handle(msg))


@pytest.mark.parametrize("stage", [0, 2, 4, 6, 8], ids=["M1", "M3", "M5", "M7", "Done"])
def test_issue9_fuzzed_enrollee_messages_into_the_registrar_end_cleanly(stage: int) -> None:
    transcript = _valid_transcript()
    rng = random.Random(9000 + stage)
    for _ in range(ROUNDS):
        registrar = Registrar(uuid_r=UUID_R, password=PIN, rng=random.Random(2).randbytes)
        _play(registrar, transcript[0:stage:2])
        _well_formed(registrar.handle(_mutate(rng, transcript[stage])))
        _play(registrar, transcript[stage + 2 :: 2])
        if not registrar.ended:
            registrar.abort("test: transport closed")
        assert registrar.outcome is not None
        assert not registrar.holds_secrets()


@pytest.mark.parametrize("stage", [1, 3, 5, 7], ids=["M2", "M4", "M6", "M8"])
def test_issue9_fuzzed_registrar_messages_into_the_enrollee_end_cleanly(stage: int) -> None:
    transcript = _valid_transcript()
    rng = random.Random(9100 + stage)
    for _ in range(ROUNDS):
        enrollee = Enrollee(uuid_e=UUID_E, password=PIN, rng=random.Random(1).randbytes)
        _play(enrollee, transcript[1:stage:2])
        _well_formed(enrollee.handle(_mutate(rng, transcript[stage])))
        _play(enrollee, transcript[stage + 2 :: 2])
        if not enrollee.ended:
            enrollee.abort("test: transport closed")
        assert enrollee.outcome is not None
        assert not enrollee.holds_secrets()


def test_issue9_fuzzed_chain_message_is_never_accepted_as_authentic() -> None:
    """A changed byte anywhere in M2…M8 must never lead to success: the Authenticator
    (or, for M1, the keys it feeds) catches it."""
    transcript = _valid_transcript()
    rng = random.Random(9200)
    for _ in range(ROUNDS):
        stage = rng.choice([1, 3, 5, 7])
        raw = bytearray(transcript[stage])
        raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        enrollee = Enrollee(uuid_e=UUID_E, password=PIN, rng=random.Random(1).randbytes)
        _play(enrollee, [*transcript[1:stage:2], bytes(raw), *transcript[stage + 2 :: 2]])
        assert enrollee.outcome is not None and not enrollee.outcome.ok
