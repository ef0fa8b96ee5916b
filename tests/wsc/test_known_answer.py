"""Known-answer test: one full WSC run recorded against Debian hostapd 2.10 (`-dd -K`),
checked byte for byte (issue 9 "Independent checks"; dp-wps.md §4, §5).

The fixture holds the messages M1…WSC_Done as they travelled, proxier's Registrar's
random draws, and the keys hostapd printed. Replaying both roles with the recorded
randomness must reproduce every message of that side exactly, and our key schedule must
give hostapd's DHKey, KDK, AuthKey, KeyWrapKey, EMSK, PSK1/2 and hashes.

Recorded with `tests/netns/wsc_registrar.py --record FILE` against `hostapd -dd -K` (setup in
tests/wsc/peers.py), the dump read with tests/wsc/hostapd_dump.py; the live interop test
repeats the key check on every run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proxier.wsc import crypto, tlv
from proxier.wsc.registration import DeviceInfo, Enrollee, Registrar
from tests.netns.wfa_wlanconfig import ReplayRng, ap_settings

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "hostapd-run.json").read_text())
MESSAGES = [bytes.fromhex(m) for m in FIXTURE["messages"]]
HOSTAPD = {k: bytes.fromhex(v) for k, v in FIXTURE["hostapd"].items()}
M1, M2, M3, M4, M5, M6, M7, M8, DONE = MESSAGES
PIN = FIXTURE["pin"].encode()


def _attr(raw: bytes, kind: int) -> bytes:
    return tlv.Message(raw).need(kind)


def test_known_answer_registrar_reproduces_m2_m4_m6_m8_byte_for_byte() -> None:
    registrar = Registrar(
        uuid_r=bytes.fromhex(FIXTURE["uuid_r"]),
        password=PIN,
        m8_settings=ap_settings(FIXTURE["m8_ssid"].encode(), FIXTURE["m8_key"].encode(), bytes(6)),
        rng=ReplayRng([bytes.fromhex(d) for d in FIXTURE["registrar_draws"]]),
    )
    assert registrar.handle(M1) == M2
    assert registrar.handle(M3) == M4
    assert registrar.handle(M5) == M6
    assert registrar.handle(M7) == M8
    assert registrar.handle(DONE) is None
    assert registrar.outcome is not None and registrar.outcome.ok


def test_known_answer_enrollee_reproduces_hostapds_m1_m3_m5_m7_and_done() -> None:
    """Our Enrollee, given hostapd's randomness and device attributes, must emit exactly
    what hostapd sent."""
    m1 = tlv.Message(M1)
    device = DeviceInfo(
        manufacturer=m1.text(tlv.MANUFACTURER) or " ",
        model_name=m1.need(tlv.MODEL_NAME).decode(),
        model_number=m1.need(tlv.MODEL_NUMBER).decode(),
        serial_number=m1.need(tlv.SERIAL_NUMBER).decode(),
        device_name=m1.need(tlv.DEVICE_NAME).decode(),
        primary_device_type=m1.need(tlv.PRIMARY_DEVICE_TYPE),
        auth_type_flags=m1.u16(tlv.AUTH_TYPE_FLAGS),
        encr_type_flags=m1.u16(tlv.ENCR_TYPE_FLAGS),
        conn_type_flags=m1.u8(tlv.CONN_TYPE_FLAGS),
        config_methods=m1.u16(tlv.CONFIG_METHODS),
        wsc_state=m1.u8(tlv.WSC_STATE),
        os_version=int.from_bytes(m1.need(tlv.OS_VERSION), "big"),
    )
    draws = [
        HOSTAPD["DH Private Key"].rjust(32, b"\0"),
        HOSTAPD["Enrollee Nonce"],
        HOSTAPD["E-S1"],
        HOSTAPD["E-S2"],
        _attr(M5, tlv.ENCRYPTED_SETTINGS)[:16],  # the IVs hostapd drew
        _attr(M7, tlv.ENCRYPTED_SETTINGS)[:16],
    ]
    enrollee = Enrollee(
        uuid_e=m1.need(tlv.UUID_E),
        password=PIN,
        mac=m1.need(tlv.MAC_ADDRESS),
        device=device,
        m7_settings=tlv.decode(HOSTAPD["Plaintext AP Settings"]),
        rng=ReplayRng(draws),
    )
    assert enrollee.m1() == M1
    assert enrollee.handle(M2) == M3
    assert enrollee.handle(M4) == M5
    assert enrollee.handle(M6) == M7
    assert enrollee.handle(M8) == DONE
    assert enrollee.outcome is not None and enrollee.outcome.ok
    assert dict(enrollee.received_settings)[tlv.SSID] == FIXTURE["m8_ssid"].encode()


def test_known_answer_key_schedule_matches_hostapds_dump() -> None:
    exponent = int.from_bytes(HOSTAPD["DH Private Key"], "big")
    pk_e, pk_r = _attr(M1, tlv.PUBLIC_KEY), _attr(M2, tlv.PUBLIC_KEY)
    dhkey = crypto.DhKey(exponent).dhkey(pk_r)
    assert crypto.DhKey(exponent).public == pk_e
    assert dhkey == HOSTAPD["DHKey"]
    keys = crypto.SessionKeys(
        dhkey,
        _attr(M1, tlv.ENROLLEE_NONCE),
        _attr(M1, tlv.MAC_ADDRESS),
        _attr(M2, tlv.REGISTRAR_NONCE),
    )
    assert keys.kdk == HOSTAPD["KDK"]
    assert (keys.auth_key, keys.key_wrap_key, keys.emsk) == (
        HOSTAPD["AuthKey"],
        HOSTAPD["KeyWrapKey"],
        HOSTAPD["EMSK"],
    )
    psk1, psk2 = crypto.psk_halves(keys.auth_key, PIN)
    assert (psk1, psk2) == (HOSTAPD["PSK1"], HOSTAPD["PSK2"])
    for label, s, psk in (("E-Hash1", "E-S1", psk1), ("E-Hash2", "E-S2", psk2)):
        expected = crypto.secret_hash(keys.auth_key, HOSTAPD[s], psk, pk_e, pk_r)
        assert (
            expected == HOSTAPD[label] == _attr(M3, getattr(tlv, label.replace("-", "_").upper()))
        )
    assert _attr(M4, tlv.R_HASH1) == HOSTAPD["R-Hash1"]
    # hostapd decrypted our R-SNonce1/2 (KWA checked) and we decrypt its E-SNonce1.
    r_s1 = crypto.decrypt_settings(
        keys.auth_key, keys.key_wrap_key, _attr(M4, tlv.ENCRYPTED_SETTINGS)
    )
    assert r_s1 == [(tlv.R_SNONCE1, HOSTAPD["R-SNonce1"])]
    e_s1 = crypto.decrypt_settings(
        keys.auth_key, keys.key_wrap_key, _attr(M5, tlv.ENCRYPTED_SETTINGS)
    )
    assert e_s1 == [(tlv.E_SNONCE1, HOSTAPD["E-S1"])]


@pytest.mark.parametrize("index", [1, 2, 3, 4, 5, 6, 7])
def test_known_answer_authenticator_chain_m2_to_m8(index: int) -> None:
    """Each chain message authenticates against the previous one (M2D/ACK/NACK never
    enter the chain; M2 against M1)."""
    crypto.check_authenticator(HOSTAPD["AuthKey"], MESSAGES[index - 1], MESSAGES[index])
