"""Device certificate trust: pin on first contact, or verify against `[dps] device_ca`.

DP certificates are self-signed, so without a CA the only trust is continuity: the first
certificate a device presents is pinned (its DP identity, stored 0600 under state.dir) and a
different one later is refused until the user runs `proxier devices trust ID`. An expired
device certificate is refused in both modes (the TLS context does not check it when
verification is off for pinning).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509

from proxier.logsafe import get_logger
from proxier.upnp.tls import PinError, dp_identity

_LOG = get_logger(__name__)


def check_validity(der: bytes, now: datetime.datetime | None = None) -> None:
    cert = x509.load_der_x509_certificate(der)
    now = now or datetime.datetime.now(datetime.UTC)
    if now > cert.not_valid_after_utc:
        raise PinError(f"device certificate {dp_identity(der)} expired {cert.not_valid_after_utc}")
    if now < cert.not_valid_before_utc:
        raise PinError(f"device certificate {dp_identity(der)} is not valid yet")


class PinStore:
    """UDN → pinned device DP identity, persisted as JSON (0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pins: dict[str, str] = {}
        try:
            loaded = json.loads(path.read_text())
            if isinstance(loaded, dict):
                self._pins = {str(k): str(v) for k, v in loaded.items()}
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            _LOG.warning(
                "unreadable pin store %s (%s): every device will be pinned anew", path, exc
            )

    def get(self, udn: str) -> str | None:
        return self._pins.get(udn)

    def _save(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self._pins, f)
        os.replace(tmp, self.path)

    def forget(self, udn: str) -> None:
        """`proxier devices trust`/`forget`: the next certificate is pinned anew."""
        if self._pins.pop(udn, None) is not None:
            self._save()

    def checker(self, udn: str, *, pinning: bool = True) -> Callable[[bytes | None], None]:
        """A `peer_check` for one device: validity always; the pin unless a CA verifies."""

        def check(der: bytes | None) -> None:
            if der is None:
                raise PinError("no device certificate (not a TLS connection)")
            check_validity(der)
            if not pinning:
                return
            seen = dp_identity(der)
            pinned = self._pins.get(udn)
            if pinned is None:
                self._pins[udn] = seen
                self._save()
                _LOG.info("%s: pinned device certificate %s (first contact)", udn, seen)
            elif pinned != seen:
                raise PinError(
                    f"device certificate changed: pinned {pinned}, presented {seen} "
                    "(run `proxier devices trust` to accept it)"
                )

        return check


def check_at_handshake(context: ssl.SSLContext, check: Callable[[bytes | None], None]) -> None:
    """Run `check` on the device certificate as soon as the TLS handshake completes, before
    any request byte is sent: a refused device never sees the request (asyncio wraps every
    TLS connection in `context.sslobject_class`, so the check lives in its handshake).

    The same hook resumes the device's last TLS session on a new connection (session
    tickets), so a reconnect costs no full handshake; the certificate is checked either way.
    """
    saved: list[ssl.SSLSession] = []

    class _Checked(ssl.SSLObject):
        def do_handshake(self) -> None:
            if saved and not self.server_side and self.session is None:
                with contextlib.suppress(ValueError, ssl.SSLError):
                    self.session = saved[-1]
            super().do_handshake()  # SSLWantReadError until the handshake is done
            try:
                check(self.getpeercert(binary_form=True))
            except PinError as exc:
                saved.clear()
                raise ssl.SSLCertVerificationError(f"device refused: {exc}") from None

        def read(self, len: int = 1024, buffer: Any = None) -> Any:
            data = super().read(len, buffer) if buffer is not None else super().read(len)
            session = self.session
            if (
                session is not None
                and session.has_ticket
                and (not saved or saved[-1] is not session)
            ):
                saved[:] = [session]  # TLS 1.3 tickets arrive after the handshake
            return data

    context.sslobject_class = _Checked
