"""The multicast guard: SSDP only inside a private network namespace or when allowed."""

from __future__ import annotations

import pytest

from proxier.upnp import netns
from proxier.upnp.discovery import Discovery, DiscoveryConfig

host_only = pytest.mark.skipif(
    netns.in_private_netns(), reason="runs in the host network namespace only"
)


@host_only
def test_guard_refuses_host_namespace() -> None:
    """Network safety (issue 3): no SSDP multicast from the host namespace by default."""
    with pytest.raises(netns.MulticastRefused):
        netns.check_multicast_allowed()
    netns.check_multicast_allowed(allow_lan_multicast=True)  # explicit opt-in passes


@host_only
async def test_discovery_refuses_to_open_ssdp_sockets() -> None:
    """Discovery with an interface configured refuses to start outside a namespace."""
    found: list[object] = []
    discovery = Discovery(DiscoveryConfig(interfaces=("127.0.0.1",)), found.append)
    with pytest.raises(netns.MulticastRefused):
        await discovery.start()
    await discovery.stop()
    assert found == []


async def test_default_config_never_multicasts() -> None:
    """The product's defaults must not multicast: no interfaces → no SSDP sockets at all."""
    discovery = Discovery(DiscoveryConfig(), lambda event: None)
    await discovery.start()
    try:
        assert discovery._transports == []
    finally:
        await discovery.stop()


def test_interface_names_resolve_to_their_ipv4_address() -> None:
    """[upnp] interfaces are names (README): "lo" is 127.0.0.1; unknown names are errors."""
    from proxier.upnp.discovery import interface_ipv4

    assert interface_ipv4("lo") == "127.0.0.1"
    with pytest.raises(ValueError):
        interface_ipv4("nonexistent0")


def test_discovery_config_from_upnp_section() -> None:
    """The daemon's [upnp] section maps onto discovery: interfaces, interval, URLs, and the
    real-LAN flag stays off unless set."""
    from proxier.config import UpnpConfig
    from proxier.upnp.discovery import discovery_config

    config = discovery_config(
        UpnpConfig(search_interval=120, description_urls=("http://127.0.0.1:1/d.xml",))
    )
    assert config.interfaces == () and config.search_interval == 120.0
    assert config.description_urls == ("http://127.0.0.1:1/d.xml",)
    assert config.allow_lan_multicast is False
