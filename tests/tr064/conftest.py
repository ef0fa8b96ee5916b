"""Fixtures for the UPnP control point tests: private namespace LANs for SSDP."""

from tests.netns.fixtures import gupnp, netns_lan

__all__ = ["gupnp", "netns_lan"]
