"""CWMP SOAP codec (TR-069 §3.5 and Annex A), sans-IO: `Envelope` ⇄ bytes.

Both directions use one schema table, so the CPE side (Inform, responses, faults,
TransferComplete) and the lab ACS side (requests, InformResponse) cannot drift apart.
Decoding goes through `proxier.xmlsafe.parse_xml` (no DTD, no entities, no network, size
bound) and walks children directly, without XPath, because a GetParameterValuesResponse can
carry thousands of parameters and this runs on a gateway CPU. Encoding writes the XML text
directly with escaping; the output is compact UTF-8 with an XML declaration.

Every decode failure raises `SoapError` with the CWMP fault code to answer with and a message
naming the element at fault; it carries the cwmp:ID and version read so far, so the session
can still echo the ID (§3.5 Table 4) in the namespace the peer used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from lxml import etree

from proxier.cwmp import rpc
from proxier.cwmp.faults import fault as make_fault
from proxier.cwmp.faults import fault_info
from proxier.cwmp.rpc import CWMP_NS, Envelope, Fault, Message, ParameterValueStruct
from proxier.cwmp.xsdtypes import (
    escape_attr,
    escape_text,
    format_boolean,
    format_datetime,
    parse_boolean,
    parse_datetime,
    parse_int,
    parse_unsigned_int,
)
from proxier.xmlsafe import DEFAULT_MAX_BYTES, XmlError, parse_xml

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC_NS = "http://schemas.xmlsoap.org/soap/encoding/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

#: cwmp namespace URI → version string (the keys of `CWMP_NS`).
VERSION_BY_NS: dict[str, str] = {ns: version for version, ns in CWMP_NS.items()}

_ENVELOPE = f"{{{SOAP_ENV_NS}}}Envelope"
_HEADER = f"{{{SOAP_ENV_NS}}}Header"
_BODY = f"{{{SOAP_ENV_NS}}}Body"
_XSI_TYPE = f"{{{XSI_NS}}}type"


class SoapError(Exception):
    """A SOAP envelope that cannot be accepted, with the CWMP fault code to answer it with.

    `cwmp_id` and `version` are what could be read before the failure (None when unknown), so
    the fault response can still echo the ID in the peer's namespace.
    """

    def __init__(
        self,
        code: int,
        message: str,
        *,
        cwmp_id: str | None = None,
        version: str | None = None,
    ) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.cwmp_id = cwmp_id
        self.version = version

    @property
    def fault(self) -> Fault:
        """The Fault body that answers the offending request."""
        return make_fault(self.code, self.message)

    def envelope(self, default_version: str = "1.2") -> Envelope:
        """The complete fault response: echoes the ID, in the peer's namespace if known."""
        return Envelope(self.fault, cwmp_id=self.cwmp_id, version=self.version or default_version)


class _ArgError(Exception):
    """An argument problem inside the body; becomes 9003 (8003 on the ACS side)."""


# --- schema ----------------------------------------------------------------------------------

STRING, INT, UNSIGNED_INT, BOOLEAN, DATETIME = "string", "int", "unsignedInt", "boolean", "dateTime"


@dataclass(frozen=True, slots=True)
class _Array:
    """A SOAP-ENC array: `<Arg soap-enc:arrayType="{array_type}[N]"><{member}>…`."""

    member: str
    array_type: str
    item: _Kind


@dataclass(frozen=True, slots=True)
class _PvsArray:
    """ParameterValueStruct[]: the hot path (values carry xsi:type), coded by hand."""


@dataclass(frozen=True, slots=True)
class _Struct:
    name: str
    cls: type[Any]
    fields: tuple[tuple[str, str, _Kind], ...]  # (element name, dataclass attribute, kind)


_Kind = str | _Array | _PvsArray | _Struct

