"""DP:1 PKCS5 user login, sans-IO (upnp-dm.md §6.5): STORED, challenge, authenticator.

STORED = PBKDF2-HMAC-SHA-256(password, Name ‖ Salt, 5000 rounds), first 16 octets; Name is
UTF-8 and case-sensitive (early drafts upper-cased it: the final text does not).
Authenticator = first 16 octets of HMAC-SHA-256(STORED, Challenge ‖ DeviceID ‖ CPID), with
both identities in their 16-byte binary UUID form.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid

PROTOCOL = "PKCS5"
ITERATIONS = 5000
STORED_BYTES = 16
SALT_BYTES = 16
CHALLENGE_BYTES = 16
AUTHENTICATOR_BYTES = 16


def stored(name: str, password: str, salt: bytes) -> bytes:
    """The verifier a device keeps per user Name (never the password)."""
    return hashlib.pbkdf2_hmac(
        "sha256", password.encode("utf-8"), name.encode("utf-8") + salt, ITERATIONS, STORED_BYTES
    )


def identity_bytes(identity: str) -> bytes:
    """The 16-byte network-order form of a DP identity string (`proxier.upnp.tls.dp_identity`)."""
    return uuid.UUID(identity).bytes


def authenticator(stored_value: bytes, challenge: bytes, device_id: str, cp_id: str) -> bytes:
    """What UserLogin sends (binary; Base64 it for the wire)."""
    message = challenge + identity_bytes(device_id) + identity_bytes(cp_id)
    return hmac.new(stored_value, message, hashlib.sha256).digest()[:AUTHENTICATOR_BYTES]


def verify(stored_value: bytes, challenge: bytes, device_id: str, cp_id: str, sent: bytes) -> bool:
    """The device's check (constant time)."""
    return hmac.compare_digest(authenticator(stored_value, challenge, device_id, cp_id), sent)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    """Decode a bin.base64 argument; ValueError on bad input."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64: {exc}") from None
