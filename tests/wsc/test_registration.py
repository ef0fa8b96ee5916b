"""The WSC registration protocol, both roles (dp-wps.md §1, §3, §4; issue 9 "WSC core")."""

from __future__ import annotations

import pytest

from proxier.wsc import crypto, tlv
from proxier.wsc.registration import (
    DEVICE_BUSY,
    PASSWORD_AUTH_FAILURE,
    PASSWORD_ID_PBC,
    PBC_PASSWORD,
    Enrollee,
    Registrar,
)
from tests.wsc.runs import UUID_E, UUID_R, exchange

PIN = b"12345670"


def _pair(
    e_pin: bytes | None = PIN, r_pin: bytes = PIN, **kw: object
) -> tuple[Enrollee, Registrar]:
    return (
        Enrollee(uuid_e=UUID_E, password=e_pin),
        Registrar(uuid_r=UUID_R, password=r_pin, **kw),  # type: ignore[arg-type]
    )


def test_dp_wps_s1_pin_run_m1_to_done_and_every_secret_is_wiped() -> None:
    enrollee, registrar = _pair()
    names = exchange(enrollee, registrar, enrollee.m1())
    assert names == ["M1", "M2", "M3", "M4", "M5", "M6", "M7", "M8", "WSC_Done"]
    assert enrollee.outcome is not None and enrollee.outcome.ok
    assert registrar.outcome is not None and registrar.outcome.ok
    assert registrar.uuid_e == UUID_E and enrollee.uuid_r == UUID_R
    assert not enrollee.holds_secrets() and not registrar.holds_secrets()


def test_dp_wps_s1_m2d_ack_then_m2_and_m2d_stays_outside_the_authenticator_chain() -> None:
    enrollee, registrar = _pair(m2d_first=True)
    names = exchange(enrollee, registrar, enrollee.m1())
    assert names[:4] == ["M1", "M2D", "WSC_ACK", "M2"]
    assert names[-1] == "WSC_Done" and registrar.outcome and registrar.outcome.ok


def test_dp_wps_s6_pbc_not_pressed_nacks_m2d_then_press_and_m2_completes() -> None:
    enrollee = Enrollee(uuid_e=UUID_E, password=None, password_id=PASSWORD_ID_PBC)
    registrar = Registrar(
        uuid_r=UUID_R, password=PBC_PASSWORD, password_id=PASSWORD_ID_PBC, m2d_first=True
    )
    names = exchange(enrollee, registrar, enrollee.m1())
    assert names == ["M1", "M2D", "WSC_NACK"]
    assert registrar.peer_ready is False and registrar.peer_config_error == DEVICE_BUSY
    assert not registrar.ended and not enrollee.ended
    enrollee.set_password(PBC_PASSWORD, PASSWORD_ID_PBC)  # the user presses the button
    names = exchange(enrollee, registrar, registrar.m2(), to_enrollee=True)
    assert names[0] == "M2" and names[-1] == "WSC_Done"
    assert enrollee.outcome and enrollee.outcome.ok


@pytest.mark.parametrize(("wrong_pin", "nack_after"), [(b"99995670", "M4"), (b"12340000", "M6")])
def test_dp_wps_s4_6_wrong_pin_half_ends_in_nack_18_from_the_enrollee(
    wrong_pin: bytes, nack_after: str
) -> None:
    enrollee, registrar = _pair(r_pin=wrong_pin)
    names = exchange(enrollee, registrar, enrollee.m1())
    assert names[-2:] == [nack_after, "WSC_NACK"]
    assert enrollee.outcome and enrollee.outcome.config_error == PASSWORD_AUTH_FAILURE
    assert registrar.outcome and registrar.outcome.config_error == PASSWORD_AUTH_FAILURE
    assert not enrollee.holds_secrets() and not registrar.holds_secrets()