_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _struct(cls: type[Any], *args: tuple[str, _Kind], name: str | None = None) -> _Struct:
    """Schema of a struct/message; the dataclass attribute is the element name in snake_case
    (ParameterKey → parameter_key, SuccessURL → success_url)."""
    return _Struct(
        name or cls.__name__,
        cls,
        tuple((xml, _SNAKE.sub("_", xml).lower(), kind) for xml, kind in args),
    )


PVS_LIST = _PvsArray()
_STRINGS = _Array("string", "xsd:string", STRING)

_DEVICE_ID = _struct(
    rpc.DeviceIdStruct,
    ("Manufacturer", STRING),
    ("OUI", STRING),
    ("ProductClass", STRING),
    ("SerialNumber", STRING),
)
_EVENT = _struct(rpc.EventStruct, ("EventCode", STRING), ("CommandKey", STRING))
_FAULT_STRUCT = _struct(rpc.FaultStruct, ("FaultCode", UNSIGNED_INT), ("FaultString", STRING))
_PARAM_INFO = _struct(rpc.ParameterInfoStruct, ("Name", STRING), ("Writable", BOOLEAN))
_PARAM_ATTR = _struct(
    rpc.ParameterAttributeStruct,
    ("Name", STRING),
    ("Notification", INT),
    ("AccessList", _STRINGS),
)
_SET_PARAM_ATTR = _struct(
    rpc.SetParameterAttributesStruct,
    ("Name", STRING),
    ("NotificationChange", BOOLEAN),
    ("Notification", INT),
    ("AccessListChange", BOOLEAN),
    ("AccessList", _STRINGS),
)
_QUEUED = _struct(rpc.QueuedTransferStruct, ("CommandKey", STRING), ("State", INT))
_ALL_QUEUED = _struct(
    rpc.AllQueuedTransferStruct,
    ("CommandKey", STRING),
    ("State", INT),
    ("IsDownload", BOOLEAN),
    ("FileType", STRING),
    ("FileSize", UNSIGNED_INT),
    ("TargetFileName", STRING),
)
_TIME_WINDOW = _struct(
    rpc.TimeWindowStruct,
    ("WindowStart", UNSIGNED_INT),
    ("WindowEnd", UNSIGNED_INT),
    ("WindowMode", STRING),
    ("UserMessage", STRING),
    ("MaxRetries", INT),
)


def _array(struct: _Struct) -> _Array:
    return _Array(struct.name, f"cwmp:{struct.name}", struct)


_TRANSFER_TIMES = (("StartTime", DATETIME), ("CompleteTime", DATETIME))

