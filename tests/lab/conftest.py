"""Fixtures for the lab tests: private namespace LANs for the few SSDP/interop tests."""

from tests.netns.fixtures import gupnp, netns_lan

__all__ = ["gupnp", "netns_lan"]
