"""Per-device DP security state and the login back-off, sans-IO (clock passed in).

State: `plain` (no DeviceProtection), `public` (DP, no Admin: reads as far as the ACL allows,
writes refused with 606), `admin`. `missing` says, in words a user can act on, which step
would give the proxier Admin (TR-330 §4.8.1: carrier CA, introduction, admin tool, login).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PLAIN, PUBLIC, ADMIN = "plain", "public", "admin"

#: DP devices drop the TLS session after about five failed logins: after a 701 the proxier
#: waits, doubling from a minute up to an hour, so a wrong password never becomes a storm.
BACKOFF_FIRST = 60.0
BACKOFF_MAX = 3600.0


def has_admin(roles: tuple[str, ...]) -> bool:
    return any(r == "Admin" or r.endswith("Admin") for r in roles)


@dataclass(slots=True)
class LoginBackoff:
    failures: int = 0
    not_before: float = 0.0

    def allowed(self, now: float) -> bool:
        return now >= self.not_before

    def failed(self, now: float) -> float:
        """A 701: the next attempt is allowed no sooner than the returned time."""
        self.failures += 1
        self.not_before = now + min(BACKOFF_FIRST * 2 ** (self.failures - 1), BACKOFF_MAX)
        return self.not_before

    def succeeded(self) -> None:
        self.failures = 0
        self.not_before = 0.0


@dataclass(slots=True)
class Security:
    """What status and the API show about one device's protection."""

    udn: str
    state: str = PLAIN
    roles: tuple[str, ...] = ()
    device_identity: str = ""
    login: str = ""  # "", "ok as NAME", "failed: …"
    missing: str = ""
    error: str = ""  # a refusal that keeps the device offline (changed certificate, …)
    backoff: LoginBackoff = field(default_factory=LoginBackoff)

    def set_roles(self, roles: tuple[str, ...], cp_identity: str, login_configured: bool) -> None:
        self.roles = roles
        self.state = ADMIN if has_admin(roles) else PUBLIC
        if self.state == ADMIN:
            self.missing = ""
        elif login_configured:
            self.missing = (
                "role Admin: the login needs the proxier in the device's ACL with Basic — "
                f"introduce it or add DP identity {cp_identity} with the device's admin tool"
            )
        else:
            self.missing = (
                "role Admin: add a [[dps.login]] entry for this device, or grant Admin to "
                f"DP identity {cp_identity} (carrier CA or the device's admin tool)"
            )

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "roles": list(self.roles),
            "device_identity": self.device_identity,
            "login": self.login,
            "missing": self.missing,
            "error": self.error,
        }
