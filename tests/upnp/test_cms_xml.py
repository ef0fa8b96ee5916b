"""CMS XML documents (upnp-dm.md §2.3, §2.6): golden fixtures both ways, hostile input → 702."""

from __future__ import annotations

import pytest

from proxier.upnp import cms_xml
from proxier.upnp.cms_xml import CmsXmlError, ConfigurationUpdate, VersionStamp
from proxier.upnp.device import NodeAttributes, ParameterValue, SupportedDataModel, UpnpError

from .goldenfiles import canonical, load

PV_LIST = [
    ParameterValue("/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/ManufacturerOUI", "00D09E"),
    ParameterValue("/UPnP/DM/DeviceInfo/ProvisioningCode", 'a<b & "c", d'),
    ParameterValue("/BBF/VoiceService/0/SIP/Network/0/Status", ""),
]
INITIAL = [
    ParameterValue("IPv4/IPAddress", "192.168.1.20"),
    ParameterValue("SystemName", "eth1"),
]
NODES = [
    NodeAttributes(
        "/UPnP/DM/DeviceInfo/ProvisioningCode",
        access="readWrite",
        type="string",
        event_on_change=True,
        alarm_on_change=False,
        version=24,
    ),
    NodeAttributes(
        "/UPnP/DM/Configuration/Network/IPInterface/",
        access="readWrite",
        type="MultiInstance",
        extra=(("X_Vendor_Flag", "on"),),
    ),
]
MODELS = [
    SupportedDataModel(
        "urn:UPnP:Parent Device:1:ConfigurationManagement:2", "/UPnP/DM/DeviceInfo/"
    ),
    SupportedDataModel(
        "urn:broadband-forum-org:tr-181-2-11-0",
        "/BBF/",
        url="https://www.broadband-forum.org/cwmp/tr-181-2-11-0.html",
        description="Device:2 subset",
    ),
]

CASES = [
    (
        "ContentPathList.xml",
        cms_xml.build_content_path_list,
        cms_xml.parse_content_path_list,
        [
            "/UPnP/DM/DeviceInfo/SoftwareVersion",
            "/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/",
            "/BBF/DSL/Line/#/",
        ],
    ),
    (
        "StructurePathList.xml",
        cms_xml.build_structure_path_list,
        cms_xml.parse_structure_path_list,
        [
            "/UPnP/DM/Configuration/Network/HostName",
            "/UPnP/DM/Configuration/Network/IPInterface/#/IPv4/IPAddress",
            "/UPnP/DM/Configuration/Network/IPInterface/#/",
        ],
    ),
    (
        "InstancePathList.xml",
        cms_xml.build_instance_path_list,
        cms_xml.parse_instance_path_list,
        [
            "/UPnP/DM/Configuration/Network/IPInterface/0/",
            "/UPnP/DM/Configuration/Network/IPInterface/3/",
        ],
    ),
    (
        "NodeAttributePathList.xml",
        cms_xml.build_node_attribute_path_list,
        cms_xml.parse_node_attribute_path_list,
        [
            "/UPnP/DM/DeviceInfo/SoftwareVersion",
            "/UPnP/DM/Configuration/Network/IPInterface/",
        ],
    ),
    (
        "ParameterValueList.xml",
        cms_xml.build_parameter_value_list,
        cms_xml.parse_parameter_value_list,
        PV_LIST,
    ),
    (
        "ParameterInitialValueList.xml",
        cms_xml.build_parameter_initial_value_list,
        cms_xml.parse_parameter_initial_value_list,
        INITIAL,
    ),
    (
        "NodeAttributeValueList.xml",
        cms_xml.build_node_attribute_value_list,
        cms_xml.parse_node_attribute_value_list,
        NODES,
    ),
    (
        "SupportedDataModels.xml",
        cms_xml.build_supported_data_models,
        cms_xml.parse_supported_data_models,
        MODELS,
    ),
]


@pytest.mark.parametrize(("fixture", "build", "parse", "model"), CASES, ids=lambda c: str(c)[:30])
def test_golden_parses_to_model(fixture, build, parse, model) -> None:  # type: ignore[no-untyped-def]
    """upnp-dm.md §2.3: each golden document parses to the values it carries."""
    assert parse(load(f"cms/{fixture}")) == model


