"""SIGHUP: apply a new config to a running Proxier without dropping devices or sessions.

Applied at once: the ACS URL, credentials, periodic inform and session timeout settings
(each virtual device's engine takes them; a new URL bootstraps there, values the ACS set
itself keep precedence), description URLs and probe/search intervals (discovery restarts
with them through `Proxier.set_discovery`; virtual devices stay), `upnp.return_wait`, and
the log settings (by the daemon). Keys that own sockets, files or identities keep their old
value until a restart; `RESTART_KEYS` lists them and the reload says which of them changed.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from proxier.config import Config
from proxier.logsafe import get_logger
from proxier.upnp.discovery import discovery_config

if TYPE_CHECKING:
    from proxier.api import Proxier

log = get_logger("proxier")

#: Keys (a section means all of its keys) that only a restart applies.
RESTART_KEYS = (
    "acs.ca_file",
    "acs.verify_tls",
    "acs.max_parallel_sessions",
    "connection_request",
    "upnp.interfaces",
    "upnp.allow_lan_multicast",
    "upnp.action_timeout",
    "upnp.client_cert",
    "upnp.client_key",
    "state",
    "proxier",
    "api",
)


def _flat(config: Config) -> dict[str, Any]:
    """`section.key` → value; a field that is not a section (e.g. the `[[tr064.login]]`
    entries) is one key of its own."""
    flat: dict[str, Any] = {}
    for section, values in asdict(config).items():
        if isinstance(values, dict):
            flat.update((f"{section}.{key}", value) for key, value in values.items())
        else:
            flat[section] = values
    return flat


def _needs_restart(key: str) -> bool:
    return any(key == k or key.startswith(k + ".") for k in RESTART_KEYS)


def effective(old: Config, new: Config) -> tuple[Config, list[str]]:
    """`new` with every restart-only key kept at its `old` value, and those keys' names."""
    old_flat, new_flat = _flat(old), _flat(new)
    pending = sorted(k for k in new_flat if new_flat[k] != old_flat[k] and _needs_restart(k))
    acs = replace(
        new.acs,
        ca_file=old.acs.ca_file,
        verify_tls=old.acs.verify_tls,
        max_parallel_sessions=old.acs.max_parallel_sessions,
    )
    upnp = replace(
        new.upnp,
        interfaces=old.upnp.interfaces,
        allow_lan_multicast=old.upnp.allow_lan_multicast,
        action_timeout=old.upnp.action_timeout,
        client_cert=old.upnp.client_cert,
        client_key=old.upnp.client_key,
    )
    kept = replace(
        new,
        acs=acs,
        upnp=upnp,
        connection_request=old.connection_request,
        state=old.state,
        proxier=old.proxier,
        api=old.api,
    )
    return kept, pending


def changed_keys(old: Config, new: Config) -> list[str]:
    old_flat, new_flat = _flat(old), _flat(new)
    return sorted(k for k in new_flat if new_flat[k] != old_flat[k])


def _derived(old: Config, new: Config) -> Config:
    """`new` with what the running proxier derived itself (an unset serial number is the
    gateway's, proxier/gatewayid.py), so that it does not count as a change."""
    if new.proxier.serial_number:
        return new
    return replace(new, proxier=replace(new.proxier, serial_number=old.proxier.serial_number))


async def apply(proxier: Proxier, new: Config) -> tuple[list[str], list[str]]:
    """Make `new` (less restart-only keys) the running config; returns the keys applied
    and the changed keys that wait for a restart."""
    new = _derived(proxier.config, new)
    applied = changed_keys(proxier.config, new)
    config, pending = effective(proxier.config, new)
    discovery_changed = discovery_config(config.upnp) != discovery_config(proxier.config.upnp)
    proxier.config = config
    if proxier.manager is not None:  # devices attached from now on use the new config
        proxier.manager.shared.config = config
    if proxier.discovery is not None and discovery_changed:
        # Before the engines: a device gone with its removed URL starts no session.
        await proxier.set_discovery(description_urls=config.upnp.description_urls)
    if proxier.manager is not None:
        for device in proxier.manager:
            device.reconfigure()
    if proxier.own is not None:
        proxier.own.reconfigure(config)
    return [k for k in applied if k not in pending], pending
