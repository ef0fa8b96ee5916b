"""Server-side HTTP authentication (RFC 7616 Digest with qop=auth, and RFC 7617 Basic).

Sans-IO: the Connection Request server (TR-069 §3.2.2) and the lab ACS (§3.4.4, §3.4.5)
hand in the request's method, request-target and Authorization header plus `now`, and get
back a verdict or the WWW-Authenticate challenge to send. Nonces carry their own issue time
and an HMAC, so any nonce we did not mint is refused without keeping state for it; the only
state is the highest nonce-count seen per live nonce (the replay check of RFC 7616 §3.4).
Passwords never appear in a repr, a result or a log line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

#: Digest algorithms we can verify → hashlib name. "-sess" variants fold the cnonce into HA1.
ALGORITHMS: dict[str, str] = {
    "MD5": "md5",
    "MD5-SESS": "md5",
    "SHA-256": "sha256",
    "SHA-256-SESS": "sha256",
}

#: Looks a username up and returns its password, or None for an unknown user.
PasswordLookup = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class AuthResult:
    """The verdict on one request. `reason` is safe to log (never holds a secret)."""

    ok: bool
    username: str | None = None
    stale: bool = False
    reason: str = ""


def parse_auth_params(text: str) -> dict[str, str]:
    """Parse `k=v, k="quoted, value"` auth-params (RFC 7235 §2.1) into a lower-cased dict."""
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t,":
            i += 1
        start = i
        while i < n and text[i] not in "= \t,":
            i += 1
        key = text[start:i].strip().lower()
        while i < n and text[i] in " \t":
            i += 1
        if i >= n or text[i] != "=":
            # a token without a value (e.g. a stray word): skip it
            while i < n and text[i] != ",":
                i += 1
            continue
        i += 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            chars: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(text[i])
                i += 1
            i += 1  # closing quote
            value = "".join(chars)
        else:
            start = i
            while i < n and text[i] != ",":
                i += 1
            value = text[start:i].strip()
        if key:
            params[key] = value
    return params


def _hash(algorithm: str, data: str) -> str:
    return hashlib.new(ALGORITHMS[algorithm], data.encode("utf-8")).hexdigest()


def digest_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str,
    cnonce: str,
    qop: str,
) -> str:
    """The request-digest of RFC 7616 §3.4.1 for qop=auth (also used by our tests' clients)."""
    algorithm = algorithm.upper()
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    if algorithm.endswith("-SESS"):
        ha1 = _hash(algorithm, f"{ha1}:{nonce}:{cnonce}")
    ha2 = _hash(algorithm, f"{method}:{uri}")
    return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


@dataclass
class HttpAuthenticator:
    """Checks Authorization headers against per-user passwords and builds challenges.

    `algorithms` lists the Digest algorithms offered, one WWW-Authenticate header each, the
    preferred first (clients take the first they support). `allow_basic` accepts Basic
    credentials as well (only sensible over TLS, TR-069 §3.4.4); `basic_only` offers
    Basic alone.
    """

    realm: str
    lookup: PasswordLookup = field(repr=False)
    algorithms: tuple[str, ...] = ("MD5",)
    nonce_lifetime: float = 300.0
    allow_basic: bool = False
    basic_only: bool = False
    max_tracked_nonces: int = 4096
    _secret: bytes = field(default_factory=lambda: os.urandom(32), repr=False)
    _opaque: str = field(default_factory=lambda: os.urandom(16).hex(), repr=False)
    #: nonce → highest nonce-count accepted so far
    _seen: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for algorithm in self.algorithms:
            if algorithm.upper() not in ALGORITHMS:
                raise ValueError(f"unsupported digest algorithm {algorithm!r}")
        self.algorithms = tuple(a.upper() for a in self.algorithms)

    # --- challenges ------------------------------------------------------------------------

    def new_nonce(self, now: float) -> str:
        """A nonce that proves its own issue time: base64(time ‖ random ‖ HMAC)."""
        body = struct.pack(">d", now) + os.urandom(12)
        mac = hmac.new(self._secret, body, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(body + mac).decode("ascii").rstrip("=")

    def challenges(self, now: float, *, stale: bool = False) -> list[str]:
        """WWW-Authenticate header values for a 401 answer."""
        realm = self.realm.replace("\\", "\\\\").replace('"', '\\"')
        if self.basic_only:
            return [f'Basic realm="{realm}"']
        nonce = self.new_nonce(now)
        values = []
        for algorithm in self.algorithms:
            value = (
                f'Digest realm="{realm}", qop="auth", nonce="{nonce}", '
                f'opaque="{self._opaque}", algorithm={algorithm}'
            )
            if stale:
                value += ", stale=true"
            values.append(value)
        if self.allow_basic:
            values.append(f'Basic realm="{realm}"')
        return values

    # --- verification ----------------------------------------------------------------------

    def _nonce_age(self, nonce: str, now: float) -> float | None:
        """Seconds since we minted `nonce`, or None if we did not mint it."""
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(raw) != 8 + 12 + 16:
            return None
        body, mac = raw[:20], raw[20:]
        expected = hmac.new(self._secret, body, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(mac, expected):
            return None
        (issued,) = struct.unpack(">d", body[:8])
        return now - float(issued)

    def _prune(self, now: float) -> None:
        if len(self._seen) < self.max_tracked_nonces:
            return
        for nonce in list(self._seen):
            age = self._nonce_age(nonce, now)
            if age is None or age > self.nonce_lifetime:
                del self._seen[nonce]
        while len(self._seen) >= self.max_tracked_nonces:  # still full: forget the oldest
            del self._seen[next(iter(self._seen))]

    def check(self, method: str, uri: str, authorization: str | None, now: float) -> AuthResult:
        """Verify one request's Authorization header (None or "" = no credentials)."""
        if not authorization:
            return AuthResult(False, reason="no credentials")
        scheme, _, rest = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic" and (self.allow_basic or self.basic_only):
            return self._check_basic(rest.strip())
        if scheme == "digest" and not self.basic_only:
            return self._check_digest(method, uri, parse_auth_params(rest), now)
        return AuthResult(False, reason=f"scheme {scheme!r} not accepted")

    def _check_basic(self, token: str) -> AuthResult:
        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return AuthResult(False, reason="malformed Basic credentials")
        username, sep, password = decoded.partition(":")
        if not sep:
            return AuthResult(False, reason="malformed Basic credentials")
        expected = self.lookup(username)
        # compare even for unknown users so timing does not reveal which users exist
        good = hmac.compare_digest(
            password.encode("utf-8"), (expected if expected is not None else "\0").encode()
        )
        if expected is None or not good:
            return AuthResult(False, username=username, reason="wrong username or password")
        return AuthResult(True, username=username)

    def _check_digest(
        self, method: str, uri: str, params: dict[str, str], now: float
    ) -> AuthResult:
        username = params.get("username")
        missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in params]
        if missing:
            return AuthResult(False, username=username, reason=f"digest lacks {missing}")
        assert username is not None
        algorithm = params.get("algorithm", "MD5").upper()
        if algorithm not in self.algorithms:
            return AuthResult(False, username=username, reason=f"algorithm {algorithm} refused")
        if params["realm"] != self.realm:
            return AuthResult(False, username=username, reason="wrong realm")
        if params["uri"] != uri:
            return AuthResult(False, username=username, reason="digest uri does not match")
        if params.get("qop", "").lower() != "auth":
            return AuthResult(False, username=username, reason="qop=auth required")
        if "opaque" in params and not hmac.compare_digest(params["opaque"], self._opaque):
            return AuthResult(False, username=username, reason="opaque does not match")
        nonce = params["nonce"]
        age = self._nonce_age(nonce, now)
        if age is None:
            return AuthResult(False, username=username, reason="nonce not ours")
        stale = age > self.nonce_lifetime or age < -1.0
        try:
            nc = int(params.get("nc", ""), 16)
        except ValueError:
            return AuthResult(False, username=username, reason="bad nonce-count")
        cnonce = params.get("cnonce", "")
        if not cnonce:
            return AuthResult(False, username=username, reason="cnonce missing")
        password = self.lookup(username)
        expected = digest_response(
            algorithm=algorithm,
            username=username,
            realm=self.realm,
            password=password if password is not None else "",
            method=method,
            uri=params["uri"],
            nonce=nonce,
            nc=params["nc"],
            cnonce=cnonce,
            qop="auth",
        )
        good = hmac.compare_digest(expected.encode(), params["response"].lower().encode())
        if password is None or not good:
            return AuthResult(False, username=username, reason="wrong username or password")
        if stale:
            # right password, old nonce: the client retries with a fresh one (RFC 7616 §3.3)
            return AuthResult(False, username=username, stale=True, reason="nonce expired")
        if nc <= self._seen.get(nonce, 0):
            return AuthResult(False, username=username, reason="nonce-count replayed")
        self._prune(now)
        self._seen[nonce] = nc
        return AuthResult(True, username=username)