@pytest.mark.parametrize(("fixture", "build", "parse", "model"), CASES, ids=lambda c: str(c)[:30])
def test_build_matches_golden(fixture, build, parse, model) -> None:  # type: ignore[no-untyped-def]
    """upnp-dm.md §2.3: builders emit the cms namespace, unqualified children, schemaLocation."""
    built = build(model)
    assert built.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert canonical(built) == canonical(load(f"cms/{fixture}"))
    assert parse(built) == model


def test_value_with_markup_is_escaped_not_interpreted() -> None:
    """XML-in-string: a value holding markup characters survives build/parse unchanged."""
    tricky = [ParameterValue("/A/B", "<x>&amp;</x> ]]> \u00e9\u4e2d")]
    assert cms_xml.parse_parameter_value_list(cms_xml.build_parameter_value_list(tricky)) == tricky


def test_value_whitespace_is_preserved_but_paths_are_trimmed() -> None:
    """Values are opaque strings; path text from pretty-printed peers is trimmed."""
    doc = (
        '<cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"><Parameter>'
        "<ParameterPath>\n  /A/B\n</ParameterPath><Value>  two  spaces </Value>"
        "</Parameter></cms:ParameterValueList>"
    )
    assert cms_xml.parse_parameter_value_list(doc) == [ParameterValue("/A/B", "  two  spaces ")]


def test_empty_lists_round_trip() -> None:
    """An empty list is a valid document (e.g. GetInstances on an empty table)."""
    assert cms_xml.parse_instance_path_list(cms_xml.build_instance_path_list([])) == []
    assert cms_xml.parse_parameter_value_list(cms_xml.build_parameter_value_list([])) == []


def test_empty_children_initialization_means_no_values() -> None:
    """PROJECT CHOICE (upnp-dm.md §2.3): CreateInstance accepts an empty document."""
    assert cms_xml.parse_parameter_initial_value_list("") == []
    assert cms_xml.parse_parameter_initial_value_list("  ") == []


@pytest.mark.parametrize(
    "document",
    [
        "<ContentPathList><ContentPath>/A</ContentPath></ContentPathList>",  # no namespace
        '<cms:ContentPathList xmlns:cms="urn:schemas-upnp-org:dm:ConfigurationManagement">'
        "</cms:ContentPathList>",  # non-standard namespace
        '<cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"/>',  # wrong root
        '<cms:ContentPathList xmlns:cms="urn:schemas-upnp-org:dm:cms"><ContentPath>',  # broken
        "",
        "not xml at all",
        '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<cms:ContentPathList xmlns:cms="urn:schemas-upnp-org:dm:cms">'
        "<ContentPath>&x;</ContentPath></cms:ContentPathList>",  # XXE
        '<cms:ContentPathList xmlns:cms="urn:schemas-upnp-org:dm:cms">'
        "<ContentPath> </ContentPath></cms:ContentPathList>",  # empty path
    ],
)
def test_bad_content_path_list_is_702(document: str) -> None:
    """upnp-dm.md §2.7: not well-formed / wrong root or namespace → 702 Invalid XML Argument."""
    with pytest.raises(CmsXmlError) as info:
        cms_xml.parse_content_path_list(document)
    assert isinstance(info.value, UpnpError)
    assert info.value.code == 702


@pytest.mark.parametrize(
    "body",
    [
        "<Parameter><Value>x</Value></Parameter>",  # no path
        "<Parameter><ParameterPath>/A</ParameterPath></Parameter>",  # no value
        "<Parameter><ParameterPath>/A</ParameterPath><Value>1</Value><Value>2</Value></Parameter>",
    ],
)
def test_incomplete_parameter_is_702(body: str) -> None:
    """upnp-dm.md §2.3: <Parameter> needs exactly one <ParameterPath> and one <Value>."""
    ns = 'xmlns:cms="urn:schemas-upnp-org:dm:cms"'
    doc = f"<cms:ParameterValueList {ns}>{body}</cms:ParameterValueList>"
    with pytest.raises(CmsXmlError):
        cms_xml.parse_parameter_value_list(doc)


@pytest.mark.parametrize(
    "attribute", ["<EventOnChange>maybe</EventOnChange>", "<Version>x1</Version>"]
)
def test_ill_typed_attribute_is_702(attribute: str) -> None:
    """upnp-dm.md §2.5: EventOnChange is 0/1, Version is ui4."""
    doc = (
        '<cms:NodeAttributeValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"><Node>'
        f"<NodeAttributePath>/A</NodeAttributePath>{attribute}</Node></cms:NodeAttributeValueList>"
    )
    with pytest.raises(CmsXmlError):
        cms_xml.parse_node_attribute_value_list(doc)


