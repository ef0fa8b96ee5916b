"""WSC registration-protocol cryptography, exactly as dp-wps.md §4 gives it.

DH group 5 (RFC 3526 1536-bit MODP, g = 2), HMAC-SHA-256 and AES-128-CBC, all through
`cryptography`. Functions are pure: randomness is passed in by the caller.
"""

from __future__ import annotations

import hmac
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from hashlib import sha256

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives import hmac as chmac
from cryptography.hazmat.primitives.asymmetric import dh
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.utils import CryptographyDeprecationWarning

from proxier.wsc import tlv

#: RFC 3526 §2, the 1536-bit MODP group (WSC's "group 5").
P_1536 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA4836"
    "1C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804"
    "F1746C08CA237327FFFFFFFFFFFFFFFF",
    16,
)
GENERATOR = 2
PUBLIC_KEY_LEN = 192
NONCE_LEN = 16
HASH_LEN = 32
AUTHENTICATOR_LEN = 8
KDF_LABEL = b"Wi-Fi Easy and Secure Key Derivation"


@contextmanager
def _ffdh() -> Iterator[None]:
    """cryptography ≥ 46 warns that finite-field DH is deprecated; WSC mandates group 5
    (there is no other choice in the protocol), so the warning is silenced here only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        yield


with _ffdh():
    _PARAMS = dh.DHParameterNumbers(P_1536, GENERATOR)


class CryptoError(ValueError):
    """A peer value that fails a cryptographic check (bad key, padding, KWA…)."""


def hmac256(key: bytes, *parts: bytes) -> bytes:
    mac = chmac.HMAC(key, hashes.SHA256())
    for part in parts:
        mac.update(part)
    return mac.finalize()


class DhKey:
    """One side's group-5 key pair. The private exponent comes from the caller's RNG."""

    def __init__(self, private_exponent: int) -> None:
        public = pow(GENERATOR, private_exponent, P_1536)
        try:
            with _ffdh():
                numbers = dh.DHPrivateNumbers(private_exponent, dh.DHPublicNumbers(public, _PARAMS))
                self._key: dh.DHPrivateKey | None = numbers.private_key()
        except ValueError as exc:
            raise CryptoError(f"unusable DH private key: {exc}") from None
        #: The Public Key attribute value: 192 octets big-endian, zero-padded.
        self.public = public.to_bytes(PUBLIC_KEY_LEN, "big")

    def dhkey(self, peer_public: bytes) -> bytes:
        """DHKey = SHA-256(Z), Z = PK_peer^x mod p as 192 octets; `CryptoError` for a
        public key outside the group (1 < y < p-1)."""
        if self._key is None:
            raise CryptoError("key pair already wiped")
        if len(peer_public) != PUBLIC_KEY_LEN:
            raise CryptoError("public key is not 192 octets")
        y = int.from_bytes(peer_public, "big")
        if not 1 < y < P_1536 - 1:
            raise CryptoError("public key outside the group")
        try:
            with _ffdh():
                peer = dh.DHPublicNumbers(y, _PARAMS).public_key()
                shared = self._key.exchange(peer)
        except ValueError as exc:
            raise CryptoError(f"key exchange failed: {exc}") from None
        return sha256(shared.rjust(PUBLIC_KEY_LEN, b"\0")).digest()

    def wipe(self) -> None:
        self._key = None

    @property
    def wiped(self) -> bool:
        return self._key is None


def kdf(key: bytes, label: bytes, bits: int) -> bytes:
    """WSC KDF: HMAC-SHA-256(key, BE32(i) ‖ label ‖ BE32(bits)) for i = 1…, truncated."""
    out = b""
    i = 1
    while len(out) * 8 < bits:
        out += hmac256(key, tlv.u32(i), label, tlv.u32(bits))
        i += 1
    return out[: bits // 8]


class SessionKeys:
    """AuthKey, KeyWrapKey and EMSK of one run (KDF over the KDK, 640 bits)."""

    def __init__(self, dhkey: bytes, enrollee_nonce: bytes, mac: bytes, registrar_nonce: bytes):
        self.kdk = hmac256(dhkey, enrollee_nonce, mac, registrar_nonce)
        keys = kdf(self.kdk, KDF_LABEL, 640)
        self.auth_key = keys[0:32]
        self.key_wrap_key = keys[32:48]
        self.emsk = keys[48:80]


def psk_halves(auth_key: bytes, password: bytes) -> tuple[bytes, bytes]:
    """PSK1, PSK2: HMAC over the first ⌈len/2⌉ and the remaining octets, first 16 octets."""
    half = (len(password) + 1) // 2
    return (
        hmac256(auth_key, password[:half])[:16],
        hmac256(auth_key, password[half:])[:16],
    )


def secret_hash(auth_key: bytes, s: bytes, psk: bytes, pk_e: bytes, pk_r: bytes) -> bytes:
    """E-Hash/R-Hash = HMAC(AuthKey, S ‖ PSK ‖ PK_E ‖ PK_R)."""
    return hmac256(auth_key, s, psk, pk_e, pk_r)


def authenticator(auth_key: bytes, previous: bytes, current_without_auth: bytes) -> bytes:
    """HMAC(AuthKey, M_prev ‖ M_curr*)[0:8]."""
    return hmac256(auth_key, previous, current_without_auth)[:AUTHENTICATOR_LEN]


def check_authenticator(auth_key: bytes, previous: bytes, current: bytes) -> None:
    """`CryptoError` unless `current` ends with the right Authenticator TLV."""
    try:
        body = tlv.without_last(current, tlv.AUTHENTICATOR)
    except tlv.TlvError as exc:
        raise CryptoError(str(exc)) from None
    got = current[len(body) + 4 :]
    if len(got) != AUTHENTICATOR_LEN or not hmac.compare_digest(
        got, authenticator(auth_key, previous, body)
    ):
        raise CryptoError("Authenticator mismatch")


def with_authenticator(auth_key: bytes, previous: bytes, attrs: list[tlv.Attr]) -> bytes:
    body = tlv.encode(attrs)
    return body + tlv.encode([(tlv.AUTHENTICATOR, authenticator(auth_key, previous, body))])


def encrypt_settings(
    auth_key: bytes, key_wrap_key: bytes, attrs: list[tlv.Attr], iv: bytes
) -> bytes:
    """Encrypted Settings value: IV ‖ AES-128-CBC(attrs ‖ KWA, PKCS#5 padding)."""
    plain = tlv.encode(attrs)
    plain += tlv.encode([(tlv.KEY_WRAP_AUTHENTICATOR, hmac256(auth_key, plain)[:8])])
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    enc = Cipher(algorithms.AES(key_wrap_key), modes.CBC(iv)).encryptor()
    return iv + enc.update(padded) + enc.finalize()


def decrypt_settings(auth_key: bytes, key_wrap_key: bytes, value: bytes) -> list[tlv.Attr]:
    """The attributes inside an Encrypted Settings value, KWA checked and removed;
    `CryptoError` on bad length, padding, TLVs or KWA."""
    if len(value) < 32 or len(value) % 16:
        raise CryptoError("Encrypted Settings length is not IV plus whole AES blocks")
    dec = Cipher(algorithms.AES(key_wrap_key), modes.CBC(value[:16])).decryptor()
    padded = dec.update(value[16:]) + dec.finalize()
    pad = padded[-1]
    if not 1 <= pad <= 16 or padded[-pad:] != bytes([pad]) * pad:
        raise CryptoError("Encrypted Settings padding is wrong")
    plain = padded[:-pad]
    try:
        body = tlv.without_last(plain, tlv.KEY_WRAP_AUTHENTICATOR)
        attrs = tlv.decode(body)
    except tlv.TlvError as exc:
        raise CryptoError(f"Encrypted Settings: {exc}") from None
    kwa = plain[len(body) + 4 :]
    if not hmac.compare_digest(kwa, hmac256(auth_key, body)[:8]):
        raise CryptoError("Key Wrap Authenticator mismatch")
    return attrs


def pin_checksum(pin7: int) -> int:
    """The WSC checksum digit for a 7-digit PIN prefix."""
    accum = 0
    while pin7:
        accum += 3 * (pin7 % 10)
        pin7 //= 10
        accum += pin7 % 10
        pin7 //= 10
    return (10 - accum % 10) % 10


def pin_valid(pin: str) -> bool:
    """An 8-digit PIN with a correct checksum digit (4-digit PINs have none)."""
    if len(pin) == 4 and pin.isdigit():
        return True
    return (
        len(pin) == 8
        and pin.isascii()
        and pin.isdigit()
        and pin_checksum(int(pin[:7])) == int(pin[7])
    )