#: Every CWMP message of rpc.py with its arguments in Annex A order.
MESSAGES: tuple[_Struct, ...] = (
    _struct(rpc.GetRPCMethods),
    _struct(rpc.GetRPCMethodsResponse, ("MethodList", _STRINGS)),
    _struct(rpc.GetParameterNames, ("ParameterPath", STRING), ("NextLevel", BOOLEAN)),
    _struct(rpc.GetParameterNamesResponse, ("ParameterList", _array(_PARAM_INFO))),
    _struct(rpc.GetParameterValues, ("ParameterNames", _STRINGS)),
    _struct(rpc.GetParameterValuesResponse, ("ParameterList", PVS_LIST)),
    _struct(rpc.SetParameterValues, ("ParameterList", PVS_LIST), ("ParameterKey", STRING)),
    _struct(rpc.SetParameterValuesResponse, ("Status", INT)),
    _struct(rpc.GetParameterAttributes, ("ParameterNames", _STRINGS)),
    _struct(rpc.GetParameterAttributesResponse, ("ParameterList", _array(_PARAM_ATTR))),
    _struct(rpc.SetParameterAttributes, ("ParameterList", _array(_SET_PARAM_ATTR))),
    _struct(rpc.SetParameterAttributesResponse),
    _struct(rpc.AddObject, ("ObjectName", STRING), ("ParameterKey", STRING)),
    _struct(rpc.AddObjectResponse, ("InstanceNumber", UNSIGNED_INT), ("Status", INT)),
    _struct(rpc.DeleteObject, ("ObjectName", STRING), ("ParameterKey", STRING)),
    _struct(rpc.DeleteObjectResponse, ("Status", INT)),
    _struct(rpc.Reboot, ("CommandKey", STRING)),
    _struct(rpc.RebootResponse),
    _struct(rpc.FactoryReset),
    _struct(rpc.FactoryResetResponse),
    _struct(
        rpc.Download,
        ("CommandKey", STRING),
        ("FileType", STRING),
        ("URL", STRING),
        ("Username", STRING),
        ("Password", STRING),
        ("FileSize", UNSIGNED_INT),
        ("TargetFileName", STRING),
        ("DelaySeconds", UNSIGNED_INT),
        ("SuccessURL", STRING),
        ("FailureURL", STRING),
    ),
    _struct(rpc.DownloadResponse, ("Status", INT), *_TRANSFER_TIMES),
    _struct(
        rpc.Upload,
        ("CommandKey", STRING),
        ("FileType", STRING),
        ("URL", STRING),
        ("Username", STRING),
        ("Password", STRING),
        ("DelaySeconds", UNSIGNED_INT),
    ),
    _struct(rpc.UploadResponse, ("Status", INT), *_TRANSFER_TIMES),
    _struct(rpc.ScheduleInform, ("DelaySeconds", UNSIGNED_INT), ("CommandKey", STRING)),
    _struct(rpc.ScheduleInformResponse),
    _struct(rpc.GetQueuedTransfers),
    _struct(rpc.GetQueuedTransfersResponse, ("TransferList", _array(_QUEUED))),
    _struct(rpc.GetAllQueuedTransfers),
    _struct(rpc.GetAllQueuedTransfersResponse, ("TransferList", _array(_ALL_QUEUED))),
    _struct(rpc.CancelTransfer, ("CommandKey", STRING)),
    _struct(rpc.CancelTransferResponse),
    _struct(
        rpc.ScheduleDownload,
        ("CommandKey", STRING),
        ("FileType", STRING),
        ("URL", STRING),
        ("Username", STRING),
        ("Password", STRING),
        ("FileSize", UNSIGNED_INT),
        ("TargetFileName", STRING),
        ("TimeWindowList", _array(_TIME_WINDOW)),
    ),
    _struct(
        rpc.Inform,
        ("DeviceId", _DEVICE_ID),
        ("Event", _array(_EVENT)),
        ("MaxEnvelopes", UNSIGNED_INT),
        ("CurrentTime", DATETIME),
        ("RetryCount", UNSIGNED_INT),
        ("ParameterList", PVS_LIST),
    ),
    _struct(rpc.InformResponse, ("MaxEnvelopes", UNSIGNED_INT)),
    _struct(
        rpc.TransferComplete,
        ("CommandKey", STRING),
        ("FaultStruct", _FAULT_STRUCT),
        *_TRANSFER_TIMES,
    ),
    _struct(rpc.TransferCompleteResponse),
    _struct(
        rpc.AutonomousTransferComplete,
        ("AnnounceURL", STRING),
        ("TransferURL", STRING),
        ("IsDownload", BOOLEAN),
        ("FileType", STRING),
        ("FileSize", UNSIGNED_INT),
        ("TargetFileName", STRING),
        ("FaultStruct", _FAULT_STRUCT),
        *_TRANSFER_TIMES,
    ),
    _struct(rpc.AutonomousTransferCompleteResponse),
)

_BY_TYPE: dict[type[Any], _Struct] = {m.cls: m for m in MESSAGES}
_BY_NAME: dict[str, _Struct] = {m.name: m for m in MESSAGES}


