"""Fixtures for the lab tests: private namespace LANs for the few SSDP tests."""

from tests.netns.fixtures import netns_lan

__all__ = ["netns_lan"]
