"""Which search targets a lab device answers (UDA 1.1 §1.3.2), without any socket."""

from __future__ import annotations

from proxier.lab.announcer import search_matches, targets
from proxier.lab.datamodel import DataModel
from proxier.lab.device import LabDevice


def test_search_targets() -> None:
    device = LabDevice(0, "uuid:abc", DataModel())
    assert len(targets(device)) == 6  # rootdevice, UDN, device type, three services
    assert search_matches(device, "ssdp:all") == targets(device)
    assert search_matches(device, "upnp:rootdevice") == ["upnp:rootdevice"]
    assert search_matches(device, "uuid:abc") == ["uuid:abc"]
    v1 = "urn:schemas-upnp-org:service:ConfigurationManagement:1"
    assert search_matches(device, v1) == [v1]  # a v2 service answers v1 searches
    assert search_matches(device, "urn:schemas-upnp-org:service:ConfigurationManagement:3") == []
    assert search_matches(device, "urn:schemas-upnp-org:device:MediaServer:1") == []
    assert search_matches(device, "uuid:other") == []
