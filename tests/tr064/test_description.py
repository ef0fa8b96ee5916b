"""Sans-IO TR-064 pieces: tr64desc.xml parsing and identity (FRITZ! guide §5.1, §10.4),
SCPDs under the dslforum namespace, discovery of dslforum devices (§2, §10.2), the mapping
table loader, [[tr064.login]] matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxier.config import ConfigError, Tr064Login, from_dict
from proxier.tr064.description import (
    SEARCH_TARGETS,
    in_arguments,
    is_tr064_root,
    parse_tr064_scpd,
    parse_tr64desc,
)
from proxier.tr064.mapping import MappingError, default_mapping, load_mapping
from proxier.tr064.virtual import pick_login
from proxier.upnp import ssdp
from proxier.upnp.description import DescriptionError
from proxier.upnp.discovery import SEARCH_TARGETS as DEFAULT_TARGETS
from proxier.upnp.discovery import DeviceTracker, ProbedDevice

#: The guide's §10.4 example, trimmed as there (no serialNumber: the UDN's tail is the MAC).
GUIDE_DESC = b"""<?xml version="1.0"?>
<root xmlns="urn:dslforum-org:device-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<device>
<deviceType>urn:dslforum-org:device:InternetGatewayDevice:1</deviceType>
<friendlyName>FRITZ!Box Fon WLAN 7270 v3</friendlyName>
<manufacturer>AVM</manufacturer>
<modelName>FRITZ!Box Fon WLAN 7270 v3</modelName>
<UDN>uuid:739f2409-bccb-40e7-8e6c-0024FE6E00C3</UDN>
<serviceList><service>
<serviceType>urn:dslforum-org:service:DeviceInfo:1</serviceType>
<serviceId>urn:DeviceInfo-com:serviceId:DeviceInfo1</serviceId>
<controlURL>/upnp/control/deviceinfo</controlURL>
<eventSubURL>/upnp/control/deviceinfo</eventSubURL>
<SCPDURL>/deviceinfoSCPD.xml</SCPDURL>
</service></serviceList>
<deviceList><device>
<deviceType>urn:dslforum-org:device:LANDevice:1</deviceType>
<UDN>uuid:75802409-bccb-40e7-8e6b-0024FE6E00C3</UDN>
<serviceList><service>
<serviceType>urn:dslforum-org:service:WLANConfiguration:1</serviceType>
<serviceId>urn:WLANConfiguration-com:serviceId:WLANConfiguration2</serviceId>
<controlURL>/upnp/control/wlanconfig2</controlURL>
<SCPDURL>/wlanconfigSCPD.xml</SCPDURL>
</service></serviceList>
</device></deviceList>
</device>
</root>"""

URL = "http://192.168.178.1:49000/tr64desc.xml"


def test_guide_example_identity_and_services() -> None:
    """§5.1: the MAC is the UDN's last part (and serialNumber); OUI its first octets;
    services of embedded devices are collected with absolute URLs; WLANConfiguration2 is
    instance 2."""
    desc = parse_tr64desc(GUIDE_DESC, URL)
    assert is_tr064_root(GUIDE_DESC)
    assert desc.mac == "0024FE6E00C3" and desc.oui == "0024FE"
    assert desc.model_name == "FRITZ!Box Fon WLAN 7270 v3" and desc.manufacturer == "AVM"
    wlan = desc.service("WLANConfiguration:2")
    assert wlan is not None
    assert wlan.control_url == "http://192.168.178.1:49000/upnp/control/wlanconfig2"
    with_serial = GUIDE_DESC.replace(
        b"<modelName>", b"<serialNumber>00:24:fe:6e:00:c4</serialNumber><modelName>"
    )
    assert parse_tr64desc(with_serial, URL).mac == "0024FE6E00C4"


def test_bad_descriptions_are_refused() -> None:
    """A UPnP (non-dslforum) root, or a service URL leaving the device, is refused."""
    upnp = GUIDE_DESC.replace(b"urn:dslforum-org:device-1-0", b"urn:schemas-upnp-org:device-1-0")
    with pytest.raises(DescriptionError, match="dslforum"):
        parse_tr64desc(upnp, URL)
    away = GUIDE_DESC.replace(b"/deviceinfoSCPD.xml", b"http://elsewhere.example/x.xml")
    with pytest.raises(DescriptionError, match="leaves the device"):
        parse_tr64desc(away, URL)


def test_scpd_in_the_dslforum_namespace() -> None:
    """§6: calls are built from the device's own argument lists."""
    scpd = parse_tr064_scpd(
        b'<?xml version="1.0"?><scpd xmlns="urn:dslforum-org:service-1-0"><actionList>'
        b"<action><name>GetGenericHostEntry</name><argumentList><argument><name>NewIndex"
        b"</name><direction>in</direction><relatedStateVariable>Index</relatedStateVariable>"
        b"</argument></argumentList></action></actionList><serviceStateTable>"
        b'<stateVariable sendEvents="no"><name>Index</name><dataType>ui2</dataType>'
        b"</stateVariable></serviceStateTable></scpd>"
    )
    assert in_arguments(scpd, "GetGenericHostEntry") == ("NewIndex",)


