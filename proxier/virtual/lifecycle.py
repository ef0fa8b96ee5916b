"""The life of one proxied device as its virtual device sees it (sans-IO).

Inputs are discovery facts (ssdp:alive with BOOTID and LOCATION, ssdp:byebye with its
`Announcement.dm.upnp.org` header, lease expiry), failed device actions and the proxier's own
requests (a Reboot or FactoryReset the ACS asked for). Outputs are `Transition`s: whether the
virtual device goes online or offline, which TR-330 Table 1 trigger applies ("ssdp:alive" with
its conditions), and whether the device must be re-read at a new location.

Offline semantics (TR-069 Annex J.2.3 as summarised in the reference, TR-330 §4.1.1): an
offline device answers Connection Requests with 503 and starts no sessions; its identity,
event queue and instance map are kept for its return. The cached announcement survives a
proxier restart through `to_dict`/`from_dict` (it is persisted in the device store).
"""

from __future__ import annotations

from dataclasses import dataclass

ABOUT_TO_REBOOT = "AboutToReboot"
ABOUT_TO_BASELINE_RESET = "AboutToBaselineReset"

#: How many consecutive failed actions (transport errors, no UPnP code) mark a device offline.
FAILURES_BEFORE_OFFLINE = 3


#: Why a device with a refused (changed) certificate is offline, and what to do.
CERTIFICATE_CHANGED = "device certificate changed: run `proxier devices trust ID`"


@dataclass(frozen=True, slots=True)
class Transition:
    """What changed. `trigger`/`conditions` feed TR-330 Table 1 (mappings/table1_events)."""

    online: bool
    changed: bool = False
    trigger: str = ""
    conditions: frozenset[str] = frozenset()
    relocated: bool = False
    reason: str = ""
    hold: bool = False  # online, but start no session yet (an ACS reboot/reset is awaited)