def check_schema() -> list[str]:
    """Differences between the schema table and the rpc.py dataclasses (empty when in step)."""
    problems: list[str] = []
    seen: set[int] = set()

    def visit(struct: _Struct) -> None:
        if id(struct) in seen:
            return
        seen.add(id(struct))
        wanted = [f.name for f in fields(struct.cls)]
        have = [attr for _, attr, _ in struct.fields]
        if wanted != have:
            problems.append(f"{struct.name}: dataclass {wanted} vs schema {have}")
        for _, _, kind in struct.fields:
            if isinstance(kind, _Struct):
                visit(kind)
            elif isinstance(kind, _Array) and isinstance(kind.item, _Struct):
                visit(kind.item)

    for message in MESSAGES:
        visit(message)
    return problems


# --- encoding --------------------------------------------------------------------------------


def encode(envelope: Envelope) -> bytes:
    """Serialise `envelope` as a SOAP 1.1 envelope in the cwmp namespace of its version."""
    try:
        cwmp_ns = CWMP_NS[envelope.version]
    except KeyError:
        raise ValueError(f"unknown CWMP version {envelope.version!r}") from None
    out: list[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soap-env:Envelope xmlns:soap-env="{SOAP_ENV_NS}" xmlns:soap-enc="{SOAP_ENC_NS}"'
        f' xmlns:xsd="{XSD_NS}" xmlns:xsi="{XSI_NS}" xmlns:cwmp="{cwmp_ns}">'
    ]
    _encode_header(envelope, out)
    out.append("<soap-env:Body>")
    body = envelope.body
    if isinstance(body, Fault):
        _encode_fault(body, out)
    else:
        spec = _BY_TYPE.get(type(body))
        if spec is None:
            raise TypeError(f"not a CWMP message: {type(body).__name__}")
        out.append(f"<cwmp:{spec.name}>")
        _encode_fields(spec, body, out)
        out.append(f"</cwmp:{spec.name}>")
    out.append("</soap-env:Body></soap-env:Envelope>")
    return "".join(out).encode("utf-8")


def _header(name: str, text: str, must_understand: str, out: list[str]) -> None:
    out.append(
        f'<cwmp:{name} soap-env:mustUnderstand="{must_understand}">'
        f"{escape_text(text)}</cwmp:{name}>"
    )


def _encode_header(envelope: Envelope, out: list[str]) -> None:
    start = len(out)
    if envelope.cwmp_id is not None:
        _header("ID", envelope.cwmp_id, "1", out)
    if envelope.hold_requests is not None:
        _header("HoldRequests", format_boolean(envelope.hold_requests), "1", out)
    if envelope.no_more_requests is not None:
        _header("NoMoreRequests", format_boolean(envelope.no_more_requests), "1", out)
    if envelope.session_timeout is not None:
        _header("SessionTimeout", str(envelope.session_timeout), "0", out)
    if envelope.supported_cwmp_versions is not None:
        _header("SupportedCWMPVersions", envelope.supported_cwmp_versions, "0", out)
    if envelope.use_cwmp_version is not None:
        _header("UseCWMPVersion", envelope.use_cwmp_version, "1", out)
    if len(out) > start:
        out.insert(start, "<soap-env:Header>")
        out.append("</soap-env:Header>")


def _encode_fields(spec: _Struct, obj: Any, out: list[str]) -> None:
    for xml, attr, kind in spec.fields:
        value = getattr(obj, attr)
        if isinstance(kind, str):
            out.append(f"<{xml}>{_SCALAR_ENCODERS[kind](value)}</{xml}>")
        elif isinstance(kind, _PvsArray):
            _encode_pvs(xml, value, out)
        elif isinstance(kind, _Array):
            out.append(f'<{xml} soap-enc:arrayType="{kind.array_type}[{len(value)}]">')
            member, item = kind.member, kind.item
            if isinstance(item, str):
                encode_scalar = _SCALAR_ENCODERS[item]
                out.extend(f"<{member}>{encode_scalar(v)}</{member}>" for v in value)
            elif isinstance(item, _Struct):
                for v in value:
                    out.append(f"<{member}>")
                    _encode_fields(item, v, out)
                    out.append(f"</{member}>")
            else:
                raise TypeError(f"arrays of {item!r} are not part of the CWMP schema")
            out.append(f"</{xml}>")
        else:
            out.append(f"<{xml}>")
            _encode_fields(kind, value, out)
            out.append(f"</{xml}>")


