"""TR-330 §2.4 privacy gate: which discovered devices may be proxied to the ACS.

Mode "auto": every DM device is proxied (the acknowledgement is the device's own, e.g. its
DP introduction or ACL). Mode "approve": a new UDN is *pending* — listed in status and the
API, nothing about it reaches the ACS — until the user approves it; a denied UDN stays out
for good (persisted 0600 under state.dir). Devices already proxied before the mode was
switched on stay approved.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from proxier.logsafe import get_logger

_LOG = get_logger(__name__)
PENDING, APPROVED, DENIED = "pending", "approved", "denied"


class PrivacyGate:
    def __init__(self, mode: str, path: Path) -> None:
        self.mode = mode
        self.path = path
        self.decisions: dict[str, str] = {}
        self.seen_at: dict[str, str] = {}  # UDN → where it was seen (for the pending list)
        try:
            loaded = json.loads(path.read_text())
            if isinstance(loaded, dict):
                self.decisions = {str(k): str(v) for k, v in loaded.items() if v != PENDING}
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            _LOG.warning("unreadable privacy decisions %s (%s): all devices pending", path, exc)

    def _save(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({k: v for k, v in self.decisions.items() if v != PENDING}, f)
        os.replace(tmp, self.path)

    def admit(self, udn: str, location: str, *, known: bool) -> bool:
        """May this sighting go on to the virtual device manager?"""
        decision = self.decisions.get(udn)
        if decision == DENIED:
            return False
        if self.mode == "auto" or known or decision == APPROVED:
            return True
        if decision != PENDING:
            _LOG.info("%s at %s: pending approval (privacy.mode = approve)", udn, location)
            self.decisions[udn] = PENDING
        self.seen_at[udn] = location
        return False

    def pending(self) -> list[dict[str, object]]:
        """Pending devices as rows of the API's device list (no virtual device yet: id=UDN)."""
        return [
            {
                "instance": 0,
                "id": u,
                "udns": [u],
                "location": self.seen_at.get(u, ""),
                "online": False,
                "privacy": PENDING,
            }
            for u, d in self.decisions.items()
            if d == PENDING
        ]

    def approve(self, udn: str) -> None:
        self.decisions[udn] = APPROVED
        self._save()

    def deny(self, udn: str) -> None:
        self.decisions[udn] = DENIED
        self.seen_at.pop(udn, None)
        self._save()

    def forget(self, udn: str) -> None:
        self.decisions.pop(udn, None)
        self.seen_at.pop(udn, None)
        self._save()