class Lifecycle:
    """Online/offline state plus the announcement cached between byebye and alive."""

    def __init__(
        self, *, online: bool = False, boot_id: int | None = None, location: str = ""
    ) -> None:
        self.online = online
        self.boot_id = boot_id
        self.location = location
        self.announcements: set[str] = set()
        self.acs_reboot = False
        self.acs_reset = False
        self.return_deadline: float | None = None
        self.failures = 0
        self.first_discovery = False

    # --- persistence -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, str]:
        return {
            "boot_id": "" if self.boot_id is None else str(self.boot_id),
            "location": self.location,
            "announcements": ",".join(sorted(self.announcements)),
            "acs_reboot": "1" if self.acs_reboot else "",
            "acs_reset": "1" if self.acs_reset else "",
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Lifecycle:
        boot = data.get("boot_id", "")
        lc = cls(boot_id=int(boot) if boot.isdigit() else None, location=data.get("location", ""))
        lc.announcements = {a for a in data.get("announcements", "").split(",") if a}
        lc.acs_reboot = bool(data.get("acs_reboot"))
        lc.acs_reset = bool(data.get("acs_reset"))
        return lc

    # --- inputs ------------------------------------------------------------------------------

    def discovered(self, location: str, boot_id: int | None) -> Transition:
        """First time this proxier ever sees the device (TR-330 Table 1 row 0)."""
        self.first_discovery = True
        self.online = True
        self.location = location
        self.boot_id = boot_id
        return Transition(
            online=True,
            changed=True,
            trigger="ssdp:alive",
            conditions=frozenset({"first_discovery"}),
            reason="first discovery",
        )

    def alive(self, location: str, boot_id: int | None) -> Transition:
        """ssdp:alive (or a description URL answering again) for a known device."""
        conditions: set[str] = {f"announced:{a}" for a in self.announcements}
        if self.acs_reboot:
            conditions.add("acs_reboot")
        rebooted_silently = (
            boot_id is not None and self.boot_id is not None and boot_id != self.boot_id
        )
        if rebooted_silently and not conditions:
            # A new BOOTID without a cached announcement: the device restarted on its own.
            conditions.add("announced:" + ABOUT_TO_REBOOT)
        relocated = bool(location) and location != self.location
        was_online = self.online
        self.online = True
        self.failures = 0
        self.location = location or self.location
        if boot_id is not None:
            self.boot_id = boot_id
        self.announcements.clear()
        self.acs_reboot = False
        self.acs_reset = False
        self.return_deadline = None
        if conditions:
            reason = "back after " + ", ".join(sorted(conditions))
        elif not was_online:
            reason = "back online"
        else:
            reason = "relocated" if relocated else ""
        return Transition(
            online=True,
            changed=not was_online or bool(conditions),
            trigger="ssdp:alive" if conditions else "",
            conditions=frozenset(conditions),
            relocated=relocated,
            reason=reason,
        )

    def failed_over(self, location: str) -> Transition:
        """Another live path of the same device took over from one that went away (TR-330
        §4.1.1 multi-homed devices, `proxier.virtual.paths`): same device, same boot, so no
        Table 1 event and no change of online state; only the location moves."""
        relocated = location != self.location
        self.location = location
        self.failures = 0
        return Transition(
            online=self.online,
            relocated=relocated,
            reason=f"failed over to {location}",
            hold=self.return_deadline is not None,  # its "1 BOOT"/"M Reboot" come first
        )

    def boot_id_updated(self, next_boot_id: int) -> None:
        """ssdp:update (UDA 2.0 §1.2.4): a multi-homed device moves to NEXTBOOTID because an
        interface came or went, not because it restarted; an alive carrying it is no boot."""
        self.boot_id = next_boot_id

    def byebye(self, announcement: str) -> Transition:
        """ssdp:byebye: cache a DM announcement for the next alive (TR-330 Table 1)."""
        if announcement in (ABOUT_TO_REBOOT, ABOUT_TO_BASELINE_RESET):
            self.announcements.add(announcement)
        was_online = self.online
        self.online = False
        reason = f"byebye ({announcement})" if announcement else "byebye"
        return Transition(online=False, changed=was_online, reason=reason)

    def certificate_refused(self) -> Transition:
        """The device presented another certificate than the pinned one (DP:1 pinning,
        TR-064 HTTPS): offline until the operator trusts the new one."""
        was_online = self.online
        self.online = False
        return Transition(online=False, changed=was_online, reason=CERTIFICATE_CHANGED)

    def expired(self) -> Transition:
        """The SSDP lease ran out or the description URL stopped answering."""
        was_online = self.online
        self.online = False
        return Transition(online=False, changed=was_online, reason="lease expired")

    def action_failed(self) -> Transition:
        """A device action failed at transport level; enough in a row → offline."""
        self.failures += 1
        if self.online and self.failures >= FAILURES_BEFORE_OFFLINE:
            self.online = False
            return Transition(online=False, changed=True, reason="device not answering")
        return Transition(online=self.online)

    def action_succeeded(self) -> None:
        self.failures = 0

    def reboot_requested(self, now: float, wait: float) -> None:
        """The ACS's Reboot RPC became BMS::Reboot: expect the device back by now + wait."""
        self.acs_reboot = True
        self.return_deadline = now + wait

    def reset_requested(self, now: float, wait: float) -> None:
        """The ACS's FactoryReset RPC became BMS::BaselineReset."""
        self.acs_reset = True
        self.announcements.add(ABOUT_TO_BASELINE_RESET)
        self.return_deadline = now + wait

    # --- timers ------------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        return self.return_deadline

    def handle_timer(self, now: float) -> Transition | None:
        """The device did not come back in time: say so once; state is kept for its return."""
        if self.return_deadline is None or now < self.return_deadline:
            return None
        self.return_deadline = None
        was_online = self.online
        self.online = False
        return Transition(
            online=False, changed=was_online, reason="did not come back after reboot/reset"
        )