def _encode_pvs(xml: str, params: tuple[ParameterValueStruct, ...], out: list[str]) -> None:
    out.append(f'<{xml} soap-enc:arrayType="cwmp:ParameterValueStruct[{len(params)}]">')
    out.extend(
        f"<ParameterValueStruct><Name>{escape_text(p.name)}</Name>"
        f'<Value xsi:type="{escape_attr(p.type)}">{escape_text(p.value)}</Value>'
        "</ParameterValueStruct>"
        for p in params
    )
    out.append(f"</{xml}>")


def _encode_int(value: int) -> str:
    return str(int(value))


_SCALAR_ENCODERS: dict[str, Callable[[Any], str]] = {
    STRING: escape_text,
    INT: _encode_int,
    UNSIGNED_INT: _encode_int,
    BOOLEAN: format_boolean,
    DATETIME: format_datetime,
}


def _encode_fault(body: Fault, out: list[str]) -> None:
    """§3.5: faultcode Client/Server, faultstring "CWMP fault", detail = cwmp:Fault."""
    out.append(
        f"<soap-env:Fault><faultcode>{fault_info(body.fault_code).soap_faultcode}</faultcode>"
        "<faultstring>CWMP fault</faultstring><detail><cwmp:Fault>"
        f"<FaultCode>{int(body.fault_code)}</FaultCode>"
        f"<FaultString>{escape_text(body.fault_string)}</FaultString>"
    )
    out.extend(
        f"<SetParameterValuesFault><ParameterName>{escape_text(f.parameter_name)}</ParameterName>"
        f"<FaultCode>{int(f.fault_code)}</FaultCode>"
        f"<FaultString>{escape_text(f.fault_string)}</FaultString></SetParameterValuesFault>"
        for f in body.set_parameter_values_fault
    )
    out.append("</cwmp:Fault></detail></soap-env:Fault>")


# --- decoding --------------------------------------------------------------------------------


def decode(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, acs: bool = False) -> Envelope:
    """Parse one SOAP envelope into an `Envelope`, or raise `SoapError`.

    `acs=True` when the caller is the ACS (the lab ACS): errors then carry the ACS fault codes
    (8000/8003/8004) instead of the CPE ones (9000/9003/9004).
    """
    base = 8000 if acs else 9000
    if len(data) > max_bytes:
        # §A.2.1: a request too large for the recipient gets "Resources exceeded".
        raise SoapError(
            base + 4, f"envelope of {len(data)} bytes exceeds the limit of {max_bytes} bytes"
        )
    try:
        # Some HTTP stacks put a line break before the XML declaration; it is not XML's.
        root = parse_xml(data.lstrip(), max_bytes=max_bytes)
    except XmlError as exc:
        raise SoapError(base + 3, f"malformed envelope: {exc}") from None
    if root.tag != _ENVELOPE:
        raise SoapError(
            base + 3,
            f"root element is {root.tag!r}, not the SOAP 1.1 Envelope ({{{SOAP_ENV_NS}}}Envelope)",
        )
    header = body = None
    for child in root:
        tag = child.tag
        if tag == _BODY:
            if body is not None:
                header_info = _read_header(header) if header is not None else None
                raise _error(base + 3, "the Envelope has more than one Body", header_info)
            body = child
        elif tag == _HEADER and header is None and body is None:
            header = child
    info = _read_header(header) if header is not None else _HeaderInfo()
    if info.error is not None:
        raise _error(base + 3, info.error, info)
    if body is None:
        raise _error(base + 3, "the Envelope has no Body", info)
    message_el: etree._Element | None = None
    for child in body:
        if not isinstance(child.tag, str):
            continue
        if message_el is not None:
            raise _error(
                base + 3,
                f"the Body holds more than one element ({_local(message_el.tag)}, "
                f"{_local(child.tag)})",
                info,
            )
        message_el = child
    if message_el is None:
        raise _error(base + 3, "the Body is empty", info)

    tag = message_el.tag
    ns, name = _split(tag)
    version = VERSION_BY_NS.get(ns)
    if version is not None:
        info.version = version
    elif ns == SOAP_ENV_NS and name == "Fault":
        pass  # a SOAP Fault; its cwmp:Fault detail may tell the version
    elif ns.startswith("urn:dslforum-org:cwmp"):
        raise _error(base + 3, f"unsupported CWMP namespace {ns!r} on {name}", info)
    else:
        raise _error(base + 3, f"Body element {name} is not in a CWMP namespace", info)

    try:
        if version is None:
            message: Message = _decode_fault(message_el, info, acs)
        else:
            spec = _BY_NAME.get(name)
            if spec is None:
                raise _error(base, name, info)
            message = _decode_struct(spec, message_el, name)
    except _ArgError as exc:
        raise _error(base + 3, str(exc), info) from None
    return Envelope(
        message,
        cwmp_id=info.cwmp_id,
        hold_requests=info.hold_requests,
        no_more_requests=info.no_more_requests,
        version=info.version or "1.2",
        supported_cwmp_versions=info.supported_cwmp_versions,
        use_cwmp_version=info.use_cwmp_version,
        session_timeout=info.session_timeout,
    )


