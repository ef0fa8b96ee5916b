"""The WSC registration protocol (M1…M8), both roles, as sans-IO state machines.

`Enrollee` is what a DeviceProtection device runs (it sends M1); `Registrar` is what a
control point runs (dp-wps.md §1). Each object is one run: feed it the peer's messages
with `handle()`, send back whatever it returns. A run ends in `outcome`: success after
WSC_Done, or failure with a WSC Configuration Error. Malformed, out-of-order or forged
messages end the run (a WSC_NACK is returned when the peer can be told), never raise.
When a run ends, every secret (DH key, session keys, PSKs, secret nonces, the device
password) is dropped from the object.

UUID-E and UUID-R are plain 16-octet values here; DeviceProtection passes the identities
of the TLS certificates, and `expect_peer_uuid` lets each side check the other's.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from proxier.wsc import crypto, tlv
from proxier.wsc.tlv import Attr, Message, TlvError

Rng = Callable[[int], bytes]

# Device Password IDs and Configuration Errors (dp-wps.md §3).
PASSWORD_ID_PIN = 0x0000
PASSWORD_ID_PBC = 0x0004
PBC_PASSWORD = b"00000000"
NO_ERROR = 0
MULTIPLE_PBC_SESSIONS = 12
DEVICE_BUSY = 14
PASSWORD_AUTH_FAILURE = 18
# Config Methods.
METHOD_LABEL = 0x0004
METHOD_DISPLAY = 0x0008
METHOD_PBC = 0x0080
METHOD_KEYPAD = 0x0100
#: M2D Config Methods a control point sends to ask for PBC, or for a PIN (dp-wps.md §1).
M2D_METHODS_PBC = 0x0080
M2D_METHODS_PIN = 0x0188


@dataclass(frozen=True)
class DeviceInfo:
    """The descriptive attributes of M1, M2 and M2D."""

    manufacturer: str = "proxier"
    model_name: str = "proxier"
    model_number: str = "1"
    serial_number: str = "0"
    device_name: str = "proxier"
    #: category u16, OUI 0050F204, subcategory u16 (1 = Computer, 1 = PC).
    primary_device_type: bytes = bytes.fromhex("00010050f2040001")
    os_version: int = 0x80000000
    auth_type_flags: int = 0x0001
    encr_type_flags: int = 0x0004
    conn_type_flags: int = 0x01
    config_methods: int = METHOD_DISPLAY | METHOD_PBC | METHOD_KEYPAD
    rf_bands: int = 0x01
    #: WSC State in M1: 1 = not configured, 2 = configured.
    wsc_state: int = 1

    def attrs(self, config_methods: int | None = None) -> list[Attr]:
        return [
            (tlv.AUTH_TYPE_FLAGS, tlv.u16(self.auth_type_flags)),
            (tlv.ENCR_TYPE_FLAGS, tlv.u16(self.encr_type_flags)),
            (tlv.CONN_TYPE_FLAGS, tlv.u8(self.conn_type_flags)),
            (
                tlv.CONFIG_METHODS,
                tlv.u16(self.config_methods if config_methods is None else config_methods),
            ),
        ]

    def names(self) -> list[Attr]:
        return [
            (tlv.MANUFACTURER, self.manufacturer.encode()[:64]),
            (tlv.MODEL_NAME, self.model_name.encode()[:32]),
            (tlv.MODEL_NUMBER, self.model_number.encode()[:32]),
            (tlv.SERIAL_NUMBER, self.serial_number.encode()[:32]),
            (tlv.PRIMARY_DEVICE_TYPE, self.primary_device_type),
            (tlv.DEVICE_NAME, self.device_name.encode()[:32]),
            (tlv.RF_BANDS, tlv.u8(self.rf_bands)),
            (tlv.ASSOCIATION_STATE, tlv.u16(0)),
        ]


@dataclass(frozen=True)
class Outcome:
    """How a run ended: `ok` after WSC_Done; otherwise the Configuration Error and why."""

    ok: bool
    config_error: int = NO_ERROR
    reason: str = ""


@dataclass
class _Secrets:
    """Everything a run must forget when it ends."""

    password: bytearray
    dh: crypto.DhKey
    s1: bytearray
    s2: bytearray
    auth_key: bytearray = field(default_factory=bytearray)
    key_wrap_key: bytearray = field(default_factory=bytearray)
    emsk: bytearray = field(default_factory=bytearray)
    psk1: bytearray = field(default_factory=bytearray)
    psk2: bytearray = field(default_factory=bytearray)
    #: The peer's E-Hash1/2 or R-Hash1/2, checked when its secret nonces arrive.
    peer_hash1: bytes = b""
    peer_hash2: bytes = b""

    def derive(self, dhkey: bytes, n_e: bytes, mac: bytes, n_r: bytes) -> None:
        keys = crypto.SessionKeys(dhkey, n_e, mac, n_r)
        self.auth_key = bytearray(keys.auth_key)
        self.key_wrap_key = bytearray(keys.key_wrap_key)
        self.emsk = bytearray(keys.emsk)
        psk1, psk2 = crypto.psk_halves(keys.auth_key, bytes(self.password))
        self.psk1, self.psk2 = bytearray(psk1), bytearray(psk2)

    def wipe(self) -> None:
        for value in (
            self.password,
            self.s1,
            self.s2,
            self.auth_key,
            self.key_wrap_key,
            self.emsk,
            self.psk1,
            self.psk2,
        ):
            value[:] = bytes(len(value))
        self.dh.wipe()


class _Failure(Exception):
    """Internal: ends the run with `config_error` (never escapes `handle`)."""

    def __init__(self, reason: str, config_error: int = NO_ERROR) -> None:
        super().__init__(reason)
        self.config_error = config_error


class _Run:
    """What both roles share: nonces, the Authenticator chain, NACK, ending and wiping."""

    role = "run"

    def __init__(self, password: bytes | None, rng: Rng) -> None:
        self._rng = rng
        self.outcome: Outcome | None = None
        self.enrollee_nonce = b""
        self.registrar_nonce = b""
        self.uuid_e = b""
        self.uuid_r = b""
        self.mac = b""
        self.pk_e = b""
        self.pk_r = b""
        #: The last message of the M1…M8 chain (for the next Authenticator).
        self._last = b""
        self._password = bytearray(password) if password is not None else None
        self._secrets: _Secrets | None = None
        #: Which message is expected next ("M2", "M3", …), "" once ended.
        self.expecting = ""

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    def holds_secrets(self) -> bool:
        """True while any secret of the run is still referenced (tests check it is not)."""
        return self._secrets is not None or self._password is not None

    def _new_secrets(self, dh: crypto.DhKey) -> _Secrets:
        assert self._password is not None
        return _Secrets(
            password=bytearray(self._password),
            dh=dh,
            s1=bytearray(self._rng(16)),
            s2=bytearray(self._rng(16)),
        )

    def _end(self, outcome: Outcome) -> None:
        if self.outcome is None:
            self.outcome = outcome
        self.expecting = ""
        if self._secrets is not None:
            self._secrets.wipe()
            self._secrets = None
        if self._password is not None:
            self._password[:] = bytes(len(self._password))
            self._password = None

    def abort(self, reason: str, config_error: int = NO_ERROR) -> None:
        """End the run from outside (timeout, transport error, another run)."""
        self._end(Outcome(False, config_error, reason))

    def _closing(self, kind: int, config_error: int = NO_ERROR) -> bytes:
        attrs = tlv.header(kind)
        attrs += [
            (tlv.ENROLLEE_NONCE, self.enrollee_nonce),
            (tlv.REGISTRAR_NONCE, self.registrar_nonce),
        ]
        if kind == tlv.WSC_NACK:
            attrs.append((tlv.CONFIG_ERROR, tlv.u16(config_error)))
        attrs.append((tlv.VENDOR_EXTENSION, tlv.WFA_VERSION2))
        return tlv.encode(attrs)

    def nack(self, config_error: int = NO_ERROR) -> bytes:
        """A WSC_NACK for this run (needs both nonces; empty before they are known)."""
        if not self.enrollee_nonce or not self.registrar_nonce:
            return b""
        return self._closing(tlv.WSC_NACK, config_error)

    def _fail(self, failure: _Failure, tell_peer: bool = True) -> bytes | None:
        self._end(Outcome(False, failure.config_error, str(failure)))
        return (self.nack(failure.config_error) or None) if tell_peer else None

    def handle(self, raw: bytes) -> bytes | None:
        """Process one message from the peer; the reply to send, if any."""
        if self.ended:
            return None
        try:
            msg = Message(raw)
            kind = msg.message_type
            if msg.get(tlv.VERSION) is None:
                raise TlvError("Version attribute missing")
        except TlvError as exc:
            return self._fail(_Failure(f"malformed message: {exc}"))
        if kind == tlv.WSC_NACK:
            self._peer_nack(msg)
            return None
        try:
            return self._dispatch(kind, msg)
        except (TlvError, crypto.CryptoError) as exc:
            return self._fail(_Failure(f"bad {tlv.MESSAGE_NAMES.get(kind, hex(kind))}: {exc}"))
        except _Failure as failure:
            return self._fail(failure)

    def _dispatch(self, kind: int, msg: Message) -> bytes | None:
        raise NotImplementedError

    def _peer_nack(self, msg: Message) -> None:
        try:
            self._check_nonces(msg)
            error = msg.u16(tlv.CONFIG_ERROR)
        except (TlvError, _Failure) as exc:
            self._end(Outcome(False, NO_ERROR, f"malformed WSC_NACK: {exc}"))
            return
        if not self._nack_continues(error):
            self._end(Outcome(False, error, f"peer sent WSC_NACK (Configuration Error {error})"))

    def _nack_continues(self, config_error: int) -> bool:
        return False

    def _check_nonces(self, msg: Message, enrollee: bool = True, registrar: bool = True) -> None:
        if enrollee and not hmac.compare_digest(
            msg.need(tlv.ENROLLEE_NONCE, 16), self.enrollee_nonce
        ):
            raise _Failure("Enrollee Nonce does not match this run")
        if registrar and not hmac.compare_digest(
            msg.need(tlv.REGISTRAR_NONCE, 16), self.registrar_nonce
        ):
            raise _Failure("Registrar Nonce does not match this run")

    def _expect(self, kind: int) -> None:
        name = tlv.MESSAGE_NAMES.get(kind, f"type 0x{kind:02x}")
        if self.expecting != name:
            raise _Failure(f"unexpected {name} (expecting {self.expecting})")

    @property
    def _keys(self) -> _Secrets:
        assert self._secrets is not None
        return self._secrets

    def _authenticated(self, msg: Message) -> None:
        """Check the Authenticator against the previous chain message; extend the chain."""
        crypto.check_authenticator(bytes(self._keys.auth_key), self._last, msg.raw)
        self._last = msg.raw

    def _sealed(self, attrs: list[Attr]) -> bytes:
        """Append the Authenticator to an outgoing chain message and remember it."""
        raw = crypto.with_authenticator(bytes(self._keys.auth_key), self._last, attrs)
        self._last = raw
        return raw

    def _encrypt(self, attrs: list[Attr]) -> Attr:
        keys = self._keys
        value = crypto.encrypt_settings(
            bytes(keys.auth_key), bytes(keys.key_wrap_key), attrs, self._rng(16)
        )
        return (tlv.ENCRYPTED_SETTINGS, value)

    def _decrypt(self, msg: Message) -> list[Attr]:
        keys = self._keys
        return crypto.decrypt_settings(
            bytes(keys.auth_key), bytes(keys.key_wrap_key), msg.need(tlv.ENCRYPTED_SETTINGS)
        )

    def _check_peer_secret(self, settings: Sequence[Attr], nonce_kind: int, half: int) -> None:
        """Verify the peer's E-/R-Hash `half` from the secret nonce it just revealed."""
        s = tlv.pick(settings, nonce_kind)
        if s is None or len(s) != 16:
            raise TlvError(f"secret nonce 0x{nonce_kind:04x} missing from Encrypted Settings")
        keys = self._keys
        psk = keys.psk1 if half == 1 else keys.psk2
        expected = crypto.secret_hash(bytes(keys.auth_key), s, bytes(psk), self.pk_e, self.pk_r)
        if not hmac.compare_digest(expected, keys.peer_hash1 if half == 1 else keys.peer_hash2):
            raise _Failure(f"device password half {half} does not match", PASSWORD_AUTH_FAILURE)

    def _own_hashes(self) -> tuple[bytes, bytes]:
        keys = self._keys
        ak = bytes(keys.auth_key)
        return (
            crypto.secret_hash(ak, bytes(keys.s1), bytes(keys.psk1), self.pk_e, self.pk_r),
            crypto.secret_hash(ak, bytes(keys.s2), bytes(keys.psk2), self.pk_e, self.pk_r),
        )


