"""CMS path grammar (upnp-dm.md §2.4): partial, structure and instance paths; 701 on error."""

from __future__ import annotations

import pytest

from proxier.upnp import paths
from proxier.upnp.paths import PathSyntaxError


def test_partial_and_leaf() -> None:
    """§2.4: a partial path ends with '/', a leaf does not."""
    assert paths.is_partial("/UPnP/DM/DeviceInfo/")
    assert not paths.is_partial("/UPnP/DM/DeviceInfo/UpTime")


def test_split_join_inverse() -> None:
    nodes = paths.split_path("/UPnP/DM/Configuration/Network/IPInterface/0/")
    assert nodes == ("UPnP", "DM", "Configuration", "Network", "IPInterface", "0")
    assert paths.join_path(nodes, partial=True) == "/UPnP/DM/Configuration/Network/IPInterface/0/"
    assert paths.join_path(nodes[:2], partial=False) == "/UPnP/DM"
    assert paths.join_path((), partial=True) == "/"


@pytest.mark.parametrize(
    "path",
    [
        "/UPnP/DM/DeviceInfo/SoftwareVersion",
        "/UPnP/DM/Configuration/Network/IPInterface/0/IPv4/IPAddress",
        "/BBF/",
        "/",
    ],
)
def test_valid_instance_paths(path: str) -> None:
    assert paths.check_instance_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "UPnP/DM/",  # relative
        "/UPnP//DM/",  # empty node
        "/UPnP/DM.DeviceInfo/",  # '.'
        "/UPnP/Device-Info/",  # '-'
        "/UPnP/Device Info/",  # space
        "/BBF/DSL/Line/#/",  # wildcard in an instance path
        "/BBF/DSL/Line/01/",  # non-canonical instance number
    ],
)
def test_bad_instance_paths_are_701(path: str) -> None:
    """§2.4/§2.7: malformed path → 701 Invalid Argument Syntax."""
    with pytest.raises(PathSyntaxError) as info:
        paths.check_instance_path(path)
    assert info.value.code == 701


def test_structure_paths() -> None:
    """§2.4: '#' replaces instance numbers; a leaf may not be '#'."""
    assert paths.check_structure_path("/BBF/DSL/Line/#/") == "/BBF/DSL/Line/#/"
    with pytest.raises(PathSyntaxError):
        paths.check_structure_path("/BBF/DSL/Line/#")
    with pytest.raises(PathSyntaxError):
        paths.check_structure_path("/BBF/DSL/Line/0/")


def test_content_paths_allow_both() -> None:
    """§2.4: GetValues content paths may mix numbers and '#' wildcards (devolo)."""
    path = "/BBF/DSL/Line/#/Channel/2/"
    assert paths.check_path(path, wildcards=True) == path


def test_structure_of_and_matches() -> None:
    inst = "/UPnP/DM/Configuration/Network/IPInterface/3/IPv4/IPAddress"
    assert paths.structure_of(inst) == "/UPnP/DM/Configuration/Network/IPInterface/#/IPv4/IPAddress"
    assert paths.matches(paths.structure_of(inst), inst)
    assert not paths.matches("/A/#/B", "/A/x/B")
    assert not paths.matches("/A/#/", "/A/1")
    assert paths.structure_of("/A/0/") == "/A/#/"


def test_parent_leaf_under() -> None:
    assert paths.parent_of("/A/B/C") == "/A/B/"
    assert paths.parent_of("/A/B/C/") == "/A/B/"
    assert paths.leaf_name("/A/B/C/") == "C"
    assert paths.is_under("/A/B/C", "/A/")
    assert not paths.is_under("/AB/C", "/A/")
    assert paths.is_under("/A/B", "/A/B")
