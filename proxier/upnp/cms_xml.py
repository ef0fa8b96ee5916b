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

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

from proxier.upnp.device import NodeAttributes, ParameterValue, SupportedDataModel, UpnpError
from proxier.upnp.soap import escape_text
from proxier.xmlsafe import XmlError, local_name, namespace, parse_xml

CMS_NS = "urn:schemas-upnp-org:dm:cms"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{CMS_NS} http://www.upnp.org/schemas/dm/cms.xsd"
INVALID_XML_ARGUMENT = 702


class CmsXmlError(UpnpError):
    """A CMS XML argument is unusable: UPnP 702 Invalid XML Argument (upnp-dm.md §2.7)."""

    def __init__(self, description: str) -> None:
        super().__init__(INVALID_XML_ARGUMENT, description)


# --- building ----------------------------------------------------------------------------
# Plain string assembly (escaped by `soap.escape_text`, which refuses characters XML cannot
# carry): several times faster than building an lxml tree for a 100-parameter list.

_OPEN = (
    f'<?xml version="1.0" encoding="UTF-8"?><cms:{{root}} xmlns:cms="{CMS_NS}"'
    f' xmlns:xsi="{XSI_NS}" xsi:schemaLocation="{SCHEMA_LOCATION}">'
)


def _document(root: str, body: str) -> str:
    return f"{_OPEN.format(root=root)}{body}</cms:{root}>"


def _text_list(root_name: str, item_name: str, items: Iterable[str]) -> str:
    body = "".join(f"<{item_name}>{escape_text(item)}</{item_name}>" for item in items)
    return _document(root_name, body)


def _value_list(root_name: str, values: Iterable[ParameterValue]) -> str:
    body = "".join(
        f"<Parameter><ParameterPath>{escape_text(pv.path)}</ParameterPath>"
        f"<Value>{escape_text(pv.value)}</Value></Parameter>"
        for pv in values
    )
    return _document(root_name, body)


def _element(name: str, text: str) -> str:
    return f"<{name}>{escape_text(text)}</{name}>"


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


def _name(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    # Children are unqualified by the schema; qualified ones are tolerated (same local name).
    return tag if tag[0] != "{" else tag.rsplit("}", 1)[1]


def _fields(parent: etree._Element, required: tuple[str, ...]) -> dict[str, str]:
    """Text of each child element by name; each name at most once, `required` ones present."""
    found: dict[str, str] = {}
    for child in parent:
        name = _name(child)
        if not name:
            continue
        if name in found:
            raise CmsXmlError(f"<{_name(parent)}> has more than one <{name}>")
        found[name] = child.text or ""
    for name in required:
        if name not in found:
            raise CmsXmlError(f"<{_name(parent)}> lacks <{name}>")
    return found


def _path(text: str, name: str) -> str:
    """A path the device sent, interned: the translation caches of hundreds of devices of
    one model keep the same paths, and then share one copy of each."""
    path = text.strip()
    if not path:
        raise CmsXmlError(f"empty <{name}>")
    return sys.intern(path)


def _word(text: str | None) -> str | None:
    """An attribute value from a small vocabulary (Type, Access), interned (see `_path`)."""
    return None if text is None else sys.intern(text.strip())


def _parse_text_list(document: str | bytes, root_name: str, item_name: str) -> list[str]:
    root = _parse_root(document, root_name)
    return [_path(e.text or "", item_name) for e in root if _name(e) == item_name]


def _parse_value_list(document: str | bytes, root_name: str) -> list[ParameterValue]:
    root = _parse_root(document, root_name)
    values: list[ParameterValue] = []
    for parameter in root:
        if _name(parameter) != "Parameter":
            continue
        path = value = None
        for child in parameter:
            name = _name(child)
            if name == "ParameterPath":
                if path is not None:
                    raise CmsXmlError("<Parameter> has more than one <ParameterPath>")
                path = _path(child.text or "", "ParameterPath")
            elif name == "Value":
                if value is not None:
                    raise CmsXmlError("<Parameter> has more than one <Value>")
                value = child.text or ""
        if path is None:
            raise CmsXmlError("<Parameter> lacks <ParameterPath>")
        if value is None:
            raise CmsXmlError("<Parameter> lacks <Value>")
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
    parts: list[str] = []
    for node in nodes:
        parts.append("<Node>" + _element("NodeAttributePath", node.path))
        if node.access is not None:
            parts.append(_element("Access", node.access))
        if node.type is not None:
            parts.append(_element("Type", node.type))
        if node.event_on_change is not None:
            parts.append(_element("EventOnChange", _bool_text(node.event_on_change)))
        if node.alarm_on_change is not None:
            parts.append(_element("AlarmOnChange", _bool_text(node.alarm_on_change)))
        if node.version is not None:
            parts.append(_element("Version", str(node.version)))
        for name, value in node.extra:
            parts.append(_element(name, value))
        parts.append("</Node>")
    return _document("NodeAttributeValueList", "".join(parts))


def parse_node_attribute_value_list(document: str | bytes) -> list[NodeAttributes]:
    root = _parse_root(document, "NodeAttributeValueList")
    nodes: list[NodeAttributes] = []
    for element in root:
        if _name(element) != "Node":
            continue
        fields = _fields(element, ("NodeAttributePath",))
        path = _path(fields.pop("NodeAttributePath"), "NodeAttributePath")
        access = fields.pop("Access", None)
        type_ = fields.pop("Type", None)
        event = fields.pop("EventOnChange", None)
        alarm = fields.pop("AlarmOnChange", None)
        version_text = fields.pop("Version", None)
        version: int | None = None
        if version_text is not None:
            try:
                version = int(version_text.strip())
            except ValueError:
                raise CmsXmlError(f"<Version> is not an integer: {version_text!r}") from None
        nodes.append(
            NodeAttributes(
                path=path,
                access=_word(access),
                type=_word(type_),
                event_on_change=_parse_bool("EventOnChange", event) if event is not None else None,
                alarm_on_change=_parse_bool("AlarmOnChange", alarm) if alarm is not None else None,
                version=version,
                extra=tuple(fields.items()),  # attributes we do not model, in document order
            )
        )
    return nodes


def build_supported_data_models(models: Iterable[SupportedDataModel]) -> str:
    """GetSupportedDataModels output: one <SubTree> per supported model subtree."""
    parts: list[str] = []
    for model in models:
        parts.append(
            "<SubTree>" + _element("URI", model.uri) + _element("Location", model.location)
        )
        if model.url:
            parts.append(_element("URL", model.url))
        if model.description:
            parts.append(_element("Description", model.description))
        parts.append("</SubTree>")
    return _document("SupportedDataModels", "".join(parts))


def parse_supported_data_models(document: str | bytes) -> list[SupportedDataModel]:
    root = _parse_root(document, "SupportedDataModels")
    models: list[SupportedDataModel] = []
    for subtree in root:
        if _name(subtree) != "SubTree":
            continue
        fields = _fields(subtree, ("URI", "Location"))
        uri, location = fields["URI"].strip(), fields["Location"].strip()
        if not uri or not location:
            raise CmsXmlError("<SubTree> with an empty <URI> or <Location>")
        models.append(
            SupportedDataModel(
                uri=uri,
                location=location,
                url=fields.get("URL", "").strip(),
                description=fields.get("Description", "").strip(),
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
