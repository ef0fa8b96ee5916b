"""Fixtures for the WSC tests: namespace LANs and the Debian WSC peers."""

from __future__ import annotations

import shutil

import pytest

from tests.netns.fixtures import _unable, netns_lan

__all__ = ["netns_lan", "wsc_peers"]


@pytest.fixture
def wsc_peers() -> None:
    """Skip (fail where PROXIER_REQUIRE_NETNS is set) unless hostapd, wpa_supplicant and
    wpa_cli are installed (tests/peers/install-wsc.sh). Only looks for the files: the
    binaries themselves run only inside namespaces."""
    missing = [b for b in ("hostapd", "wpa_supplicant", "wpa_cli") if not shutil.which(b)]
    if missing:
        _unable(f"{' '.join(missing)} not installed (run tests/peers/install-wsc.sh as root)")
