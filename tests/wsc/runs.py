"""Helpers for driving the two WSC roles against each other in tests."""

from __future__ import annotations

from proxier.wsc import tlv
from proxier.wsc.registration import Enrollee, Registrar

UUID_E = bytes.fromhex("11111111222233334444555555555555")
UUID_R = bytes.fromhex("66666666777788889999aaaaaaaaaaaa")


def exchange(
    enrollee: Enrollee, registrar: Registrar, first: bytes, *, to_enrollee: bool = False
) -> list[str]:
    """Carry messages between the roles until neither has anything to send; the names of
    the messages in the order they travelled (first one included)."""
    names: list[str] = []
    msg: bytes | None = first
    side: Enrollee | Registrar = enrollee if to_enrollee else registrar
    while msg:
        names.append(tlv.MESSAGE_NAMES[tlv.Message(msg).message_type])
        msg = side.handle(msg)
        side = enrollee if side is registrar else registrar
    return names