def _check_uuid(value: bytes, expected: bytes | None, what: str) -> None:
    if expected is not None and not hmac.compare_digest(value, expected):
        raise _Failure(f"{what} is not the TLS peer's identity")


class Registrar(_Run):
    """The control point's side: M1 in, M2 (or M2D first), M4, M6, M8 out, until Done.

    `m2d_first` sends M2D after M1 (both DeviceProtection reference CPs do): the
    device's WSC_ACK means ready (M2 follows at once), its WSC_NACK means not ready,
    after which the caller sends `m2()` when the device says SetupReady.
    """

    role = "Registrar"

    def __init__(
        self,
        *,
        uuid_r: bytes,
        password: bytes,
        password_id: int = PASSWORD_ID_PIN,
        device: DeviceInfo | None = None,
        m2d_first: bool = False,
        m8_settings: Sequence[Attr] = (),
        expect_peer_uuid: bytes | None = None,
        rng: Rng = os.urandom,
    ) -> None:
        super().__init__(password, rng)
        self.uuid_r = uuid_r
        self.password_id = password_id
        self.device = device or DeviceInfo()
        self.m2d_first = m2d_first
        self._m8_settings = list(m8_settings)
        self._expect_uuid = expect_peer_uuid
        self.expecting = "M1"
        #: The Enrollee's answer to M2D: True (ACK), False (NACK), None (not asked).
        self.peer_ready: bool | None = None
        self.peer_config_error = NO_ERROR
        self.m1: Message | None = None
        #: The decrypted settings of M7 (an AP Enrollee's current AP Settings).
        self.received_settings: list[Attr] = []

    def _dispatch(self, kind: int, msg: Message) -> bytes | None:
        if kind == tlv.M1:
            self._expect(kind)
            return self._on_m1(msg)
        if kind == tlv.WSC_ACK and self.expecting == "M2D reply":
            self._check_nonces(msg)
            self.peer_ready = True
            return self.m2()
        if kind == tlv.M3:
            self._expect(kind)
            return self._on_m3(msg)
        if kind == tlv.M5:
            self._expect(kind)
            return self._on_m5(msg)
        if kind == tlv.M7:
            self._expect(kind)
            return self._on_m7(msg)
        if kind == tlv.WSC_DONE:
            self._expect(kind)
            self._check_nonces(msg)
            self._end(Outcome(True))
            return None
        raise _Failure(
            f"unexpected {tlv.MESSAGE_NAMES.get(kind, f'type 0x{kind:02x}')}"
            f" (expecting {self.expecting})"
        )

    def _nack_continues(self, config_error: int) -> bool:
        if self.expecting != "M2D reply":
            return False
        self.peer_ready = False
        self.peer_config_error = config_error
        self.expecting = "M2"  # the caller sends m2() once the device is ready
        return True

    def _on_m1(self, msg: Message) -> bytes:
        self.uuid_e = msg.need(tlv.UUID_E, 16)
        _check_uuid(self.uuid_e, self._expect_uuid, "UUID-E")
        self.mac = msg.need(tlv.MAC_ADDRESS, 6)
        self.enrollee_nonce = msg.need(tlv.ENROLLEE_NONCE, 16)
        self.pk_e = msg.need(tlv.PUBLIC_KEY, crypto.PUBLIC_KEY_LEN)
        msg.need(tlv.DEVICE_PASSWORD_ID, 2)
        self.m1 = msg
        self._last = msg.raw
        self.registrar_nonce = self._rng(16)
        dh = crypto.DhKey(int.from_bytes(self._rng(32), "big"))
        self._secrets = keys = self._new_secrets(dh)
        self.pk_r = dh.public
        keys.derive(dh.dhkey(self.pk_e), self.enrollee_nonce, self.mac, self.registrar_nonce)
        if self.m2d_first:
            self.expecting = "M2D reply"
            return self.m2d()
        self.expecting = "M2"
        return self.m2()

    def m2d(self, config_error: int = NO_ERROR) -> bytes:
        """M2D: who the Registrar is and which method it wants; outside the chain."""
        pbc = self.password_id == PASSWORD_ID_PBC
        attrs = tlv.header(tlv.M2D)
        attrs += [
            (tlv.ENROLLEE_NONCE, self.enrollee_nonce),
            (tlv.REGISTRAR_NONCE, self.registrar_nonce),
            (tlv.UUID_R, self.uuid_r),
        ]
        attrs += self.device.attrs(M2D_METHODS_PBC if pbc else M2D_METHODS_PIN)
        attrs += self.device.names()
        attrs += [
            (tlv.CONFIG_ERROR, tlv.u16(config_error)),
            (tlv.OS_VERSION, tlv.u32(self.device.os_version)),
            (tlv.VENDOR_EXTENSION, tlv.WFA_VERSION2),
        ]
        return tlv.encode(attrs)

    def m2d_again(self) -> bytes:
        """M2D once more while M2 is due because the device said "not ready": asks
        whether it is ready now (M2D is outside the chain, so this changes nothing)."""
        if self.ended or self.expecting != "M2":
            return b""
        self.expecting = "M2D reply"
        self.peer_ready = None
        return self.m2d()

    def m2(self) -> bytes:
        """M2: the Registrar's key and nonce, authenticated against M1. Only valid
        while M2 is due (after M1, or after an M2D the device NACKed); else b""."""
        if self.ended or self.expecting not in ("M2", "M2D reply") or self._secrets is None:
            return b""
        attrs = tlv.header(tlv.M2)
        attrs += [
            (tlv.ENROLLEE_NONCE, self.enrollee_nonce),
            (tlv.REGISTRAR_NONCE, self.registrar_nonce),
            (tlv.UUID_R, self.uuid_r),
            (tlv.PUBLIC_KEY, self.pk_r),
        ]
        attrs += self.device.attrs()
        attrs += self.device.names()
        attrs += [
            (tlv.CONFIG_ERROR, tlv.u16(NO_ERROR)),
            (tlv.DEVICE_PASSWORD_ID, tlv.u16(self.password_id)),
            (tlv.OS_VERSION, tlv.u32(self.device.os_version)),
            (tlv.VENDOR_EXTENSION, tlv.WFA_VERSION2),
        ]
        self.expecting = "M3"
        return self._sealed(attrs)

    def _on_m3(self, msg: Message) -> bytes:
        self._check_nonces(msg, enrollee=False)
        keys = self._keys
        keys.peer_hash1 = msg.need(tlv.E_HASH1, 32)
        keys.peer_hash2 = msg.need(tlv.E_HASH2, 32)
        self._authenticated(msg)
        r_hash1, r_hash2 = self._own_hashes()
        attrs = tlv.header(tlv.M4)
        attrs += [
            (tlv.ENROLLEE_NONCE, self.enrollee_nonce),
            (tlv.R_HASH1, r_hash1),
            (tlv.R_HASH2, r_hash2),
            self._encrypt([(tlv.R_SNONCE1, bytes(keys.s1))]),
            (tlv.VENDOR_EXTENSION, tlv.WFA_VERSION2),
        ]
        self.expecting = "M5"
        return self._sealed(attrs)

    def _on_m5(self, msg: Message) -> bytes:
        self._check_nonces(msg, enrollee=False)
        self._authenticated(msg)
        self._check_peer_secret(self._decrypt(msg), tlv.E_SNONCE1, 1)
        attrs = tlv.header(tlv.M6)
        attrs += [
            (tlv.ENROLLEE_NONCE, self.enrollee_nonce),
            self._encrypt([(tlv.R_SNONCE2, bytes(self._keys.s2))]),
            (tlv.VENDOR_EXTENSION, tlv.WFA_VERSION2),
        ]
        self.expecting = "M7"
        return self._sealed(attrs)

    def _on_m7(self, msg: Message) -> bytes:
        self._check_nonces(msg, enrollee=False)
        self._authenticated(msg)
        settings = self._decrypt(msg)
        self._check_peer_secret(settings, tlv.E_SNONCE2, 2)
        self.received_settings = [a for a in settings if a[0] != tlv.E_SNONCE2]
        attrs = tlv.header(tlv.M8)
        attrs += [
            (tlv.ENROLLEE_NONCE, self.enrollee_nonce),
            self._encrypt(self._m8_settings),
            (tlv.VENDOR_EXTENSION, tlv.WFA_VERSION2),
        ]
        self.expecting = "WSC_Done"
        return self._sealed(attrs)