def test_dp_wps_s4_6_registrar_checks_e_hash1_when_e_s1_arrives() -> None:
    """An Enrollee that got past R-Hash1 with the wrong PIN (here: lying about it) is
    caught by the Registrar at M5 with NACK 18."""
    enrollee, registrar = _pair()
    m2 = registrar.handle(enrollee.m1())
    assert m2 is not None
    m3 = enrollee.handle(m2)
    assert m3 is not None
    m4 = registrar.handle(m3)
    assert m4 is not None
    assert enrollee._secrets is not None
    enrollee._secrets.s1[:] = b"\x00" * 16  # reveal an E-S1 that does not match E-Hash1
    m5 = enrollee.handle(m4)
    assert m5 is not None
    nack = registrar.handle(m5)
    assert nack is not None and tlv.Message(nack).message_type == tlv.WSC_NACK
    assert tlv.Message(nack).u16(tlv.CONFIG_ERROR) == PASSWORD_AUTH_FAILURE


def test_dp_wps_s4_7_forged_authenticator_ends_the_run_with_a_nack() -> None:
    enrollee, registrar = _pair()
    m2 = registrar.handle(enrollee.m1())
    assert m2 is not None
    forged = m2[:-1] + bytes([m2[-1] ^ 1])
    reply = enrollee.handle(forged)
    assert reply is not None and tlv.Message(reply).message_type == tlv.WSC_NACK
    assert enrollee.outcome and not enrollee.outcome.ok
    assert "Authenticator" in enrollee.outcome.reason
    assert not enrollee.holds_secrets()


def test_dp_wps_s1_out_of_order_message_ends_the_run_never_raises() -> None:
    enrollee, registrar = _pair()
    m1 = enrollee.m1()
    m2 = registrar.handle(m1)
    assert m2 is not None
    m3 = enrollee.handle(m2)
    assert m3 is not None
    assert enrollee.handle(m2) is not None  # M2 again: NACK
    assert enrollee.outcome and "unexpected M2" in enrollee.outcome.reason
    assert enrollee.handle(m2) is None  # an ended run ignores everything
    again = Registrar(uuid_r=UUID_R, password=PIN)
    assert again.handle(m3) is None  # M3 first: no nonces yet, nothing to NACK
    assert again.outcome and not again.outcome.ok and not again.holds_secrets()


def test_dp_wps_s2_uuid_not_matching_the_tls_identity_is_refused() -> None:
    enrollee = Enrollee(uuid_e=UUID_E, password=PIN, expect_peer_uuid=b"\x01" * 16)
    registrar = Registrar(uuid_r=UUID_R, password=PIN)
    exchange(enrollee, registrar, enrollee.m1())
    assert enrollee.outcome and "UUID-R" in enrollee.outcome.reason
    registrar = Registrar(uuid_r=UUID_R, password=PIN, expect_peer_uuid=b"\x02" * 16)
    assert registrar.handle(Enrollee(uuid_e=UUID_E, password=PIN).m1()) is None
    assert registrar.outcome and "UUID-E" in registrar.outcome.reason


def test_dp_wps_s1_m2_with_another_device_password_id_is_refused() -> None:
    enrollee = Enrollee(uuid_e=UUID_E, password=PIN)
    registrar = Registrar(uuid_r=UUID_R, password=PBC_PASSWORD, password_id=PASSWORD_ID_PBC)
    exchange(enrollee, registrar, enrollee.m1())
    assert enrollee.outcome and "Password ID" in enrollee.outcome.reason


def test_dp_wps_s4_1_bad_public_key_in_m1_fails_the_registrar_cleanly() -> None:
    m1 = Enrollee(uuid_e=UUID_E, password=PIN).m1()
    attrs = [(k, (1).to_bytes(192, "big") if k == tlv.PUBLIC_KEY else v) for k, v in tlv.decode(m1)]
    registrar = Registrar(uuid_r=UUID_R, password=PIN)
    reply = registrar.handle(tlv.encode(attrs))
    assert reply is not None and tlv.Message(reply).message_type == tlv.WSC_NACK
    assert registrar.outcome and "public key" in registrar.outcome.reason


def test_dp_wps_s3_ack_nack_done_carry_both_nonces() -> None:
    enrollee, registrar = _pair()
    m2 = registrar.handle(enrollee.m1())
    assert m2 is not None
    nack = tlv.Message(registrar.nack(18))
    assert nack.need(tlv.ENROLLEE_NONCE) == enrollee.enrollee_nonce
    assert nack.need(tlv.REGISTRAR_NONCE) == registrar.registrar_nonce
    assert nack.u16(tlv.CONFIG_ERROR) == 18
    assert len(nack.need(tlv.VERSION)) == 1 and crypto.AUTHENTICATOR_LEN == 8
