"""Device Protection's part of the operator actions (issue 8), plugged into the device-action
framework (`proxier.control.actions`): approve and deny (the privacy gate, TR-330 §2.4),
trust (a changed device certificate), each device's security state, and the devices held
back from the ACS. `forget` stays the Proxier's own (it drops pins and decisions too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from proxier.control.actions import Sighting, Target
from proxier.dp.privacy import APPROVED, DENIED

if TYPE_CHECKING:
    from proxier.api import Proxier


def _udns(target: Target) -> tuple[str, ...]:
    return target.udns if isinstance(target, Sighting) else target.record.udns


class DpActions:
    """The handlers and providers one Proxier registers."""

    def __init__(self, proxier: Proxier) -> None:
        self.proxier = proxier

    def install(self) -> None:
        actions = self.proxier.actions
        actions.register("approve", self.approve)
        actions.register("deny", self.deny)
        actions.register("trust", self.trust)
        actions.security_state = lambda target: str(self.detail(target)["state"])
        actions.security_detail = self.detail
        actions.sightings = self.sightings

    def detail(self, target: Target) -> dict[str, Any]:
        """state (plain/public/admin), roles, device identity, login, what is missing, a
        refusal keeping the device offline, and the proxier's own DP identity."""
        return self.proxier.dp.status(_udns(target))

    def sightings(self) -> list[Sighting]:
        return [
            Sighting(str(row["id"]), str(row["location"])) for row in self.proxier.privacy.pending()
        ]

    async def approve(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        """The user acknowledges the device (TR-330 §2.4): proxied from now on; a pending
        one is handled again at once from its last sighting ("0 BOOTSTRAP" follows)."""
        manager = self.proxier.manager
        for udn in _udns(target):
            self.proxier.privacy.approve(udn)
            if manager is not None and manager.by_udn(udn) is None:
                manager.replay(udn)
        return {"privacy": APPROVED}

    async def deny(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        """Keep the device out for good (kept across restarts); a virtual device it already
        had is dropped, so nothing more about it reaches the ACS."""
        if not isinstance(target, Sighting):
            await self.proxier.forget(target)
        for udn in _udns(target):
            self.proxier.privacy.deny(udn)
        return {"privacy": DENIED}

    async def trust(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        """Accept the device's new certificate (a changed one was refused, DP:1 pinning)."""
        manager = self.proxier.manager
        for udn in _udns(target):
            self.proxier.dp.trust(udn)
            if manager is not None:
                manager.replay(udn)
        return {"trusted": True}
