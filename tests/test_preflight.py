"""Runtime checks of `run --check` that the daemon tests do not reach (issue 11)."""

from __future__ import annotations

from pathlib import Path

from proxier.config import from_dict
from proxier.preflight import check_logging, check_reachability, is_loopback_host


def test_syslog_target_without_socket_names_log_target(tmp_path: Path) -> None:
    config = from_dict({"acs": {"url": "http://127.0.0.1/"}, "log": {"target": "syslog"}})
    (finding,) = check_logging(config, socket_path=str(tmp_path / "no-log"))
    assert (finding.level, finding.key) == ("error", "log.target")
    assert check_logging(config, socket_path=str(tmp_path)) == []


def test_loopback_warning_only_for_a_remote_acs() -> None:
    """A loopback ACS (the lab) may use loopback Connection Request URLs; a remote one not."""
    local = from_dict({"acs": {"url": "http://localhost:7547/"}})
    assert check_reachability(local) == []
    remote = from_dict(
        {"acs": {"url": "https://acs.example/"}, "connection_request": {"host": "192.0.2.1"}}
    )
    assert check_reachability(remote) == []
    assert is_loopback_host("::1") and is_loopback_host("127.8.0.1")
    assert not is_loopback_host("acs.example")
