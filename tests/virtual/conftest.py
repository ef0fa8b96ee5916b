"""Fixtures for virtual-device tests: private namespace LANs for the SSDP lifecycle paths."""

from tests.netns.fixtures import netns_lan

__all__ = ["netns_lan"]
