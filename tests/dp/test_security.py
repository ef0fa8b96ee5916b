"""Security state and login back-off (issue 8: 701 → back off, no retry storm)."""

from pathlib import Path

from proxier.config import DpsConfig, DpsLogin
from proxier.dp.manager import DpManager
from proxier.dp.security import ADMIN, BACKOFF_MAX, PUBLIC, LoginBackoff, Security


def test_backoff_doubles_and_caps_after_701() -> None:
    b = LoginBackoff()
    assert b.allowed(0.0)
    assert b.failed(0.0) == 60.0
    assert not b.allowed(59.0) and b.allowed(60.0)
    assert b.failed(60.0) == 180.0
    for _ in range(20):
        last = b.failed(1000.0)
    assert last == 1000.0 + BACKOFF_MAX
    b.succeeded()
    assert b.allowed(0.0)


def test_state_names_the_missing_role_and_our_identity() -> None:
    s = Security("uuid:x")
    s.set_roles(("Public",), "cp-id", login_configured=False)
    assert s.state == PUBLIC and "Admin" in s.missing and "cp-id" in s.missing
    s.set_roles(("Public", "Admin"), "cp-id", login_configured=False)
    assert s.state == ADMIN and s.missing == ""


def test_login_entry_matches_udn_name_or_device_identity_before_star(tmp_path: Path) -> None:
    """Issue 8: `match` is a UDN, a friendly name, a DP device identity, or "*"."""
    entries = (
        DpsLogin("*", "fallback", "x"),
        DpsLogin("uuid:aaa", "by-udn", "x"),
        DpsLogin("Kitchen TV", "by-name", "x"),
        DpsLogin("11111111-2222-5333-8444-555555555555", "by-id", "x"),
    )
    manager = DpManager(DpsConfig(login=entries), tmp_path)
    pick = manager.login_for
    assert pick("uuid:aaa", "", "").name == "by-udn"  # type: ignore[union-attr]
    assert pick("uuid:b", "Kitchen TV", "").name == "by-name"  # type: ignore[union-attr]
    found = pick("uuid:b", "", "11111111-2222-5333-8444-555555555555")
    assert found is not None and found.name == "by-id"
    assert pick("uuid:c", "other", "").name == "fallback"  # type: ignore[union-attr]
    assert DpManager(DpsConfig(), tmp_path).login_for("uuid:c", "", "") is None
