"""CWMP ⇄ UPnP path translation (TR-330 §4.6.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxier.translate.instances import InstanceStore
from proxier.translate.paths import (
    PathError,
    PathTranslator,
    Root,
    UnknownInstance,
    roots_from_models,
    split_cwmp,
)
from proxier.translate.tables import default_tables
from proxier.upnp.device import SupportedDataModel

BBF = Root("/BBF/", "Device.")
UPNP = Root("/UPnP/DM/", "Device.X_UPNP-ORG_DM.")


@pytest.fixture
def tr(tmp_path: Path) -> PathTranslator:
    return PathTranslator([BBF, UPNP], InstanceStore(tmp_path / "i.sqlite"))


def test_roots_from_supported_data_models() -> None:
    """GetSupportedDataModels: a TR-181 SubTree at /BBF/ (or per object) stands for Device."""
    models = [
        SupportedDataModel("urn:broadband-forum-org:tr-181-2-11-0", "/BBF/DeviceInfo/"),
        SupportedDataModel("urn:broadband-forum-org:tr-181-2-11-0", "/BBF/Hosts/"),
        SupportedDataModel("urn:UPnP:Parent Device:1:ConfigurationManagement:2", "/UPnP/DM/"),
        SupportedDataModel("urn:example:other", "/Vendor/"),
    ]
    roots = roots_from_models(models, default_tables().roots)
    assert roots == (UPNP, BBF)
    only = roots_from_models(
        [SupportedDataModel("urn:broadband-forum-org:tr-181-2-0", "/Box/TR181/")],
        default_tables().roots,
    )
    assert only == (Root("/Box/TR181/", "Device."),)


def test_guideline_syntax_examples(tr: PathTranslator) -> None:
    """TR-330 §4.6.1: parameter, instance, multi-instance and single-instance paths."""
    tr.instances.allocate("/BBF/Hosts/Host/", [0])
    assert tr.to_upnp("Device.Hosts.Host.1.IPAddress") == "/BBF/Hosts/Host/0/IPAddress"
    assert tr.to_upnp("Device.Hosts.Host.1.") == "/BBF/Hosts/Host/0/"
    assert tr.to_upnp("Device.Hosts.Host.") == "/BBF/Hosts/Host/"
    assert tr.to_upnp("Device.Hosts.") == "/BBF/Hosts/"
    assert tr.to_upnp("Device.") == "/BBF/"
    assert tr.to_cwmp("/BBF/Hosts/Host/0/IPAddress") == "Device.Hosts.Host.1.IPAddress"
    assert tr.to_cwmp("/BBF/Hosts/Host/0/") == "Device.Hosts.Host.1."
    assert tr.to_cwmp("/BBF/Hosts/Host/") == "Device.Hosts.Host."
    assert tr.to_cwmp("/BBF/") == "Device."


def test_upnp_dm_root(tr: PathTranslator) -> None:
    assert (
        tr.to_upnp("Device.X_UPNP-ORG_DM.DeviceInfo.SoftwareVersion")
        == "/UPnP/DM/DeviceInfo/SoftwareVersion"
    )
    assert tr.to_cwmp("/UPnP/DM/DeviceInfo/") == "Device.X_UPNP-ORG_DM.DeviceInfo."


def test_sparse_instances_in_results(tr: PathTranslator) -> None:
    """UPnP 0, 2, 5 → CWMP 1, 2, 3 even when results arrive out of order."""
    got = tr.to_cwmp_many(
        ["/BBF/Hosts/Host/5/IPAddress", "/BBF/Hosts/Host/0/IPAddress", "/BBF/Hosts/Host/2/"]
    )
    assert got == [
        "Device.Hosts.Host.3.IPAddress",
        "Device.Hosts.Host.1.IPAddress",
        "Device.Hosts.Host.2.",
    ]


def test_nested_instances(tr: PathTranslator) -> None:
    got = tr.to_cwmp("/BBF/IP/Interface/4/IPv4Address/7/IPAddress")
    assert got == "Device.IP.Interface.1.IPv4Address.1.IPAddress"
    assert tr.to_upnp(got) == "/BBF/IP/Interface/4/IPv4Address/7/IPAddress"


def test_unknown_instance_is_reported_with_its_table(tr: PathTranslator) -> None:
    with pytest.raises(UnknownInstance) as info:
        tr.to_upnp("Device.Hosts.Host.9.IPAddress")
    assert info.value.table == "/BBF/Hosts/Host/"


def test_alias_addressing(tr: PathTranslator) -> None:
    """CWMP 1.3 alias-based addressing: [alias] in place of the instance number."""
    tr.instances.allocate("/BBF/Hosts/Host/", [3])
    tr.instances.set_alias("/BBF/Hosts/Host/", 1, "printer")
    assert tr.to_upnp("Device.Hosts.Host.[printer].IPAddress") == "/BBF/Hosts/Host/3/IPAddress"
    with pytest.raises(UnknownInstance):
        tr.to_upnp("Device.Hosts.Host.[scanner].IPAddress")


@pytest.mark.parametrize(
    "bad", ["Device..Hosts", "Device.Hosts.Host.1.2", "Device.Ho/sts.", "Other.Thing", ""]
)
def test_malformed_names(tr: PathTranslator, bad: str) -> None:
    with pytest.raises(PathError):
        tr.to_upnp(bad)


def test_split_cwmp() -> None:
    assert split_cwmp("Device.Hosts.") == (["Device", "Hosts"], True)
    with pytest.raises(PathError):
        split_cwmp(".")
