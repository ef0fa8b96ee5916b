"""Issue 12 #17: the proxier's default SerialNumber comes from the gateway, stays in the state
dir, and a configured value wins."""

from __future__ import annotations

import stat
from pathlib import Path

from proxier.config import ProxierIdentity, from_dict
from proxier.gatewayid import SERIAL_FILE, default_serial, effective_serial

ID_A = "0123456789abcdef0123456789abcdef"
ID_B = "fedcba9876543210fedcba9876543210"


def machine(tmp_path: Path, name: str, machine_id: str) -> Path:
    path = tmp_path / name
    path.write_text(machine_id + "\n")
    return path


def nic(sys_net: Path, name: str, mac: str) -> None:
    (sys_net / name).mkdir(parents=True)
    (sys_net / name / "address").write_text(mac + "\n")


def test_rule17_serial_derived_from_gateway_differs_per_machine_and_survives_restart(
    tmp_path: Path,
) -> None:
    """Two state dirs on different machine ids get different serials; a restart (even after
    the machine id changed) keeps the serial kept in the state dir, a private file; the
    machine id itself is not shown; `PROXIER-0001` is no longer the default."""
    none = tmp_path / "no-sys-net"
    a = default_serial(
        tmp_path / "a", machine_id_file=machine(tmp_path, "mid-a", ID_A), sys_net=none
    )
    b = default_serial(
        tmp_path / "b", machine_id_file=machine(tmp_path, "mid-b", ID_B), sys_net=none
    )
    assert a != b
    assert a.startswith("PX-") and len(a) <= 64
    assert ID_A not in a and ID_A.upper() not in a
    again = default_serial(
        tmp_path / "a", machine_id_file=machine(tmp_path, "mid-c", ID_B), sys_net=none
    )
    assert again == a, "restart keeps the serial kept in the state dir"
    kept = tmp_path / "a" / SERIAL_FILE
    assert kept.read_text().strip() == a
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert ProxierIdentity().serial_number != "PROXIER-0001"


def test_rule17_mac_of_first_lan_interface_when_no_machine_id(tmp_path: Path) -> None:
    """Without a machine id, the MAC of the first LAN interface (the first configured
    `upnp.interfaces`, else the first non-loopback one) decides."""
    sys_net = tmp_path / "net"
    nic(sys_net, "lo", "00:00:00:00:00:00")
    nic(sys_net, "br-lan", "02:11:22:33:44:55")
    nic(sys_net, "eth0", "02:66:77:88:99:aa")
    missing = tmp_path / "no-machine-id"
    first = default_serial(tmp_path / "s1", machine_id_file=missing, sys_net=sys_net)
    lan = default_serial(
        tmp_path / "s2", machine_id_file=missing, sys_net=sys_net, interfaces=("eth0",)
    )
    same_as_first = default_serial(
        tmp_path / "s3", machine_id_file=missing, sys_net=sys_net, interfaces=("br-lan",)
    )
    assert first == same_as_first != lan


def test_rule17_configured_serial_wins(tmp_path: Path) -> None:
    """`proxier.serial_number` in the config is used as given; nothing is derived or kept."""
    mid = machine(tmp_path, "mid", ID_A)
    assert effective_serial("SN-CONF", tmp_path / "s", machine_id_file=mid) == "SN-CONF"
    assert not (tmp_path / "s" / SERIAL_FILE).exists()
    config = from_dict({"acs": {"url": "http://127.0.0.1:1/"}})
    assert config.proxier.serial_number == "", "empty: derive from the gateway"