class Enrollee(_Run):
    """The device's side: M1 out; M2, M4, M6, M8 in; M3, M5, M7, WSC_Done out.

    `password` None means "not ready" (PBC not pressed yet): an M2D is answered with
    WSC_NACK (Device busy) and the run stays open until `set_password` and an M2.
    """

    role = "Enrollee"

    def __init__(
        self,
        *,
        uuid_e: bytes,
        password: bytes | None,
        password_id: int = PASSWORD_ID_PIN,
        mac: bytes = bytes(6),
        device: DeviceInfo | None = None,
        m7_settings: Sequence[Attr] = (),
        expect_peer_uuid: bytes | None = None,
        rng: Rng = os.urandom,
    ) -> None:
        super().__init__(password, rng)
        self.uuid_e = uuid_e
        self.mac = mac
        self.password_id = password_id
        self.device = device or DeviceInfo()
        self._m7_settings = list(m7_settings)
        self._expect_uuid = expect_peer_uuid
        self._dh = crypto.DhKey(int.from_bytes(rng(32), "big"))
        self.pk_e = self._dh.public
        self.enrollee_nonce = rng(16)
        self.expecting = "M2"
        #: UUID-R of the last M2D seen, and the decrypted settings of M8.
        self.m2d_uuid_r = b""
        self.received_settings: list[Attr] = []
        self._m1 = self._build_m1()
        self._last = self._m1

    def m1(self) -> bytes:
        """M1, the first message of the run (the answer to an empty InMessage)."""
        return self._m1

    def _build_m1(self) -> bytes:
        attrs = tlv.header(tlv.M1)
        attrs += [
            (tlv.UUID_E, self.uuid_e),
            (tlv.MAC_ADDRESS, self.mac),
            (tlv.ENROLLEE_NONCE, self.enrollee_nonce),
            (tlv.PUBLIC_KEY, self.pk_e),
        ]
        attrs += self.device.attrs()
        attrs.append((tlv.WSC_STATE, tlv.u8(self.device.wsc_state)))
        attrs += self.device.names()
        attrs += [
            (tlv.DEVICE_PASSWORD_ID, tlv.u16(self.password_id)),
            (tlv.CONFIG_ERROR, tlv.u16(NO_ERROR)),
            (tlv.OS_VERSION, tlv.u32(self.device.os_version)),
            (tlv.VENDOR_EXTENSION, tlv.WFA_VERSION2),
        ]
        return tlv.encode(attrs)

    @property
    def ready(self) -> bool:
        return self._password is not None

    def set_password(self, password: bytes, password_id: int) -> None:
        """The device password becomes known (PBC pressed: "00000000", ID 0x0004)."""
        if not self.ended and self.expecting == "M2":
            if self._password is not None:
                self._password[:] = bytes(len(self._password))
            self._password = bytearray(password)
            self.password_id = password_id

    def _end(self, outcome: Outcome) -> None:
        super()._end(outcome)
        self._dh.wipe()

    def holds_secrets(self) -> bool:
        return super().holds_secrets() or not self._dh.wiped

    def _dispatch(self, kind: int, msg: Message) -> bytes | None:
        if kind == tlv.M2D:
            self._expect(tlv.M2)
            self._check_nonces(msg, registrar=False)
            self.m2d_uuid_r = msg.need(tlv.UUID_R, 16)
            self.registrar_nonce = msg.need(tlv.REGISTRAR_NONCE, 16)
            if self.ready:
                return self._closing(tlv.WSC_ACK)
            return self._closing(tlv.WSC_NACK, DEVICE_BUSY)
        if kind == tlv.M2:
            self._expect(kind)
            return self._on_m2(msg)
        if kind == tlv.M4:
            self._expect(kind)
            return self._on_m4(msg)
        if kind == tlv.M6:
            self._expect(kind)
            return self._on_m6(msg)
        if kind == tlv.M8:
            self._expect(kind)
            return self._on_m8(msg)
        raise _Failure(
            f"unexpected {tlv.MESSAGE_NAMES.get(kind, f'type 0x{kind:02x}')}"
            f" (expecting {self.expecting})"
        )

    def _on_m2(self, msg: Message) -> bytes:
        self._check_nonces(msg, registrar=False)
        self.registrar_nonce = msg.need(tlv.REGISTRAR_NONCE, 16)
        self.uuid_r = msg.need(tlv.UUID_R, 16)
        _check_uuid(self.uuid_r, self._expect_uuid, "UUID-R")
        self.pk_r = msg.need(tlv.PUBLIC_KEY, crypto.PUBLIC_KEY_LEN)
        if not self.ready:
            raise _Failure("M2 before the device password is known", DEVICE_BUSY)
        if msg.u16(tlv.DEVICE_PASSWORD_ID) != self.password_id:
            raise _Failure("M2 Device Password ID differs from the device's")
        self._secrets = keys = self._new_secrets(self._dh)
        keys.derive(self._dh.dhkey(self.pk_r), self.enrollee_nonce, self.mac, self.registrar_nonce)
        self._authenticated(msg)
        e_hash1, e_hash2 = self._own_hashes()
        attrs = tlv.header(tlv.M3)
        attrs += [
            (tlv.REGISTRAR_NONCE, self.registrar_nonce),
            (tlv.E_HASH1, e_hash1),
            (tlv.E_HASH2, e_hash2),
            (tlv.VENDOR_EXTENSION, tlv.WFA_VERSION2),
        ]
        self.expecting = "M4"
        return self._sealed(attrs)

    def _on_m4(self, msg: Message) -> bytes:
        self._check_nonces(msg, registrar=False)
        keys = self._keys
        keys.peer_hash1 = msg.need(tlv.R_HASH1, 32)
        keys.peer_hash2 = msg.need(tlv.R_HASH2, 32)
        self._authenticated(msg)
        self._check_peer_secret(self._decrypt(msg), tlv.R_SNONCE1, 1)
        attrs = tlv.header(tlv.M5)
        attrs += [
            (tlv.REGISTRAR_NONCE, self.registrar_nonce),
            self._encrypt([(tlv.E_SNONCE1, bytes(keys.s1))]),
            (tlv.VENDOR_EXTENSION, tlv.WFA_VERSION2),
        ]
        self.expecting = "M6"
        return self._sealed(attrs)

    def _on_m6(self, msg: Message) -> bytes:
        self._check_nonces(msg, registrar=False)
        self._authenticated(msg)
        self._check_peer_secret(self._decrypt(msg), tlv.R_SNONCE2, 2)
        attrs = tlv.header(tlv.M7)
        attrs += [
            (tlv.REGISTRAR_NONCE, self.registrar_nonce),
            self._encrypt([(tlv.E_SNONCE2, bytes(self._keys.s2)), *self._m7_settings]),
            (tlv.VENDOR_EXTENSION, tlv.WFA_VERSION2),
        ]
        self.expecting = "M8"
        return self._sealed(attrs)

    def _on_m8(self, msg: Message) -> bytes:
        self._check_nonces(msg, registrar=False)
        self._authenticated(msg)
        self.received_settings = self._decrypt(msg)
        done = self._closing(tlv.WSC_DONE)
        self._end(Outcome(True))
        return done
