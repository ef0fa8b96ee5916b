"""Security state and login back-off (issue 8: 701 → back off, no retry storm)."""

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