@dataclass(slots=True)
class _HeaderInfo:
    cwmp_id: str | None = None
    hold_requests: bool | None = None
    no_more_requests: bool | None = None
    supported_cwmp_versions: str | None = None
    use_cwmp_version: str | None = None
    session_timeout: int | None = None
    version: str | None = None
    error: str | None = None


def _error(code: int, message: str, info: _HeaderInfo | None) -> SoapError:
    if info is None:
        return SoapError(code, message)
    return SoapError(code, message, cwmp_id=info.cwmp_id, version=info.version)


def _read_header(header: etree._Element) -> _HeaderInfo:
    """TR-069 §3.5 Table 4 headers plus SessionTimeout (1.3) and the 1.4 version headers.
    Unknown header elements are ignored (§3.5 allows ignoring unknown elements)."""
    info = _HeaderInfo()
    for child in header:
        if not isinstance(child.tag, str):
            continue
        ns, name = _split(child.tag)
        version = VERSION_BY_NS.get(ns)
        if version is None:
            continue
        info.version = info.version or version
        text = child.text or ""
        try:
            if name == "ID":
                info.cwmp_id = text
            elif name == "HoldRequests":
                info.hold_requests = parse_boolean(text)
            elif name == "NoMoreRequests":
                info.no_more_requests = parse_boolean(text)
            elif name == "SupportedCWMPVersions":
                info.supported_cwmp_versions = text.strip()
            elif name == "UseCWMPVersion":
                info.use_cwmp_version = text.strip()
            elif name in ("SessionTimeout", "sessionTimeout"):
                info.session_timeout = parse_unsigned_int(text)
        except ValueError:
            info.error = info.error or f"header {name} has an invalid value {_clip(text)}"
    return info


def _split(tag: str) -> tuple[str, str]:
    if tag[0] == "{":
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag if tag[0] != "{" else tag.rpartition("}")[2]


