"""WSC TLV codec (dp-wps.md §3: Type u16 BE, Length u16 BE, Value)."""

import pytest

from proxier.wsc import tlv


def test_dp_wps_s3_tlv_round_trip_keeps_order_and_bytes() -> None:
    attrs = [(tlv.VERSION, b"\x10"), (tlv.MESSAGE_TYPE, b"\x04"), (tlv.UUID_E, bytes(16))]
    raw = tlv.encode(attrs)
    assert raw[:5] == bytes.fromhex("104a000110")
    assert tlv.decode(raw) == attrs


@pytest.mark.parametrize("raw", [b"\x10", b"\x10\x4a\x00", b"\x10\x4a\x00\x02\x10"])
def test_dp_wps_s3_truncated_stream_is_a_tlv_error(raw: bytes) -> None:
    with pytest.raises(tlv.TlvError):
        tlv.decode(raw)


def test_dp_wps_s3_strings_lose_the_trailing_nul_wsc_1_0_peers_send() -> None:
    msg = tlv.Message(tlv.encode([(tlv.MANUFACTURER, b"Intel\0")]))
    assert msg.text(tlv.MANUFACTURER) == "Intel"


def test_dp_wps_s3_required_attribute_with_wrong_length_is_rejected() -> None:
    msg = tlv.Message(tlv.encode([(tlv.ENROLLEE_NONCE, bytes(15))]))
    with pytest.raises(tlv.TlvError):
        msg.need(tlv.ENROLLEE_NONCE, 16)
    with pytest.raises(tlv.TlvError):
        msg.need(tlv.REGISTRAR_NONCE, 16)


def test_dp_wps_s4_7_authenticator_must_be_the_last_attribute() -> None:
    body = tlv.encode([(tlv.VERSION, b"\x10")])
    raw = body + tlv.encode([(tlv.AUTHENTICATOR, bytes(8))])
    assert tlv.without_last(raw, tlv.AUTHENTICATOR) == body
    with pytest.raises(tlv.TlvError):
        tlv.without_last(raw + body, tlv.AUTHENTICATOR)
