"""Sans-IO codecs for the XML documents carried inside CMS string arguments.

ConfigurationManagement passes structured data (path lists, name/value lists, attributes) as
XML documents inside *string* arguments (reference upnp-dm.md §2.3). Both the control point
and the lab device need the same codecs in both directions, so they live here, free of I/O.
Every root element is in `urn:schemas-upnp-org:dm:cms`; children are unqualified. A document
that is not well-formed, has the wrong root or namespace, or lacks a required child raises
`CmsXmlError`, which is a `UpnpError` with code 702 (Invalid XML Argument, §2.7), so a device
can answer it as is and a control point can report it with the right code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

from proxier.upnp.device import NodeAttributes, ParameterValue, SupportedDataModel, UpnpError
from proxier.xmlsafe import XmlError, local_name, namespace, parse_xml

CMS_NS = "urn:schemas-upnp-org:dm:cms"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{CMS_NS} http://www.upnp.org/schemas/dm/cms.xsd"
INVALID_XML_ARGUMENT = 702

_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


class CmsXmlError(UpnpError):
    """A CMS XML argument is unusable: UPnP 702 Invalid XML Argument (upnp-dm.md §2.7)."""

    def __init__(self, description: str) -> None:
        super().__init__(INVALID_XML_ARGUMENT, description)


# --- building ----------------------------------------------------------------------------


def _root(name: str) -> etree._Element:
    root = etree.Element(f"{{{CMS_NS}}}{name}", nsmap={"cms": CMS_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION)
    return root


def _child(parent: etree._Element, name: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, name)
    element.text = text
    return element


def _serialize(root: etree._Element) -> str:
    return _DECLARATION + etree.tostring(root, encoding="unicode")


def _text_list(root_name: str, item_name: str, items: Iterable[str]) -> str:
    root = _root(root_name)
    for item in items:
        _child(root, item_name, item)
    return _serialize(root)


def _value_list(root_name: str, values: Iterable[ParameterValue]) -> str:
    root = _root(root_name)
    for pv in values:
        parameter = etree.SubElement(root, "Parameter")
        _child(parameter, "ParameterPath", pv.path)
        _child(parameter, "Value", pv.value)
    return _serialize(root)


# --- parsing -----------------------------------------------------------------------------


def _parse_root(document: str | bytes, root_name: str) -> etree._Element:
    try:
        root = parse_xml(document)
    except XmlError as exc:
        raise CmsXmlError(f"{root_name}: {exc}") from None
    if local_name(root) != root_name or namespace(root) != CMS_NS:
        raise CmsXmlError(
            f"expected root {{{CMS_NS}}}{root_name}, got {{{namespace(root)}}}{local_name(root)}"
        )
    return root


def _elements(parent: etree._Element, name: str) -> list[etree._Element]:
    # Children are unqualified by the schema; qualified ones are tolerated (same local name).
    return [child for child in parent if isinstance(child.tag, str) and local_name(child) == name]


def _one(parent: etree._Element, name: str, *, required: bool = True) -> str | None:
    found = _elements(parent, name)
    if len(found) > 1:
        raise CmsXmlError(f"<{local_name(parent)}> has {len(found)} <{name}> elements")
    if not found:
        if required:
            raise CmsXmlError(f"<{local_name(parent)}> lacks <{name}>")
        return None
    return found[0].text or ""


def _path_text(parent: etree._Element, name: str) -> str:
    text = _one(parent, name)
    assert text is not None
    path = text.strip()
    if not path:
        raise CmsXmlError(f"empty <{name}>")
    return path


def _parse_text_list(document: str | bytes, root_name: str, item_name: str) -> list[str]:
    root = _parse_root(document, root_name)
    items: list[str] = []
    for element in _elements(root, item_name):
        path = (element.text or "").strip()
        if not path:
            raise CmsXmlError(f"empty <{item_name}>")
        items.append(path)
    return items


def _parse_value_list(document: str | bytes, root_name: str) -> list[ParameterValue]:
    root = _parse_root(document, root_name)
    values: list[ParameterValue] = []
    for parameter in _elements(root, "Parameter"):
        path = _path_text(parameter, "ParameterPath")
        value = _one(parameter, "Value")
        assert value is not None
        values.append(ParameterValue(path, value))
    return values


# --- the documents -------------------------------------------------------------------------


def build_content_path_list(paths: Iterable[str]) -> str:
    """GetValues `Parameters`: leaf paths, or partial paths ending in '/' for subtrees."""
    return _text_list("ContentPathList", "ContentPath", paths)


def parse_content_path_list(document: str | bytes) -> list[str]:
    return _parse_text_list(document, "ContentPathList", "ContentPath")


def build_structure_path_list(paths: Iterable[str]) -> str:
    """GetSupportedParameters `Result`: paths with '#' for instance numbers."""
    return _text_list("StructurePathList", "StructurePath", paths)


def parse_structure_path_list(document: str | bytes) -> list[str]:
    return _parse_text_list(document, "StructurePathList", "StructurePath")


def build_instance_path_list(paths: Iterable[str]) -> str:
    """GetInstances `Result`: concrete instance paths."""
    return _text_list("InstancePathList", "InstancePath", paths)


def parse_instance_path_list(document: str | bytes) -> list[str]:
    return _parse_text_list(document, "InstancePathList", "InstancePath")


def build_node_attribute_path_list(paths: Iterable[str]) -> str:
    """GetAttributes `Parameters`."""
    return _text_list("NodeAttributePathList", "NodeAttributePath", paths)


def parse_node_attribute_path_list(document: str | bytes) -> list[str]:
    return _parse_text_list(document, "NodeAttributePathList", "NodeAttributePath")


def build_parameter_value_list(values: Iterable[ParameterValue]) -> str:
    """GetValues/GetSelectedValues output, SetValues input, ConfigurationUpdate tail."""
    return _value_list("ParameterValueList", values)


def parse_parameter_value_list(document: str | bytes) -> list[ParameterValue]:
    return _parse_value_list(document, "ParameterValueList")


def build_parameter_initial_value_list(values: Iterable[ParameterValue]) -> str:
    """CreateInstance `ChildrenInitialization`.

    The format is not confirmed by any source (upnp-dm.md §2.3): PROJECT CHOICE, the same
    shape as ParameterValueList with paths relative to the new instance.
    """
    return _value_list("ParameterInitialValueList", values)


def parse_parameter_initial_value_list(document: str | bytes) -> list[ParameterValue]:
    """Parse ChildrenInitialization; an empty argument means "no initial values"."""
    if not document.strip():
        return []
    return _parse_value_list(document, "ParameterInitialValueList")


_BOOL_TRUE = {"1", "true"}
_BOOL_FALSE = {"0", "false"}
_KNOWN_ATTRIBUTES = ("Access", "Type", "EventOnChange", "AlarmOnChange", "Version")


def _bool_text(value: bool) -> str:
    return "1" if value else "0"


def _parse_bool(name: str, text: str) -> bool:
    folded = text.strip().lower()
    if folded in _BOOL_TRUE:
        return True
    if folded in _BOOL_FALSE:
        return False
    raise CmsXmlError(f"<{name}> is not a boolean: {text!r}")


def build_node_attribute_value_list(nodes: Iterable[NodeAttributes]) -> str:
    """GetAttributes output / SetAttributes input: one child element per present attribute."""
    root = _root("NodeAttributeValueList")
    for node in nodes:
        element = etree.SubElement(root, "Node")
        _child(element, "NodeAttributePath", node.path)
        if node.access is not None:
            _child(element, "Access", node.access)
        if node.type is not None:
            _child(element, "Type", node.type)
        if node.event_on_change is not None:
            _child(element, "EventOnChange", _bool_text(node.event_on_change))
        if node.alarm_on_change is not None:
            _child(element, "AlarmOnChange", _bool_text(node.alarm_on_change))
        if node.version is not None:
            _child(element, "Version", str(node.version))
        for name, value in node.extra:
            _child(element, name, value)
    return _serialize(root)


def parse_node_attribute_value_list(document: str | bytes) -> list[NodeAttributes]:
    root = _parse_root(document, "NodeAttributeValueList")
    nodes: list[NodeAttributes] = []
    for element in _elements(root, "Node"):
        path = _path_text(element, "NodeAttributePath")
        access = _one(element, "Access", required=False)
        type_ = _one(element, "Type", required=False)
        event = _one(element, "EventOnChange", required=False)
        alarm = _one(element, "AlarmOnChange", required=False)
        version_text = _one(element, "Version", required=False)
        version: int | None = None
        if version_text is not None:
            try:
                version = int(version_text.strip())
            except ValueError:
                raise CmsXmlError(f"<Version> is not an integer: {version_text!r}") from None
        extra = tuple(
            (local_name(child), child.text or "")
            for child in element
            if isinstance(child.tag, str)
            and local_name(child) not in (*_KNOWN_ATTRIBUTES, "NodeAttributePath")
        )
        nodes.append(
            NodeAttributes(
                path=path,
                access=access.strip() if access is not None else None,
                type=type_.strip() if type_ is not None else None,
                event_on_change=_parse_bool("EventOnChange", event) if event is not None else None,
                alarm_on_change=_parse_bool("AlarmOnChange", alarm) if alarm is not None else None,
                version=version,
                extra=extra,
            )
        )
    return nodes


def build_supported_data_models(models: Iterable[SupportedDataModel]) -> str:
    """GetSupportedDataModels output: one <SubTree> per supported model subtree."""
    root = _root("SupportedDataModels")
    for model in models:
        subtree = etree.SubElement(root, "SubTree")
        _child(subtree, "URI", model.uri)
        _child(subtree, "Location", model.location)
        if model.url:
            _child(subtree, "URL", model.url)
        if model.description:
            _child(subtree, "Description", model.description)
    return _serialize(root)


def parse_supported_data_models(document: str | bytes) -> list[SupportedDataModel]:
    root = _parse_root(document, "SupportedDataModels")
    models: list[SupportedDataModel] = []
    for subtree in _elements(root, "SubTree"):
        uri = _one(subtree, "URI")
        location = _one(subtree, "Location")
        assert uri is not None and location is not None
        if not uri.strip() or not location.strip():
            raise CmsXmlError("<SubTree> with an empty <URI> or <Location>")
        models.append(
            SupportedDataModel(
                uri=uri.strip(),
                location=location.strip(),
                url=(_one(subtree, "URL", required=False) or "").strip(),
                description=(_one(subtree, "Description", required=False) or "").strip(),
            )
        )
    return models


# --- version stamps and ConfigurationUpdate ------------------------------------------------


@dataclass(frozen=True, slots=True)
class VersionStamp:
    """`<version>,<dateTime>`: SupportedDataModelsUpdate, SupportedParametersUpdate, …"""

    version: int
    date_time: str


@dataclass(frozen=True, slots=True)
class ConfigurationUpdate:
    """The evented ConfigurationUpdate: version, time and the alarmed parameters (§2.6)."""

    version: int
    date_time: str
    alarmed: tuple[ParameterValue, ...] = ()


def build_version_stamp(stamp: VersionStamp) -> str:
    return f"{stamp.version},{stamp.date_time}"


def parse_version_stamp(text: str) -> VersionStamp:
    """Parse `<version>,<dateTime>`; anything after a second comma is ignored."""
    parts = text.strip().split(",", 2)
    if len(parts) < 2:
        raise CmsXmlError(f"not '<version>,<dateTime>': {text[:80]!r}")
    try:
        version = int(parts[0].strip())
    except ValueError:
        raise CmsXmlError(f"version is not an integer: {parts[0][:40]!r}") from None
    if version < 0:
        raise CmsXmlError(f"negative version {version}")
    return VersionStamp(version, parts[1].strip())


def build_configuration_update(update: ConfigurationUpdate) -> str:
    head = f"{update.version},{update.date_time}"
    if not update.alarmed:
        return head
    return f"{head},{build_parameter_value_list(update.alarmed)}"


def parse_configuration_update(text: str) -> ConfigurationUpdate:
    """Split on the first two commas only: the alarmed-parameter XML may contain commas."""
    stamp = parse_version_stamp(text)
    parts = text.strip().split(",", 2)
    alarmed: Sequence[ParameterValue] = ()
    if len(parts) == 3 and parts[2].strip():
        alarmed = parse_parameter_value_list(parts[2].strip())
    return ConfigurationUpdate(stamp.version, stamp.date_time, tuple(alarmed))