def _clip(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _children(el: etree._Element, where: str) -> dict[str, etree._Element]:
    """Child elements by local name; a repeated argument is an error (§A.2.2)."""
    found: dict[str, etree._Element] = {}
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        name = tag if tag[0] != "{" else tag.rpartition("}")[2]
        if name in found:
            raise _ArgError(f"{where} has {name} more than once")
        found[name] = child
    return found


def _decode_struct(spec: _Struct, el: etree._Element, where: str) -> Any:
    """Arguments by name; missing or extra arguments are errors (§A.2.2)."""
    children = _children(el, where)
    kwargs: dict[str, Any] = {}
    for xml, attr, kind in spec.fields:
        child = children.pop(xml, None)
        if child is None:
            raise _ArgError(f"{where} lacks the {xml} argument")
        kwargs[attr] = _decode_value(kind, child, f"{where}/{xml}")
    if children:
        raise _ArgError(f"{where} has an unexpected argument {next(iter(children))}")
    return spec.cls(**kwargs)


def _decode_value(kind: _Kind, el: etree._Element, where: str) -> Any:
    if isinstance(kind, str):
        return _decode_scalar(kind, el, where)
    if isinstance(kind, _PvsArray):
        return _decode_pvs(el, where)
    if isinstance(kind, _Array):
        items = []
        member, item = kind.member, kind.item
        for index, child in enumerate(el, 1):
            if not isinstance(child.tag, str):
                continue
            if _local(child.tag) != member:
                raise _ArgError(f"{where} holds {_local(child.tag)}, expected {member}")
            items.append(_decode_value(item, child, f"{where}/{member}[{index}]"))
        return tuple(items)
    return _decode_struct(kind, el, where)


_SCALAR_PARSERS: dict[str, Callable[[str], Any]] = {
    INT: parse_int,
    UNSIGNED_INT: parse_unsigned_int,
    BOOLEAN: parse_boolean,
    DATETIME: parse_datetime,
}


def _decode_scalar(kind: str, el: etree._Element, where: str) -> Any:
    if len(el):
        raise _ArgError(f"{where} must be a simple xsd:{kind}, not a structure")
    text = el.text or ""
    if kind == STRING:
        return text
    try:
        return _SCALAR_PARSERS[kind](text)
    except ValueError:
        raise _ArgError(f"{where} must be an xsd:{kind}, got {_clip(text)}") from None


def _decode_pvs(el: etree._Element, where: str) -> tuple[ParameterValueStruct, ...]:
    """ParameterValueStruct[]: the codec's hot loop, see `_decode_pvs_fast`."""
    params = _decode_pvs_fast(el)
    return params if params is not None else _decode_pvs_general(el, where)


def _decode_pvs_fast(el: etree._Element) -> tuple[ParameterValueStruct, ...] | None:
    """The common shape in one flat pass over the descendants (lxml makes one proxy per
    element and no child iterators): ParameterValueStruct, Name, Value, repeated, Name and
    Value without children, as many structs as direct children. Any other document returns
    None and takes the general path, which explains what is wrong."""
    params: list[ParameterValueStruct] = []
    append = params.append
    xsd_prefix_ok = el.nsmap.get("xsd") == XSD_NS
    descendants = el.iter()
    next(descendants)  # el itself
    try:
        for item in descendants:
            name_el = next(descendants)
            value_el = next(descendants)
            if (
                item.tag != "ParameterValueStruct"
                or name_el.tag != "Name"
                or value_el.tag != "Value"
                or len(name_el)
                or len(value_el)
            ):
                return None
            xsi_type = value_el.get(_XSI_TYPE)
            if xsi_type is None:
                xsi_type = "xsd:string"  # §3.5 requires it; GenieACS also defaults to string
            elif not (xsd_prefix_ok and xsi_type.startswith("xsd:")):
                xsi_type = _canonical_type(xsi_type, value_el)
            append(ParameterValueStruct(name_el.text or "", value_el.text or "", xsi_type))
    except StopIteration:
        return None
    # A childless Name followed by a Value in document order is its sibling unless the Value
    # sits one level up; the count of direct children catches that and any nesting.
    return tuple(params) if len(params) == len(el) else None


def _decode_pvs_general(el: etree._Element, where: str) -> tuple[ParameterValueStruct, ...]:
    params: list[ParameterValueStruct] = []
    xsd_prefix_ok = el.nsmap.get("xsd") == XSD_NS
    for index, item in enumerate(el, 1):
        if not isinstance(item.tag, str):
            continue
        if _local(item.tag) != "ParameterValueStruct":
            raise _ArgError(f"{where} holds {_local(item.tag)}, expected ParameterValueStruct")
        name_el, value_el = _pvs_parts(item, f"{where}/ParameterValueStruct[{index}]")
        if len(value_el) or len(name_el):
            raise _ArgError(f"{where}/ParameterValueStruct[{index}] is not a simple value")
        xsi_type = value_el.get(_XSI_TYPE)
        if xsi_type is None:
            xsi_type = "xsd:string"
        elif not (xsd_prefix_ok and xsi_type.startswith("xsd:")):
            xsi_type = _canonical_type(xsi_type, value_el)
        params.append(ParameterValueStruct(name_el.text or "", value_el.text or "", xsi_type))
    return tuple(params)


def _pvs_parts(item: etree._Element, where: str) -> tuple[etree._Element, etree._Element]:
    parts = _children(item, where)
    name_el, value_el = parts.pop("Name", None), parts.pop("Value", None)
    if name_el is None or value_el is None:
        raise _ArgError(f"{where} lacks {'Name' if name_el is None else 'Value'}")
    if parts:
        raise _ArgError(f"{where} has an unexpected {next(iter(parts))}")
    return name_el, value_el


def _canonical_type(qname: str, el: etree._Element) -> str:
    """Rewrite an xsi:type QName with our prefixes (xs:int → xsd:int) so types compare by
    meaning, whatever prefixes the peer chose."""
    prefix, sep, local = qname.rpartition(":")
    ns = el.nsmap.get(prefix or None)
    if ns == XSD_NS:
        return f"xsd:{local}"
    if ns == SOAP_ENC_NS:
        return f"soap-enc:{local}"
    return qname if sep else f"xsd:{local}"


def _decode_fault(el: etree._Element, info: _HeaderInfo, acs: bool) -> Fault:
    """SOAP Fault with a cwmp:Fault detail (§3.5). A fault without that detail (a plain SOAP
    fault) becomes the peer's "Internal error" carrying its faultstring."""
    parts = _children(el, "Fault")
    detail = parts.get("detail")
    cwmp_fault = None
    if detail is not None:
        for child in detail:
            if isinstance(child.tag, str) and _local(child.tag) == "Fault":
                cwmp_fault = child
                break
    if cwmp_fault is None:
        faultstring = parts.get("faultstring")
        text = (faultstring.text or "") if faultstring is not None else ""
        # The fault came from our peer: the ACS if we are the CPE, and vice versa.
        return Fault(9002 if acs else 8002, text.strip() or "SOAP fault without CWMP detail")
    ns, _ = _split(cwmp_fault.tag)
    version = VERSION_BY_NS.get(ns)
    if version is not None:
        info.version = version
    code: int | None = None
    text = ""
    spv: list[rpc.SetParameterValuesFault] = []
    for child in cwmp_fault:
        if not isinstance(child.tag, str):
            continue
        name = _local(child.tag)
        if name == "FaultCode":
            code = _decode_scalar(UNSIGNED_INT, child, "Fault/FaultCode")
        elif name == "FaultString":
            text = child.text or ""
        elif name == "SetParameterValuesFault":
            entry = _children(child, "Fault/SetParameterValuesFault")
            pname, pcode = entry.get("ParameterName"), entry.get("FaultCode")
            if pname is None or pcode is None:
                raise _ArgError("Fault/SetParameterValuesFault lacks ParameterName or FaultCode")
            pstring = entry.get("FaultString")
            spv.append(
                rpc.SetParameterValuesFault(
                    (pname.text or "").strip(),
                    _decode_scalar(UNSIGNED_INT, pcode, "SetParameterValuesFault/FaultCode"),
                    (pstring.text or "") if pstring is not None else "",
                )
            )
    if code is None:
        raise _ArgError("Fault lacks FaultCode")
    return Fault(code, text, tuple(spv))
