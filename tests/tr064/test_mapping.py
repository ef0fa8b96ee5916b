"""mappings/tr064.toml expanded over what one device offers (guide §6: "an action the
device lacks is simply not offered")."""

from __future__ import annotations

from proxier.tr064.mapping import default_mapping


def test_parameters_follow_the_offered_actions_and_instances() -> None:
    """Two WLANConfiguration instances → Radio/SSID/AccessPoint .1 and .2; a firmware
    without GetSecurityKeys has no key parameters; Hosts rows follow the table numbers."""
    mapping = default_mapping()
    everything = mapping.expand(
        {"WLANConfiguration": [1, 2], "LANEthernetInterfaceConfig": [1]},
        lambda service, action: True,
        {"Hosts": [1, 4]},
    )
    assert "Device.WiFi.SSID.2.SSID" in everything
    assert "Device.WiFi.AccessPoint.1.Security.KeyPassphrase" in everything
    assert "Device.Hosts.Host.4.PhysAddress" in everything
    assert "Device.Hosts.Host.2.PhysAddress" not in everything
    assert everything["Device.WiFi.SSID.2.SSID"].service == "WLANConfiguration:2"
    older = mapping.expand(
        {"WLANConfiguration": [1]},
        lambda service, action: action != "GetSecurityKeys",
        {},
    )
    assert "Device.WiFi.SSID.1.SSID" in older
    assert not any("Security.KeyPassphrase" in name for name in older)
    assert not any(name.startswith("Device.WiFi.SSID.2.") for name in older)
