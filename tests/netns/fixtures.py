"""pytest fixtures for namespace tests (imported by the conftest of each test package)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable

import pytest

from tests.netns.harness import NetnsLan, gupnp_unavailable, unavailable

MakeLan = Callable[..., NetnsLan]

#: Set by `.ci/run`: there the namespace and GUPnP tests must run, so a missing capability
#: fails them instead of skipping them unseen.
REQUIRED = "PROXIER_REQUIRE_NETNS"


def _unable(reason: str) -> None:
    if os.environ.get(REQUIRED):
        pytest.fail(f"{reason} (required here: {REQUIRED} is set)")
    pytest.skip(reason)


@pytest.fixture
async def netns_lan() -> AsyncIterator[MakeLan]:
    """`netns_lan("cp", "dev")` → a started private LAN, torn down after the test.
    Skips (with the reason) where namespaces cannot be made."""
    reason = unavailable()
    if reason is not None:
        _unable(reason)
    lans: list[NetnsLan] = []

    def make(*hosts: str, v6: bool = False) -> NetnsLan:
        lan = NetnsLan(hosts or ("cp", "dev"), v6=v6).up()
        lans.append(lan)
        return lan

    yield make
    for lan in lans:
        await lan.down()


@pytest.fixture
def gupnp() -> None:
    """Skip unless the GUPnP peers can run (root, namespaces, python3-gi + GUPnP 1.6)."""
    reason = gupnp_unavailable()
    if reason is not None:
        _unable(reason)
