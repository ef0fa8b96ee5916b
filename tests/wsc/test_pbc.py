"""PBC walk time and overlap (dp-wps.md §6), with the clock passed in."""

from proxier.wsc import pbc


def test_dp_wps_s6_press_counts_for_the_120s_walk_time_then_is_consumed() -> None:
    button = pbc.PushButton()
    assert not button.active(0.0)
    button.press(100.0)
    assert button.active(219.9)
    assert not button.active(220.0)
    button.press(300.0)
    button.consume()
    assert not button.active(301.0)


def test_dp_wps_s6_two_distinct_pbc_enrollees_within_walk_time_is_error_12() -> None:
    sessions = pbc.PbcSessions()
    assert sessions.seen(b"A" * 16, 0.0) == 0
    assert sessions.seen(b"A" * 16, 10.0) == 0  # the same device again: no overlap
    assert sessions.seen(b"B" * 16, 50.0) == 12
    assert sessions.overlap(100.0)
    assert not sessions.overlap(171.0)  # A last seen at 10 s: expired after 120 s


def test_dp_wps_s6_a_completed_session_no_longer_overlaps() -> None:
    sessions = pbc.PbcSessions()
    sessions.seen(b"A" * 16, 0.0)
    sessions.completed(b"A" * 16)
    assert sessions.seen(b"B" * 16, 1.0) == 0


def test_issue9_cp_waits_at_most_the_walk_time_for_setup_ready() -> None:
    wait = pbc.Wait(started=1000.0)
    assert wait.deadline == 1120.0
    assert not wait.expired(1119.0) and wait.remaining(1100.0) == 20.0
    assert wait.expired(1120.0)
