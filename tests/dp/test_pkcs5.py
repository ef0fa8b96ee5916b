"""DP:1 PKCS5 login (upnp-dm.md §6.5): STORED and Authenticator against known values.

The expected hex strings were worked out once from the algorithm's definition, outside the
module under test: PBKDF2 as RFC 8018 §5.2 defines it (U1 = HMAC(P, S ‖ INT(1)), Ui =
HMAC(P, Ui-1), T = U1 xor … xor U5000, HMAC-SHA-256) with P = "secret", S = "Administrator"
‖ 00 01 … 0f; then HMAC-SHA-256(STORED, 16×AA ‖ DeviceID ‖ CPID) truncated to 16 octets.
"""

from __future__ import annotations

from proxier.dp import pkcs5

SALT = bytes(range(16))
DEVICE = "11111111-2222-5333-8444-555555555555"
CP = "66666666-7777-5888-9999-aaaaaaaaaaaa"
STORED_HEX = "064a73e7b60d0ea38b21fc999424eb2d"
AUTH_HEX = "50ccbee9f7c0c5f3f2859b708cbb2fc1"


def test_stored_is_pbkdf2_sha256_5000_of_name_and_salt_dp_6_5() -> None:
    assert pkcs5.stored("Administrator", "secret", SALT).hex() == STORED_HEX


def test_name_is_case_sensitive_no_draft_upper_casing_dp_6_5() -> None:
    assert pkcs5.stored("ADMINISTRATOR", "secret", SALT).hex() != STORED_HEX


def test_authenticator_is_hmac_of_challenge_device_id_cp_id_dp_6_5() -> None:
    value = pkcs5.authenticator(bytes.fromhex(STORED_HEX), b"\xaa" * 16, DEVICE, CP)
    assert value.hex() == AUTH_HEX
    assert pkcs5.verify(bytes.fromhex(STORED_HEX), b"\xaa" * 16, DEVICE, CP, value)
    # swapping the identities (device ‖ CP order) must not verify
    assert not pkcs5.verify(bytes.fromhex(STORED_HEX), b"\xaa" * 16, CP, DEVICE, value)


def test_base64_round_trip_and_refusal() -> None:
    assert pkcs5.unb64(pkcs5.b64(SALT)) == SALT
    try:
        pkcs5.unb64("not*base64")
    except ValueError as exc:
        assert "base64" in str(exc)
    else:
        raise AssertionError("bad base64 accepted")
