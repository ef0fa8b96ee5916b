"""Configured SSDP interfaces: names resolve to addresses, bad names are clear errors."""

import pytest

from proxier.upnp.interfaces import InterfaceError, resolve


def test_loopback_name_resolves() -> None:
    assert resolve(("lo",)) == ("127.0.0.1",)


def test_addresses_pass_through() -> None:
    assert resolve(("192.0.2.1", "fe80::1%eth0")) == ("192.0.2.1", "fe80::1%eth0")


def test_unknown_interface_is_named() -> None:
    with pytest.raises(InterfaceError, match="nosuchif0"):
        resolve(("nosuchif0",))
