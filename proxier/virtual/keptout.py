"""Devices an admission limit keeps out (issue 12 item 7), as the operator sees and acts on
them: listed beside the privacy gate's pending devices (`held = "limit"`, the reason names
the config key) and admitted by `approve`.

`approve` is the operator's explicit word, so it admits the device despite
`upnp.max_new_devices_per_minute` (the rate bounds what the LAN invents, not what a person
asks for); `upnp.max_devices` still holds (it bounds the gateway's storage): when the table
is full and nothing is old enough to prune, approve answers 409 naming the key.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from proxier.control.actions import ActionRefused, Sighting, Target
from proxier.dp.privacy import DENIED

if TYPE_CHECKING:
    from proxier.api import Proxier

HELD = "limit"


class KeptOutActions:
    """The kept-out list and the approve handler one Proxier registers."""

    def __init__(self, proxier: Proxier) -> None:
        self.proxier = proxier

    def install(self) -> None:
        self.proxier.actions.hold(self.sightings)
        self.proxier.actions.register("approve", self.approve, held=HELD)

    def sightings(self) -> list[Sighting]:
        manager = self.proxier.manager
        if manager is None:
            return []
        decisions = self.proxier.privacy.decisions
        return [
            Sighting(
                e.udn,
                e.location,
                privacy="",
                held=HELD,
                reason=f"{e.reason}: nothing sent to the ACS (tried again when seen)",
                device_id=e.identity,
            )
            for e in list(manager.admission.kept_out.values())
            if manager.by_udn(e.udn) is None and decisions.get(e.udn) != DENIED
        ]

    async def approve(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        """Admit a kept-out device now, past the new-device rate, never past max_devices."""
        manager = self.proxier.manager
        assert manager is not None and isinstance(target, Sighting)
        admission = manager.admission
        registry = manager.shared.registry
        limit = admission.limits.max_devices
        if len(registry) >= limit and not admission.stale(registry, registry, time.time()):
            raise ActionRefused(
                f"upnp.max_devices ({limit}) reached: raise it or forget a virtual device "
                "first (approve admits past upnp.max_new_devices_per_minute only)"
            )
        admission.grant(target.udn)
        manager.replay(target.udn)
        return {"admission": "approved"}
