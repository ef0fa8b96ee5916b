"""Trust on first use for a TR-064 device's HTTPS certificate (issue 10, as for DP devices).

FRITZ! devices serve a self-signed certificate on the security port, so nothing can verify
it; the first certificate seen for a UDN is remembered (SHA-256 of the DER leaf) and any
other one afterwards is refused. No shared pinning store exists in the project yet, so this
small one keeps a JSON file (0600 in a 0700 directory) or, without a path, memory only.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from proxier.upnp.tls import PinError


class PinStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.pins: dict[str, str] = {}
        if path is not None and path.exists():
            try:
                loaded = json.loads(path.read_text())
                self.pins = {str(k): str(v) for k, v in loaded.items()}
            except (OSError, ValueError, AttributeError):
                self.pins = {}

    def check(self, udn: str, der: bytes | None) -> None:
        """Accept the pinned certificate, pin the first one, refuse any other."""
        if der is None:
            raise PinError("no certificate on the security port")
        fingerprint = hashlib.sha256(der).hexdigest()
        pinned = self.pins.get(udn)
        if pinned is None:
            self.pins[udn] = fingerprint
            self._save()
        elif pinned != fingerprint:
            raise PinError(f"{udn} presented another certificate than the one pinned on first use")

    def forget(self, udn: str) -> None:
        if self.pins.pop(udn, None) is not None:
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(self.pins, out)
        os.replace(tmp, self.path)
