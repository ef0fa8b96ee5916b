"""WSC cryptography (dp-wps.md §4), checked against independent stdlib computations."""

import hashlib
import hmac

import pytest

from proxier.wsc import crypto, tlv


def test_dp_wps_s4_5_pin_checksum_digit() -> None:
    assert crypto.pin_checksum(1234567) == 0
    assert crypto.pin_valid("12345670")
    assert not crypto.pin_valid("12345678")
    assert not crypto.pin_valid("1234567a")
    assert crypto.pin_valid("1234")  # 4-digit PINs carry no checksum


def test_dp_wps_s4_4_kdf_is_counter_mode_hmac_sha256() -> None:
    key = bytes(range(32))
    out = crypto.kdf(key, crypto.KDF_LABEL, 640)
    expected = b"".join(
        hmac.new(
            key, i.to_bytes(4, "big") + crypto.KDF_LABEL + (640).to_bytes(4, "big"), "sha256"
        ).digest()
        for i in (1, 2, 3)
    )[:80]
    assert out == expected


def test_dp_wps_s4_1_2_dh_group5_keys_agree_and_are_192_octets() -> None:
    a, b = crypto.DhKey(0x123456789), crypto.DhKey(0x987654321)
    assert len(a.public) == 192
    assert a.public == pow(2, 0x123456789, crypto.P_1536).to_bytes(192, "big")
    z = pow(int.from_bytes(b.public, "big"), 0x123456789, crypto.P_1536).to_bytes(192, "big")
    assert a.dhkey(b.public) == b.dhkey(a.public) == hashlib.sha256(z).digest()


@pytest.mark.parametrize(
    "y", [0, 1, crypto.P_1536 - 1, crypto.P_1536, 2**1536 - 1], ids=["0", "1", "p-1", "p", "max"]
)
def test_dp_wps_s4_1_public_key_outside_the_group_is_refused(y: int) -> None:
    with pytest.raises(crypto.CryptoError):
        crypto.DhKey(5).dhkey(y.to_bytes(192, "big"))


def test_dp_wps_s4_8_encrypted_settings_round_trip_and_kwa() -> None:
    ak, kwk = bytes(32), bytes(range(16))
    attrs = [(tlv.E_SNONCE1, b"\x77" * 16)]
    value = crypto.encrypt_settings(ak, kwk, attrs, b"\x99" * 16)
    assert value[:16] == b"\x99" * 16 and len(value) % 16 == 0
    assert crypto.decrypt_settings(ak, kwk, value) == attrs
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt_settings(b"\x01" * 32, kwk, value)  # KWA made with another AuthKey
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt_settings(ak, kwk, value[:-1])
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt_settings(ak, b"\x02" * 16, value)  # wrong key: padding or KWA fails


def test_dp_wps_s4_5_psk_halves_split_an_8_digit_pin_4_4() -> None:
    ak = bytes(32)
    psk1, psk2 = crypto.psk_halves(ak, b"12345670")
    assert psk1 == hmac.new(ak, b"1234", "sha256").digest()[:16]
    assert psk2 == hmac.new(ak, b"5670", "sha256").digest()[:16]
