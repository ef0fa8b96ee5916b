"""WSC attribute TLVs: Type (u16 BE), Length (u16 BE), Value (dp-wps.md §3).

Messages are kept as ordered lists of (type, value) so that what is sent is exactly what
was built (the Authenticator covers the raw bytes). Parsing never raises anything but
`TlvError`, so a malformed message can end a run cleanly.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

# Attribute types (dp-wps.md §3; WSC names).
AP_CHANNEL = 0x1001
ASSOCIATION_STATE = 0x1002
AUTH_TYPE = 0x1003
AUTH_TYPE_FLAGS = 0x1004
AUTHENTICATOR = 0x1005
CONFIG_METHODS = 0x1008
CONFIG_ERROR = 0x1009
CONN_TYPE_FLAGS = 0x100D
CREDENTIAL = 0x100E
ENCR_TYPE = 0x100F
ENCR_TYPE_FLAGS = 0x1010
DEVICE_NAME = 0x1011
DEVICE_PASSWORD_ID = 0x1012
E_HASH1 = 0x1014
E_HASH2 = 0x1015
E_SNONCE1 = 0x1016
E_SNONCE2 = 0x1017
ENCRYPTED_SETTINGS = 0x1018
ENROLLEE_NONCE = 0x101A
KEY_WRAP_AUTHENTICATOR = 0x101E
MAC_ADDRESS = 0x1020
MANUFACTURER = 0x1021
MESSAGE_TYPE = 0x1022
MODEL_NAME = 0x1023
MODEL_NUMBER = 0x1024
NETWORK_INDEX = 0x1026
NETWORK_KEY = 0x1027
NETWORK_KEY_INDEX = 0x1028
OS_VERSION = 0x102D
PUBLIC_KEY = 0x1032
REGISTRAR_NONCE = 0x1039
RF_BANDS = 0x103C
R_HASH1 = 0x103D
R_HASH2 = 0x103E
R_SNONCE1 = 0x103F
R_SNONCE2 = 0x1040
SERIAL_NUMBER = 0x1042
WSC_STATE = 0x1044
SSID = 0x1045
UUID_E = 0x1047
UUID_R = 0x1048
VENDOR_EXTENSION = 0x1049
VERSION = 0x104A
PRIMARY_DEVICE_TYPE = 0x1054

# Message Type values.
M1, M2, M2D, M3, M4, M5, M6, M7, M8 = range(0x04, 0x0D)
WSC_ACK = 0x0D
WSC_NACK = 0x0E
WSC_DONE = 0x0F

MESSAGE_NAMES = {
    M1: "M1",
    M2: "M2",
    M2D: "M2D",
    M3: "M3",
    M4: "M4",
    M5: "M5",
    M6: "M6",
    M7: "M7",
    M8: "M8",
    WSC_ACK: "WSC_ACK",
    WSC_NACK: "WSC_NACK",
    WSC_DONE: "WSC_Done",
}

#: Version attribute value (WSC 1.0 compatibility value, sent by every implementation).
VERSION_10 = 0x10
#: WFA vendor extension carrying Version2 = 2.0 (what hostapd 2.10 adds to every message).
WFA_VERSION2 = bytes.fromhex("00372a000120")

Attr = tuple[int, bytes]


class TlvError(ValueError):
    """A byte string that is not a well-formed WSC attribute stream."""


def encode(attrs: Iterable[Attr]) -> bytes:
    """The TLV stream for `attrs`, in the given order."""
    out = bytearray()
    for kind, value in attrs:
        if not 0 <= kind <= 0xFFFF or len(value) > 0xFFFF:
            raise TlvError(f"attribute 0x{kind:04x} does not fit a TLV")
        out += struct.pack(">HH", kind, len(value)) + value
    return bytes(out)


def decode(data: bytes) -> list[Attr]:
    """The attributes of a TLV stream, in order; `TlvError` on any truncation."""
    attrs: list[Attr] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 4:
            raise TlvError("truncated attribute header")
        kind, length = struct.unpack_from(">HH", data, pos)
        pos += 4
        if len(data) - pos < length:
            raise TlvError(f"attribute 0x{kind:04x} runs past the end of the message")
        attrs.append((kind, bytes(data[pos : pos + length])))
        pos += length
    return attrs


class Message:
    """A decoded message: the raw bytes plus first-occurrence lookup by type."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.attrs = decode(raw)
        self._first: dict[int, bytes] = {}
        for kind, value in self.attrs:
            self._first.setdefault(kind, value)

    def get(self, kind: int) -> bytes | None:
        return self._first.get(kind)

    def need(self, kind: int, length: int | None = None) -> bytes:
        """The value of `kind`; `TlvError` if absent or not `length` octets long."""
        value = self._first.get(kind)
        if value is None:
            raise TlvError(f"attribute 0x{kind:04x} missing")
        if length is not None and len(value) != length:
            raise TlvError(f"attribute 0x{kind:04x} has length {len(value)}, not {length}")
        return value

    def u8(self, kind: int) -> int:
        return self.need(kind, 1)[0]

    def u16(self, kind: int) -> int:
        return int.from_bytes(self.need(kind, 2), "big")

    def text(self, kind: int) -> str:
        """A string attribute, trailing NULs stripped (WSC 1.0 peers append one)."""
        return self.need(kind).rstrip(b"\0").decode("utf-8", "replace")

    @property
    def message_type(self) -> int:
        return self.u8(MESSAGE_TYPE)


def u8(value: int) -> bytes:
    return value.to_bytes(1, "big")


def u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


def header(message_type: int) -> list[Attr]:
    """Version and Message Type, the first two attributes of every message."""
    return [(VERSION, u8(VERSION_10)), (MESSAGE_TYPE, u8(message_type))]


def without_last(raw: bytes, kind: int) -> bytes:
    """`raw` minus its trailing attribute, which must be of type `kind` (Authenticator
    and KWA are always last); `TlvError` otherwise."""
    attrs = decode(raw)
    if not attrs or attrs[-1][0] != kind:
        raise TlvError(f"attribute 0x{kind:04x} is not the last one")
    return raw[: len(raw) - 4 - len(attrs[-1][1])]


def pick(attrs: Sequence[Attr], kind: int) -> bytes | None:
    for k, v in attrs:
        if k == kind:
            return v
    return None
