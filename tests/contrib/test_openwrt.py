"""contrib/openwrt (issue 11 "Deployment"): the UCI-to-TOML converter turns the shipped
/etc/config/proxier sample into a config proxier accepts, typed from proxier's schema, and
refuses a bad file with one line; the procd init script is valid sh with respawn and a
reload trigger that sends SIGHUP."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from proxier.config import load

ROOT = Path(__file__).resolve().parents[2]
OPENWRT = ROOT / "contrib" / "openwrt"


def convert(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(OPENWRT / "uci2toml.py"), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_sample_converts_to_a_valid_config(tmp_path: Path) -> None:
    proc = convert(OPENWRT / "proxier.config")
    assert proc.returncode == 0, proc.stderr
    toml = tmp_path / "proxier.toml"
    toml.write_text(proc.stdout)
    config = load(toml)
    assert config.acs.url == "https://acs.example.net:7547/"
    assert config.acs.periodic_inform_interval == 3600
    assert config.connection_request.port == 7548
    assert config.upnp.interfaces == ("br-lan",)
    assert config.upnp.allow_lan_multicast is True
    assert config.upnp.probe_interval == 30.0
    assert config.log.target == "syslog"


def test_bad_uci_is_one_line_naming_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "proxier"
    bad.write_text("config acs 'acs'\n\toption url 'http://a/'\n\toption verify_tls 'maybe'\n")
    proc = convert(bad)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().endswith("line 3: acs.verify_tls: 'maybe' is not a boolean (0/1)")
    bad.write_text("config acs\n\toption url 'http://a/'\n\toption colour 'red'\n")
    assert "line 3: acs.colour: unknown key" in convert(bad).stderr
    bad.write_text("config upnp\n\toption probe_interval '30'\n")
    proc = convert(bad)  # schema validation too: acs.url is required
    assert proc.returncode == 2 and "acs" in proc.stderr and "Traceback" not in proc.stderr


def test_procd_script_is_valid_sh_with_respawn_and_reload() -> None:
    script = OPENWRT / "proxier.init"
    text = script.read_text()
    sh = shutil.which("sh")
    assert sh is not None
    assert subprocess.run([sh, "-n", str(script)], timeout=30).returncode == 0
    assert "USE_PROCD=1" in text
    assert "procd_set_param respawn" in text
    assert "procd_set_param reload_signal HUP" in text
    assert 'procd_add_reload_trigger "proxier"' in text