def test_search_answer_and_probe_make_candidates() -> None:
    """§10.1/§10.2: the default search includes the dslforum IGD; its answer (no NOTIFY
    ever) makes a candidate, as does a tr64desc.xml fetched from upnp.description_urls."""
    assert "urn:dslforum-org:device:InternetGatewayDevice:1" in DEFAULT_TARGETS
    assert set(SEARCH_TARGETS) <= set(DEFAULT_TARGETS)
    tracker = DeviceTracker()
    udn = "uuid:739f2409-bccb-40e7-8e6c-0024FE6E00C3"
    answer = ssdp.build_search_response(SEARCH_TARGETS[0], udn, location=URL, max_age=1800)
    (event,) = tracker.datagram(answer, "192.168.178.1", 0.0)
    assert event.kind == "alive" and event.location == URL
    probed = ProbedDevice(udn, SEARCH_TARGETS[0], ("urn:dslforum-org:service:DeviceInfo:1",), True)
    (again,) = DeviceTracker().probe_ok(URL, [probed], 0.0)
    assert again.kind == "alive" and again.udn == udn


def test_mapping_table_loads_and_bad_rows_name_themselves(tmp_path: Path) -> None:
    """mappings/tr064.toml is readable row by row; a bad row fails with file and row."""
    mapping = default_mapping()
    paths = {row.path for row in mapping.parameters}
    assert "Device.WiFi.AccessPoint.{i}.Security.KeyPassphrase" in paths
    assert all(row.hidden for row in mapping.parameters if "KeyPassphrase" in row.path)
    bad = tmp_path / "tr064.toml"
    bad.write_text('[[parameter]]\npath = "Device.X"\ntype = "xsd:float"\nout = "NewX"\n')
    with pytest.raises(MappingError, match=r"tr064\.toml parameter row 1"):
        load_mapping(bad)


def test_login_config_and_matching() -> None:
    """[[tr064.login]]: match by UDN, friendly name, MAC (any notation) or "*"; auth is
    digest, content or auto (default)."""
    config = from_dict(
        {
            "acs": {"url": "http://acs.example/"},
            "tr064": {
                "login": [
                    {"match": "00:24:fe:6e:00:c3", "user": "a", "password": "p"},
                    {"match": "*", "user": "b", "password": "q", "auth": "content"},
                ]
            },
        }
    )
    assert config.tr064_logins[0].auth == "auto"
    desc = parse_tr64desc(GUIDE_DESC, URL)
    login = pick_login(config.tr064_logins, desc)
    assert login is not None and login.user == "a"
    other = pick_login((Tr064Login("uuid:other", "x", "y"), *config.tr064_logins[1:]), desc)
    assert other is not None and other.user == "b" and other.auth == "content"
    assert pick_login((), desc) is None
    with pytest.raises(ConfigError, match=r"tr064.login\[0\].auth"):
        from_dict(
            {
                "acs": {"url": "http://acs.example/"},
                "tr064": {"login": [{"match": "*", "auth": "basic"}]},
            }
        )
