"""`proxier run`: a bad config names the key and exits non-zero without a traceback (issue 2)."""

import subprocess
import sys
from pathlib import Path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proxier", *args], capture_output=True, text=True, timeout=60
    )


def test_bad_config_exits_nonzero_naming_key(tmp_path: Path) -> None:
    cfg = tmp_path / "p.toml"
    cfg.write_text("[acs]\nurl = 'http://127.0.0.1:7547/'\n[connection_request]\nport = 99999\n")
    proc = run("run", "--config", str(cfg))
    assert proc.returncode == 2
    assert "connection_request.port" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    proc = run("run", "--config", str(tmp_path / "absent.toml"))
    assert proc.returncode == 2
    assert "cannot read" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_accepts_valid_config(tmp_path: Path) -> None:
    cfg = tmp_path / "p.toml"
    cfg.write_text("[acs]\nurl = 'http://127.0.0.1:7547/'\n")
    proc = run("run", "--config", str(cfg), "--check")
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout
