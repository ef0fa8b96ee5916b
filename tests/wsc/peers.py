"""Starting Debian's hostapd and wpa_supplicant inside a test namespace (dp-wps.md §5).

Both use the namespace's loopback (lo up, multicast on) for WFA UPnP, exactly as the
reference setups; nothing runs in the host namespace.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.netns.harness import NetnsLan, Proc

UUID_E = "11111111-2222-3333-4444-555555555555"
HOSTAPD_CONTROL = "http://127.0.0.1:49152/wps_control"

_HOSTAPD_CONF = """interface=lo
driver=none
ctrl_interface={dir}/hostapd-ctrl
ssid=wsc-test
wps_state=2
eap_server=1
ap_pin={pin}
upnp_iface=lo
uuid={uuid}
wpa=2
wpa_passphrase=old-passphrase
wpa_key_mgmt=WPA-PSK
rsn_pairwise=CCMP
"""


def loopback_multicast(lan: NetnsLan, host: str) -> None:
    subprocess.run(
        ["ip", "-n", lan.ns(host), "link", "set", "lo", "multicast", "on"],
        check=True,
        capture_output=True,
        timeout=20,
    )


async def start_hostapd(lan: NetnsLan, host: str, workdir: Path, ap_pin: str) -> Proc:
    """hostapd as an AP Enrollee with the WFA UPnP device on lo (`-dd -K`: key dump)."""
    loopback_multicast(lan, host)
    conf = workdir / "hostapd.conf"
    conf.write_text(_HOSTAPD_CONF.format(dir=workdir, pin=ap_pin, uuid=UUID_E))
    hostapd = await lan.spawn(host, "hostapd", "-dd", "-K", str(conf), name="hostapd")
    await hostapd.expect(lambda line: "lo: AP-ENABLED" in line or "49152" in line, within=20)
    return hostapd


async def start_er(lan: NetnsLan, host: str, workdir: Path) -> tuple[Proc, Path]:
    """wpa_supplicant with driver `none`, its External Registrar started on lo."""
    loopback_multicast(lan, host)
    conf = workdir / "wpa.conf"
    ctrl = workdir / "wpa-ctrl"
    conf.write_text(f"ctrl_interface={ctrl}\n")
    wpa = await lan.spawn(
        host, "wpa_supplicant", "-dd", "-D", "none", "-i", "lo", "-c", str(conf), name="wpa"
    )
    await wpa.expect(lambda line: "Added interface lo" in line, within=20)
    await wpa_cli(lan, host, ctrl, "wps_er_start", "ifname=lo")
    return wpa, ctrl


async def wpa_cli(lan: NetnsLan, host: str, ctrl: Path, *command: str) -> list[str]:
    cli = await lan.spawn(host, "wpa_cli", "-p", str(ctrl), "-i", "lo", *command, name="wpa_cli")
    status = await cli.exited(15)
    await cli.stop()
    assert status == 0 and "FAIL" not in cli.lines, f"wpa_cli {command}: {cli.lines}"
    return cli.lines
