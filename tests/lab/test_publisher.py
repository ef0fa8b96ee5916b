"""GENA publisher core (UDA §4.1–4.3) and the CallStranger rule (CVE-2020-12695)."""

from __future__ import annotations

import pytest

from proxier.lab.publisher import (
    GenaRefused,
    Publisher,
    Subscription,
    build_propertyset,
    callback_allowed,
)
from proxier.upnp.gena import parse_propertyset


def test_timeouts_are_bounded_and_expire() -> None:
    """UDA §4.1.1: TIMEOUT Second-N / infinite; the publisher chooses the actual duration."""
    pub = Publisher()
    sub = pub.subscribe("<http://127.0.0.1:9/cb>", "Second-1", "127.0.0.1", now=0)
    assert sub.timeout == 5 and sub.sid.startswith("uuid:")
    assert (
        pub.subscribe("<http://127.0.0.1:9/cb>", "Second-infinite", "127.0.0.1", 0).timeout == 86400
    )
    assert pub.subscribe("<http://127.0.0.1:9/cb>", None, "127.0.0.1", 0).timeout == 1800
    assert pub.renew(sub.sid, "Second-100", now=4).expires == 104
    with pytest.raises(GenaRefused) as exc:
        pub.renew(sub.sid, None, now=105)
    assert exc.value.status == 412


def test_seq_starts_at_zero_and_wraps_to_one() -> None:
    """UDA §4.3.2: SEQ 0 for the initial event, wraps from 2^32-1 to 1."""
    sub = Subscription("uuid:x", ("http://127.0.0.1/",), 1800, 1800.0)
    assert [sub.next_seq(), sub.next_seq()] == [0, 1]
    sub.seq = 0xFFFFFFFF
    assert [sub.next_seq(), sub.next_seq()] == [0xFFFFFFFF, 1]


@pytest.mark.parametrize(
    ("url", "subscriber", "ok"),
    [
        ("http://127.0.0.1:8000/cb", "127.0.0.1", True),
        ("http://127.0.0.2:8000/cb", "127.0.0.1", True),
        ("http://[::1]:8000/cb", "127.0.0.1", True),
        ("http://198.18.0.11:8000/cb", "198.18.0.11", True),
        ("http://198.18.0.99:8000/cb", "198.18.0.11", False),
        ("http://127.0.0.1:8000/cb", "198.18.0.11", False),
        ("http://localhost/cb", "127.0.0.1", False),
        ("ftp://127.0.0.1/cb", "127.0.0.1", False),
    ],
)
def test_callstranger_rule(url: str, subscriber: str, ok: bool) -> None:
    assert callback_allowed(url, subscriber) is ok


def test_propertyset_round_trips_markup_values() -> None:
    """UDA §4.3.2: values are escaped text; an XML document survives the trip."""
    body = build_propertyset({"ConfigurationUpdate": "3,2026-01-01T00:00:00Z,<a>&</a>", "X": ""})
    assert parse_propertyset(body) == {
        "ConfigurationUpdate": "3,2026-01-01T00:00:00Z,<a>&</a>",
        "X": "",
    }
