"""Every live way to reach one Virtual CWMP Device, and which one it uses (sans-IO).

TR-330 §4.1.1 and Figure 5: one physical device may be seen several times: the same UUID on
several interfaces (multi-homed, UDA 2.0 §1.2: one LOCATION and lease per interface), or
several logical UPnP devices (root devices, embedded ManageableDevices) sharing the same
DM Common Objects. All of them are ONE Virtual CWMP Device. Each such sighting is a `Path`
(UDN + the network path discovery saw it on); the virtual device talks to the device
through one of them, the current one, and keeps the others as alternatives:

- a new path while the current one is alive is only remembered (no re-read, no event);
- the current path going away (byebye without announcement, lease expiry) fails over to an
  alternative without going offline and without TR-330 Table 1 events;
- only when no path is left does the device go offline (TR-069 Annex J.2.3);
- a new BOOTID on any path means the device restarted: paths still announcing the old
  BOOTID are stale (their leases predate the restart) and are dropped; ssdp:update moves
  every path to the announced next BOOTID without a restart (UDA 2.0 §1.2.4).

The lifecycle (online/offline, Table 1 triggers) stays in `proxier.virtual.lifecycle`; this
module only says which location to use and when the set of paths forces a change.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace

from proxier.upnp.identity import DeviceIdentity, IdentifiedDevice, same_virtual_device

PathKey = tuple[str, str]  # (udn, via)


@dataclass(frozen=True, slots=True)
class Path:
    """One sighting: `udn` at `location`, reached via `via` (remote address or probe URL)."""

    udn: str
    via: str
    location: str
    boot_id: int | None = None
    mac: str | None = None  # link-layer address behind `via`, when known

    @property
    def key(self) -> PathKey:
        return (self.udn, self.via)


class Action(enum.Enum):
    NOTHING = "nothing"  # refresh or an alternative path came or went
    ATTACH = "attach"  # (re)read the device at `path` and run the lifecycle's alive
    FAILOVER = "failover"  # the current path went: re-read at `path`, stay online, no event
    OFFLINE = "offline"  # no path left


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    path: Path | None = None
    reason: str = ""


class Paths:
    """The live paths of one virtual device; `current` is the one it uses."""

    def __init__(self) -> None:
        self._live: dict[PathKey, Path] = {}
        self._current: PathKey | None = None

    def __len__(self) -> int:
        return len(self._live)

    @property
    def live(self) -> list[Path]:
        return list(self._live.values())

    @property
    def current(self) -> Path | None:
        return self._live.get(self._current) if self._current is not None else None

    def seen(
        self,
        udn: str,
        via: str,
        location: str,
        boot_id: int | None,
        *,
        online: bool,
        mac: str | None = None,
    ) -> Decision:
        """Discovery saw the device at `location` via `via` (ssdp:alive or a probe)."""
        previous = self._live.get((udn, via))
        if mac is None and previous is not None:
            mac = previous.mac
        path = Path(udn, via, location, boot_id, mac)
        current = self.current
        rebooted = self._rebooted(boot_id)
        if rebooted:
            self._drop_other_boots(boot_id)
        self._live[path.key] = path
        if not online or current is None:
            self._current = path.key
            return Decision(Action.ATTACH, path, "offline" if current else "first path")
        if rebooted:
            self._current = path.key
            return Decision(Action.ATTACH, path, f"new BOOTID {boot_id}")
        if path.key == current.key:
            if previous is not None and previous.location == location:
                return Decision(Action.NOTHING, path, "lease refresh")
            return Decision(Action.ATTACH, path, "new location")
        if previous is None:
            return Decision(Action.NOTHING, path, "alternative path")
        return Decision(Action.NOTHING, path, "alternative path refreshed")

    def gone(self, udn: str, via: str) -> Decision:
        """The path left (byebye, lease expiry, its description URL stopped answering)."""
        key = (udn, via)
        path = self._live.pop(key, None)
        if path is None:
            return Decision(Action.NOTHING, None, "unknown path")
        if key != self._current:
            return Decision(Action.NOTHING, path, "alternative path gone")
        successor = self._successor(udn)
        if successor is None:
            self._current = None
            return Decision(Action.OFFLINE, path, "no path left")
        self._current = successor.key
        return Decision(Action.FAILOVER, successor, f"{via} gone")

    def boot_id_updated(self, next_boot_id: int) -> None:
        """ssdp:update: the device announced its next BOOTID without restarting."""
        for key, path in self._live.items():
            self._live[key] = replace(path, boot_id=next_boot_id)

    def attach_failed(self, path: Path) -> Decision:
        """The device could not be read at `path`: treat the path as gone."""
        return self.gone(path.udn, path.via)

    # --- internals -----------------------------------------------------------------------

    def _rebooted(self, boot_id: int | None) -> bool:
        if boot_id is None:
            return False
        known = {p.boot_id for p in self._live.values() if p.boot_id is not None}
        return bool(known) and boot_id not in known

    def _drop_other_boots(self, boot_id: int | None) -> None:
        for key, path in list(self._live.items()):
            if path.boot_id is not None and path.boot_id != boot_id:
                del self._live[key]
                if key == self._current:
                    self._current = None

    def _successor(self, udn: str) -> Path | None:
        """Prefer another path of the same logical device (same UDN), then any other."""
        ranked = sorted(self._live.values(), key=lambda p: p.udn != udn)
        return ranked[0] if ranked else None


def joins_without_common_objects(
    udn: str, location: str, mac: str | None, known: Iterable[tuple[str, str | None]]
) -> bool:
    """TR-330 §4.1.1 for a device WITHOUT DM Common Objects (fallback identity): is the same
    UUID, seen at `location` behind `mac`, the same Virtual CWMP Device as the paths `known`
    ((location, mac) of that UUID already in it)?

    The guideline: the same UUID with a different MAC address is a different Virtual CWMP
    Device (a multi-homed device may then appear twice), unless the device uses the same
    port in LOCATION on each interface. PROJECT CHOICE where it is silent: an unknown MAC
    (IPv6, routed, no neighbour entry) or no known path to compare with joins, since
    splitting on missing data would duplicate devices for nothing.
    """
    placeholder = DeviceIdentity("", "", "")  # fallback source: the UUID/MAC rule applies
    mine = IdentifiedDevice(udn, placeholder, location, mac)
    others = [IdentifiedDevice(udn, placeholder, loc, m) for loc, m in known]
    return not others or any(same_virtual_device(mine, other) for other in others)
