"""The proxier's own default SerialNumber, derived from the gateway it runs on (issue 12 #17).

A fixed default (the old `PROXIER-0001`) repeats across a fleet, so every gateway's
`Device.DeviceInfo.ProxierInfo.SerialNumber` (and its own DeviceId with `[proxier] cwmp`)
would look the same to the ACS. The default is derived once from the gateway: its
systemd/D-Bus machine id, or else the MAC address of its first LAN interface, or else a
random value; it is written to the state directory and read back from there afterwards, so
it stays the same when the machine id or the interfaces change later. A configured
`proxier.serial_number` always wins.

The machine id is never shown: only a hash of it (systemd asks applications not to expose
it, `machine-id(5)`). Sources are passed in as plain values (paths, names), so tests give
each state directory its own "machine".
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

from proxier.dbfile import private_dir
from proxier.logsafe import get_logger

log = get_logger(__name__)

#: Where the derived serial is kept, inside the state directory.
SERIAL_FILE = "proxier-serial"
MACHINE_ID = Path("/etc/machine-id")
SYS_NET = Path("/sys/class/net")
PREFIX = "PX-"

_MACHINE_ID = re.compile(r"^[0-9a-f]{32}$")
_MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_SERIAL = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def serial_from(source: str) -> str:
    """`PX-` and 16 hex digits of a hash of the source (machine id or MAC): stable for one
    gateway, different across a fleet, and the source itself is not shown."""
    digest = hashlib.sha256(b"proxier-serial:" + source.encode()).hexdigest()
    return PREFIX + digest[:16].upper()


def gateway_source(
    machine_id_file: Path = MACHINE_ID,
    *,
    sys_net: Path = SYS_NET,
    interfaces: Sequence[str] = (),
) -> str | None:
    """What identifies this gateway: the machine id, else the MAC of the first LAN
    interface (the first configured `upnp.interfaces` name, else the first non-loopback
    interface by name); None when neither is readable."""
    try:
        machine_id = machine_id_file.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        machine_id = ""
    if _MACHINE_ID.match(machine_id) and machine_id != "0" * 32:
        return "machine-id:" + machine_id
    try:
        present = sorted(p.name for p in sys_net.iterdir())
    except OSError:
        present = []
    names = [n for n in interfaces if n in present] or [n for n in present if n != "lo"]
    for name in names:
        try:
            mac = (sys_net / name / "address").read_text(encoding="ascii").strip().lower()
        except (OSError, UnicodeDecodeError):
            continue
        if _MAC.match(mac) and mac != "00:00:00:00:00:00":
            return "mac:" + mac
    return None


def default_serial(
    state_dir: Path,
    *,
    machine_id_file: Path = MACHINE_ID,
    sys_net: Path = SYS_NET,
    interfaces: Sequence[str] = (),
) -> str:
    """The serial kept in `state_dir`, or a new one derived from the gateway and kept there
    (a private file, 0600 in the 0700 state directory)."""
    path = state_dir / SERIAL_FILE
    try:
        kept = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        kept = ""
    if _SERIAL.match(kept):
        return kept
    source = gateway_source(machine_id_file, sys_net=sys_net, interfaces=interfaces)
    if source is None:
        log.warning("no machine id or LAN MAC readable: the proxier's serial number is random")
        source = "random:" + uuid.uuid4().hex
    serial = serial_from(source)
    private_dir(state_dir)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(serial + "\n")
    os.replace(tmp, path)
    log.info("proxier serial number %s (derived from the %s)", serial, source.split(":")[0])
    return serial


def effective_serial(
    configured: str,
    state_dir: Path,
    *,
    machine_id_file: Path = MACHINE_ID,
    sys_net: Path = SYS_NET,
    interfaces: Sequence[str] = (),
) -> str:
    """A configured `proxier.serial_number` wins; else the gateway's default."""
    if configured:
        return configured
    return default_serial(
        state_dir, machine_id_file=machine_id_file, sys_net=sys_net, interfaces=interfaces
    )