def test_attribute_booleans_accept_true_false_words() -> None:
    """upnp-dm.md §2.9: accept 0/1/true/false on input; we always send 0/1."""
    doc = (
        '<cms:NodeAttributeValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"><Node>'
        "<NodeAttributePath>/A</NodeAttributePath><EventOnChange>true</EventOnChange>"
        "<AlarmOnChange>False</AlarmOnChange></Node></cms:NodeAttributeValueList>"
    )
    (node,) = cms_xml.parse_node_attribute_value_list(doc)
    assert node == NodeAttributes("/A", event_on_change=True, alarm_on_change=False)
    assert "<EventOnChange>1</EventOnChange>" in cms_xml.build_node_attribute_value_list([node])


def test_set_attributes_document_carries_only_present_attributes() -> None:
    """upnp-dm.md §2.3: SetAttributes sends only the attributes being written."""
    built = cms_xml.build_node_attribute_value_list([NodeAttributes("/A", event_on_change=True)])
    assert "<Access>" not in built and "<Version>" not in built and "<Type>" not in built


def test_configuration_update_golden_splits_on_first_two_commas() -> None:
    """upnp-dm.md §2.6: `version,dateTime,<ParameterValueList>`; the XML may contain commas."""
    update = cms_xml.parse_configuration_update(load("cms/ConfigurationUpdate.txt"))
    assert update == ConfigurationUpdate(
        24,
        "2015-07-27T20:47:22",
        (ParameterValue("/BBF/VoiceService/0/SIP/Network/0/Status", "Up, really"),),
    )
    assert cms_xml.parse_configuration_update(cms_xml.build_configuration_update(update)) == update


def test_configuration_update_without_alarms() -> None:
    """upnp-dm.md §2.6: without alarmed parameters the value is just `version,dateTime`."""
    update = ConfigurationUpdate(7, "2013-07-30T10:05:30Z")
    assert cms_xml.build_configuration_update(update) == "7,2013-07-30T10:05:30Z"
    assert cms_xml.parse_configuration_update("7,2013-07-30T10:05:30Z") == update
    assert cms_xml.parse_configuration_update("7,2013-07-30T10:05:30Z,") == update


@pytest.mark.parametrize("text", ["", "7", "x,2013-07-30T10:05:30", "-1,2013", "1,t,<broken"])
def test_bad_configuration_update_is_rejected(text: str) -> None:
    """A malformed evented value is reported, never crashes the event path."""
    with pytest.raises(CmsXmlError):
        cms_xml.parse_configuration_update(text)


def test_version_stamp_round_trip() -> None:
    """upnp-dm.md §2.1: SupportedDataModelsUpdate etc. are `version,dateTime`."""
    stamp = cms_xml.parse_version_stamp("1,2013-07-30T10:05:30")
    assert stamp == VersionStamp(1, "2013-07-30T10:05:30")
    assert cms_xml.build_version_stamp(stamp) == "1,2013-07-30T10:05:30"


def test_oversized_document_is_702() -> None:
    """A device cannot make us parse an unbounded document (xmlsafe size limit)."""
    huge = cms_xml.build_content_path_list(["/A/" + "x" * 1000] * 5000)
    with pytest.raises(CmsXmlError):
        cms_xml.parse_content_path_list(huge)


def test_paths_and_attribute_words_of_two_answers_are_one_copy() -> None:
    """Memory per virtual device (issue 4, gateway): the same path or Type in the answers of
    two devices is one string (interned), so per-device caches keyed by paths share them;
    the values stay per answer."""
    node = NodeAttributes("/BBF/DeviceInfo/X_Lab_Model", access="readOnly", type="string")
    first, second = (
        cms_xml.parse_node_attribute_value_list(cms_xml.build_node_attribute_value_list([node]))[0]
        for _ in range(2)
    )
    assert first == second == node
    assert first.path is second.path and first.type is second.type
    a, b = (
        cms_xml.parse_content_path_list(cms_xml.build_content_path_list(["/BBF/Hosts/Host/"]))[0]
        for _ in range(2)
    )
    assert a == "/BBF/Hosts/Host/" and a is b
