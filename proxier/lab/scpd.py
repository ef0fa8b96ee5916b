"""Service definitions of the lab ManageableDevice:2: BMS:2, CMS:2, SMS:2 (one table each).

Names, argument order, types and allowed values follow the UPnP DM templates summarised in
reference upnp-dm.md §2.1–2.2, §3.1–3.2 and §4.1–4.2. The tables drive three things, so
they cannot disagree: the SCPD documents, the SOAP argument checks (UDA §3.2: 402 missing
argument, 600 bad value, 601 out of range) and the order of output arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from proxier.cwmp.xsdtypes import parse_integer
from proxier.upnp.device import UpnpError

DEVICE_TYPE = "urn:schemas-upnp-org:device:ManageableDevice:2"
DEVICE_NS = "urn:schemas-upnp-org:device-1-0"
SERVICE_NS = "urn:schemas-upnp-org:service-1-0"


@dataclass(frozen=True, slots=True)
class StateVar:
    name: str
    type: str = "string"
    evented: bool = False
    allowed: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    default: str | None = None


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    ins: tuple[tuple[str, str], ...] = ()  # (argument, relatedStateVariable)
    outs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceDef:
    short: str  # "BMS" / "CMS" / "SMS": the DmEvent.service name and the URL segment
    service_type: str
    service_id: str
    variables: tuple[StateVar, ...]
    actions: tuple[Action, ...]

    def variable(self, name: str) -> StateVar:
        for var in self.variables:
            if var.name == name:
                return var
        raise KeyError(name)

    def action(self, name: str) -> Action | None:
        for action in self.actions:
            if action.name == name:
                return action
        return None

    @property
    def evented(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables if v.evented)


def _s(name: str, **kw: object) -> StateVar:
    return StateVar(name, **kw)  # type: ignore[arg-type]


def _get(name: str, out: str, var: str) -> Action:
    return Action(name, (), ((out, var),))


# --- CMS:2 (reference §2.1, §2.2) ---------------------------------------------------------------

_CMS_DOCS = (
    "StructurePath",
    "StructurePathList",
    "PartialPath",
    "InstancePath",
    "InstancePathList",
    "MultiInstancePath",
    "ContentPathList",
    "ParameterValueList",
    "ParameterInitialValueList",
    "NodeAttributePathList",
    "NodeAttributeValueList",
    "Filter",
    "SupportedDataModels",
)

CMS = ServiceDef(
    "CMS",
    "urn:schemas-upnp-org:service:ConfigurationManagement:2",
    "urn:upnp-org:serviceId:ConfigurationManagement",
    (
        _s("ConfigurationUpdate", evented=True),
        _s("CurrentConfigurationVersion", type="ui4"),
        _s("SupportedDataModelsUpdate", evented=True),
        _s("SupportedParametersUpdate", evented=True),
        _s("AttributeValuesUpdate", evented=True),
        _s("InconsistentStatus", type="boolean", evented=True),
        _s("AlarmsEnabled", type="boolean", evented=True),
        *(_s(f"A_ARG_TYPE_{doc}") for doc in _CMS_DOCS),
        _s("A_ARG_TYPE_ChangeStatus", allowed=("ChangesApplied", "ChangesCommitted")),
        _s("A_ARG_TYPE_SearchDepth", type="ui4"),
    ),
    (
        _get("GetSupportedDataModels", "SupportedDataModels", "A_ARG_TYPE_SupportedDataModels"),
        Action(
            "GetSupportedParameters",
            (
                ("StartingNode", "A_ARG_TYPE_StructurePath"),
                ("SearchDepth", "A_ARG_TYPE_SearchDepth"),
            ),
            (("Result", "A_ARG_TYPE_StructurePathList"),),
        ),
        Action(
            "GetInstances",
            (("StartingNode", "A_ARG_TYPE_PartialPath"), ("SearchDepth", "A_ARG_TYPE_SearchDepth")),
            (("Result", "A_ARG_TYPE_InstancePathList"),),
        ),
        Action(
            "GetValues",
            (("Parameters", "A_ARG_TYPE_ContentPathList"),),
            (("ParameterValueList", "A_ARG_TYPE_ParameterValueList"),),
        ),
        Action(
            "GetSelectedValues",
            (("StartingNode", "A_ARG_TYPE_StructurePath"), ("Filter", "A_ARG_TYPE_Filter")),
            (("ParameterValueList", "A_ARG_TYPE_ParameterValueList"),),
        ),
        Action(
            "SetValues",
            (("ParameterValueList", "A_ARG_TYPE_ParameterValueList"),),
            (("Status", "A_ARG_TYPE_ChangeStatus"),),
        ),
        Action(
            "CreateInstance",
            (
                ("MultiInstanceName", "A_ARG_TYPE_MultiInstancePath"),
                ("ChildrenInitialization", "A_ARG_TYPE_ParameterInitialValueList"),
            ),
            (
                ("InstanceIdentifier", "A_ARG_TYPE_InstancePath"),
                ("Status", "A_ARG_TYPE_ChangeStatus"),
            ),
        ),
        Action(
            "DeleteInstance",
            (("InstanceIdentifier", "A_ARG_TYPE_InstancePath"),),
            (("Status", "A_ARG_TYPE_ChangeStatus"),),
        ),
        Action(
            "GetAttributes",
            (("Parameters", "A_ARG_TYPE_NodeAttributePathList"),),
            (("NodeAttributeValueList", "A_ARG_TYPE_NodeAttributeValueList"),),
        ),
        Action(
            "SetAttributes",
            (("NodeAttributeValueList", "A_ARG_TYPE_NodeAttributeValueList"),),
            (("Status", "A_ARG_TYPE_ChangeStatus"),),
        ),
        _get("GetInconsistentStatus", "StateVariableValue", "InconsistentStatus"),
        _get("GetConfigurationUpdate", "StateVariableValue", "ConfigurationUpdate"),
        _get("GetCurrentConfigurationVersion", "StateVariableValue", "CurrentConfigurationVersion"),
        _get("GetSupportedDataModelsUpdate", "StateVariableValue", "SupportedDataModelsUpdate"),
        _get("GetSupportedParametersUpdate", "StateVariableValue", "SupportedParametersUpdate"),
        _get("GetAttributeValuesUpdate", "StateVariableValue", "AttributeValuesUpdate"),
        _get("GetAlarmsEnabled", "StateVariableValue", "AlarmsEnabled"),
        Action("SetAlarmsEnabled", (("StateVariableValue", "AlarmsEnabled"),)),
    ),
)

# --- BMS:2 (reference §3.1, §3.2) ---------------------------------------------------------------

TEST_STATES = ("Requested", "InProgress", "Canceled", "Completed")
TEST_TYPES = ("BandwidthTest", "InterfaceReset", "NSLookup", "Ping", "SelfTest", "Traceroute")
LOG_LEVELS = (
    "Emergency",
    "Alert",
    "Critical",
    "Error",
    "Warning",
    "Notice",
    "Informational",
    "Debug",
)
_T = "A_ARG_TYPE_TestID"

BMS = ServiceDef(
    "BMS",
    "urn:schemas-upnp-org:service:BasicManagement:2",
    "urn:upnp-org:serviceId:BasicManagement",
    (
        _s("DeviceStatus", evented=True),
        _s("SequenceMode", type="boolean", evented=True, default="0"),
        _s("TestIDs", evented=True, default=""),
        _s("ActiveTestIDs", evented=True, default=""),
        _s("LogURIs", evented=True),
        _s(_T, type="ui4"),
        _s("A_ARG_TYPE_TestState", allowed=TEST_STATES),
        _s("A_ARG_TYPE_TestType", allowed=TEST_TYPES),
        _s("A_ARG_TYPE_RebootStatus", allowed=("RebootNow", "RebootLater")),
        _s("A_ARG_TYPE_DSCP", type="ui1", minimum=0, maximum=63),
        _s("A_ARG_TYPE_MSecs", type="ui4"),
        _s("A_ARG_TYPE_UInt", type="ui4"),
        _s("A_ARG_TYPE_UShort", type="ui2"),
        _s("A_ARG_TYPE_DateTime", type="dateTime.tz"),
        _s("A_ARG_TYPE_LogURI", type="uri"),
        _s("A_ARG_TYPE_LogURL", type="uri"),
        _s("A_ARG_TYPE_LogLevel", allowed=LOG_LEVELS),
        _s(
            "A_ARG_TYPE_Interfaces",
            allowed=("AllInterfaces", "RequestInterface", "NorthboundInterfaces"),
        ),
        _s("A_ARG_TYPE_Host"),
        _s("A_ARG_TYPE_Hosts"),
        _s("A_ARG_TYPE_HostName"),
        _s("A_ARG_TYPE_NSLookupResult"),
        _s("A_ARG_TYPE_String"),
        _s("A_ARG_TYPE_Boolean", type="boolean"),
        _s(
            "A_ARG_TYPE_PingStatus",
            allowed=("Success", "Error_CannotResolveHostName", "Error_Internal", "Error_Other"),
        ),
        _s(
            "A_ARG_TYPE_NSLookupStatus",
            allowed=("Success", "Error_DNSServerNotResolved", "Error_Internal", "Error_Other"),
        ),
        _s(
            "A_ARG_TYPE_TracerouteStatus",
            allowed=(
                "Success",
                "Error_CannotResolveHostName",
                "Error_MaxHopCountExceeded",
                "Error_Internal",
                "Error_Other",
            ),
        ),
        _s("A_ARG_TYPE_InterfaceResetStatus", allowed=("Success", "Error")),
    ),
    (
        _get("Reboot", "RebootStatus", "A_ARG_TYPE_RebootStatus"),
        Action("BaselineReset"),
        _get("GetDeviceStatus", "DeviceStatus", "DeviceStatus"),
        Action(
            "SetSequenceMode",
            (("NewSequenceMode", "SequenceMode"),),
            (("OldSequenceMode", "SequenceMode"),),
        ),
        _get("GetSequenceMode", "SequenceMode", "SequenceMode"),
        Action(
            "Ping",
            (
                ("Host", "A_ARG_TYPE_Host"),
                ("NumberOfRepetitions", "A_ARG_TYPE_UInt"),
                ("Timeout", "A_ARG_TYPE_MSecs"),
                ("DataBlockSize", "A_ARG_TYPE_UShort"),
                ("DSCP", "A_ARG_TYPE_DSCP"),
            ),
            (("TestID", _T),),
        ),
        Action(
            "GetPingResult",
            (("TestID", _T),),
            (
                ("Status", "A_ARG_TYPE_PingStatus"),
                ("AdditionalInfo", "A_ARG_TYPE_String"),
                ("SuccessCount", "A_ARG_TYPE_UInt"),
                ("FailureCount", "A_ARG_TYPE_UInt"),
                ("AverageResponseTime", "A_ARG_TYPE_MSecs"),
                ("MinimumResponseTime", "A_ARG_TYPE_MSecs"),
                ("MaximumResponseTime", "A_ARG_TYPE_MSecs"),
            ),
        ),
        Action(
            "NSLookup",
            (
                ("HostName", "A_ARG_TYPE_HostName"),
                ("DNSServer", "A_ARG_TYPE_Host"),
                ("NumberOfRepetitions", "A_ARG_TYPE_UInt"),
                ("Timeout", "A_ARG_TYPE_MSecs"),
            ),
            (("TestID", _T),),
        ),
        Action(
            "GetNSLookupResult",
            (("TestID", _T),),
            (
                ("Status", "A_ARG_TYPE_NSLookupStatus"),
                ("AdditionalInfo", "A_ARG_TYPE_String"),
                ("SuccessCount", "A_ARG_TYPE_UInt"),
                ("Result", "A_ARG_TYPE_NSLookupResult"),
            ),
        ),
        Action(
            "Traceroute",
            (
                ("Host", "A_ARG_TYPE_Host"),
                ("Timeout", "A_ARG_TYPE_MSecs"),
                ("DataBlockSize", "A_ARG_TYPE_UShort"),
                ("MaxHopCount", "A_ARG_TYPE_UInt"),
                ("DSCP", "A_ARG_TYPE_DSCP"),
            ),
            (("TestID", _T),),
        ),
        Action(
            "GetTracerouteResult",
            (("TestID", _T),),
            (
                ("Status", "A_ARG_TYPE_TracerouteStatus"),
                ("AdditionalInfo", "A_ARG_TYPE_String"),
                ("ResponseTime", "A_ARG_TYPE_MSecs"),
                ("HopHosts", "A_ARG_TYPE_Hosts"),
            ),
        ),
        _get("SelfTest", "TestID", _T),
        Action(
            "GetSelfTestResult",
            (("TestID", _T),),
            (("Status", "A_ARG_TYPE_Boolean"), ("AdditionalInfo", "A_ARG_TYPE_String")),
        ),
        Action("InterfaceReset", (("Interfaces", "A_ARG_TYPE_Interfaces"),), (("TestID", _T),)),
        Action(
            "GetInterfaceResetResult",
            (("TestID", _T),),
            (
                ("Status", "A_ARG_TYPE_InterfaceResetStatus"),
                ("AdditionalInfo", "A_ARG_TYPE_String"),
                ("NumberOfSuccesses", "A_ARG_TYPE_UShort"),
                ("NumberOfFailures", "A_ARG_TYPE_UShort"),
            ),
        ),
        _get("GetTestIDs", "TestIDs", "TestIDs"),
        _get("GetActiveTestIDs", "TestIDs", "ActiveTestIDs"),
        Action(
            "GetTestInfo",
            (("TestID", _T),),
            (("Type", "A_ARG_TYPE_TestType"), ("State", "A_ARG_TYPE_TestState")),
        ),
        Action("CancelTest", (("TestID", _T),)),
        _get("GetLogURIs", "LogURIs", "LogURIs"),
        Action(
            "SetLogInfo",
            (
                ("LogURI", "A_ARG_TYPE_LogURI"),
                ("Enabled", "A_ARG_TYPE_Boolean"),
                ("LogLevel", "A_ARG_TYPE_LogLevel"),
            ),
        ),
        Action(
            "GetLogInfo",
            (("LogURI", "A_ARG_TYPE_LogURI"),),
            (
                ("Configurable", "A_ARG_TYPE_Boolean"),
                ("Enabled", "A_ARG_TYPE_Boolean"),
                ("LogLevel", "A_ARG_TYPE_LogLevel"),
                ("LogURL", "A_ARG_TYPE_LogURL"),
                ("MaxSize", "A_ARG_TYPE_UInt"),
                ("LastChange", "A_ARG_TYPE_DateTime"),
            ),
        ),
    ),
)

# --- SMS:2 (reference §4.1, §4.2) ---------------------------------------------------------------

_ID = "A_ARG_TYPE_ID"
_DEP = ("HandleDependencies", "A_ARG_TYPE_Boolean")
_OP = (("OperationID", _ID),)
ID_LISTS = ("OperationIDs", "DUIDs", "EUIDs", "ActiveEUIDs", "RunningEUIDs", "ErrorEUIDs")

SMS = ServiceDef(
    "SMS",
    "urn:schemas-upnp-org:service:SoftwareManagement:2",
    "urn:upnp-org:serviceId:SoftwareManagement",
    (
        *(_s(name, evented=True, default="") for name in ID_LISTS),
        _s(_ID, type="ui4"),
        _s("A_ARG_TYPE_IDs"),
        _s("A_ARG_TYPE_DUType", allowed=("Firmware", "Application", "Configuration", "Other")),
        _s(
            "A_ARG_TYPE_DUState",
            allowed=("Installing", "Unresolved", "Installed", "Uninstalling", "Uninstalled"),
        ),
        _s("A_ARG_TYPE_EURequestedState", allowed=("Active", "Inactive")),
        _s("A_ARG_TYPE_EURunningState", allowed=("Running", "Stopped", "Starting", "Stopping")),
        _s("A_ARG_TYPE_OperationState", allowed=("Requested", "InProgress", "Completed", "Error")),
        _s("A_ARG_TYPE_Action", allowed=("Install", "Update", "Uninstall", "Start", "Stop")),
        _s(
            "A_ARG_TYPE_ErrorDescription",
            allowed=(
                "Error_None",
                "Error_ConcurrentAccess",
                "Error_MissingDependency",
                "Error_Network",
                "Error_CorruptedFile",
                "Error_DiskFull",
                "Error_Other",
            ),
        ),
        _s("A_ARG_TYPE_URI", type="uri"),
        _s("A_ARG_TYPE_Boolean", type="boolean"),
        _s("A_ARG_TYPE_String"),
    ),
    (
        Action(
            "Install",
            (("DUURI", "A_ARG_TYPE_URI"), ("DUType", "A_ARG_TYPE_DUType"), _DEP),
            _OP,
        ),
        Action("Update", (("DUID", _ID), ("NewDUURI", "A_ARG_TYPE_URI"), _DEP), _OP),
        Action("Uninstall", (("DUID", _ID), _DEP), _OP),
        Action("Start", (("EUID", _ID), _DEP), _OP),
        Action("Stop", (("EUID", _ID), _DEP), _OP),
        *(_get(f"Get{name}", name, name) for name in ID_LISTS),
        Action(
            "GetOperationInfo",
            (("OperationID", _ID),),
            (
                ("OperationState", "A_ARG_TYPE_OperationState"),
                ("TargetedIDs", "A_ARG_TYPE_IDs"),
                ("Action", "A_ARG_TYPE_Action"),
                ("ErrorDescription", "A_ARG_TYPE_ErrorDescription"),
                ("AdditionalInfo", "A_ARG_TYPE_String"),
            ),
        ),
        Action(
            "GetDUInfo",
            (("DUID", _ID),),
            (
                ("DUName", "A_ARG_TYPE_String"),
                ("DUVersion", "A_ARG_TYPE_String"),
                ("DUType", "A_ARG_TYPE_DUType"),
                ("DUState", "A_ARG_TYPE_DUState"),
                ("DUURI", "A_ARG_TYPE_URI"),
            ),
        ),
        Action(
            "GetEUInfo",
            (("EUID", _ID),),
            (
                ("EUName", "A_ARG_TYPE_String"),
                ("EUVersion", "A_ARG_TYPE_String"),
                ("EURequestedState", "A_ARG_TYPE_EURequestedState"),
                ("EURunningState", "A_ARG_TYPE_EURunningState"),
            ),
        ),
    ),
)

SERVICES = (BMS, CMS, SMS)


def services_named(names: Iterable[str]) -> tuple[ServiceDef, ...]:
    """The lab services named ('bms', 'CMS', …), in SERVICES order: a device may offer any
    non-empty subset (TR-330 §3.1: "at least one of BMS, CMS or SMS"). ValueError names
    what is wrong."""
    wanted = {n.strip().upper() for n in names if n.strip()}
    unknown = wanted - {s.short for s in SERVICES}
    if unknown:
        raise ValueError(f"unknown service(s) {', '.join(sorted(unknown))}: use bms, cms, sms")
    if not wanted:
        raise ValueError("at least one of bms, cms, sms")
    return tuple(s for s in SERVICES if s.short in wanted)


# --- argument checks (UDA §3.2.2 error codes) ------------------------------------------------

_UINT_MAX = {"ui1": 2**8 - 1, "ui2": 2**16 - 1, "ui4": 2**32 - 1}
_INT_RANGE = {"i1": 2**7, "i2": 2**15, "i4": 2**31}


def check_argument(var: StateVar, name: str, text: str) -> str:
    """Normalise one input argument for its related state variable (600/601 when bad)."""
    if var.type in _UINT_MAX or var.type in _INT_RANGE:
        try:
            number = parse_integer(text)
        except ValueError:
            raise UpnpError(600, f"{name}: {text[:40]!r} is not {var.type}") from None
        lo, hi = (
            (0, _UINT_MAX[var.type])
            if var.type in _UINT_MAX
            else (
                -_INT_RANGE[var.type],
                _INT_RANGE[var.type] - 1,
            )
        )
        if not lo <= number <= hi:
            raise UpnpError(601, f"{name}: {number} out of {var.type} range")
        if (var.minimum is not None and number < var.minimum) or (
            var.maximum is not None and number > var.maximum
        ):
            raise UpnpError(601, f"{name}: {number} out of [{var.minimum}, {var.maximum}]")
        return str(number)
    if var.type == "boolean":
        low = text.strip().lower()
        if low in ("1", "true", "yes"):
            return "1"
        if low in ("0", "false", "no"):
            return "0"
        raise UpnpError(600, f"{name}: {text[:40]!r} is not a boolean")
    if var.allowed and text not in var.allowed:
        raise UpnpError(600, f"{name}: {text[:40]!r} is not one of {', '.join(var.allowed)}")
    return text


def check_arguments(service: ServiceDef, action: Action, args: dict[str, str]) -> dict[str, str]:
    """Every IN argument present (402 otherwise) and valid for its state variable."""
    out: dict[str, str] = {}
    for name, related in action.ins:
        if name not in args:
            raise UpnpError(402, f"{action.name}: missing argument {name}")
        out[name] = check_argument(service.variable(related), name, args[name])
    return out


# --- documents ------------------------------------------------------------------------------------


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, tag)
    element.text = text
    return element


def _serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def build_scpd(service: ServiceDef) -> bytes:
    """The service's SCPD (UDA §2.5): spec version, actions, serviceStateTable."""
    root = etree.Element("scpd", nsmap={None: SERVICE_NS})  # type: ignore[dict-item]
    spec = etree.SubElement(root, "specVersion")
    _text(spec, "major", "1")
    _text(spec, "minor", "1")
    actions = etree.SubElement(root, "actionList")
    for action in service.actions:
        a = etree.SubElement(actions, "action")
        _text(a, "name", action.name)
        if action.ins or action.outs:
            arglist = etree.SubElement(a, "argumentList")
            for direction, args in (("in", action.ins), ("out", action.outs)):
                for name, related in args:
                    arg = etree.SubElement(arglist, "argument")
                    _text(arg, "name", name)
                    _text(arg, "direction", direction)
                    _text(arg, "relatedStateVariable", related)
    table = etree.SubElement(root, "serviceStateTable")
    for var in service.variables:
        sv = etree.SubElement(table, "stateVariable", sendEvents="yes" if var.evented else "no")
        _text(sv, "name", var.name)
        _text(sv, "dataType", var.type)
        if var.default is not None:
            _text(sv, "defaultValue", var.default)
        if var.allowed:
            allowed = etree.SubElement(sv, "allowedValueList")
            for value in var.allowed:
                _text(allowed, "allowedValue", value)
        if var.minimum is not None or var.maximum is not None:
            rng = etree.SubElement(sv, "allowedValueRange")
            _text(rng, "minimum", str(var.minimum or 0))
            _text(rng, "maximum", str(var.maximum if var.maximum is not None else 0))
    return _serialize(root)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What the device description says about one lab device."""

    udn: str
    friendly_name: str
    serial_number: str
    model_name: str = "LabDM-2000"
    model_number: str = "2"
    manufacturer: str = "proxier lab"


def build_description(
    info: DeviceInfo,
    base_path: str,
    config_id: int,
    services: tuple[ServiceDef, ...] = SERVICES,
) -> bytes:
    """Root device description (UDA §2.3) with relative URLs under `base_path`, no URLBase,
    listing the `services` the device offers."""
    root = etree.Element(
        "root",
        nsmap={None: DEVICE_NS},  # type: ignore[dict-item]
        configId=str(config_id),
    )
    spec = etree.SubElement(root, "specVersion")
    _text(spec, "major", "1")
    _text(spec, "minor", "1")
    device = etree.SubElement(root, "device")
    _text(device, "deviceType", DEVICE_TYPE)
    _text(device, "friendlyName", info.friendly_name)
    _text(device, "manufacturer", info.manufacturer)
    offered = ", ".join(f"{s.short}:2" for s in services)
    _text(device, "modelDescription", f"proxier lab UPnP DM device ({offered})")
    _text(device, "modelName", info.model_name)
    _text(device, "modelNumber", info.model_number)
    _text(device, "serialNumber", info.serial_number)
    _text(device, "UDN", info.udn)
    service_list = etree.SubElement(device, "serviceList")
    for svc in services:
        s = etree.SubElement(service_list, "service")
        short = svc.short.lower()
        _text(s, "serviceType", svc.service_type)
        _text(s, "serviceId", svc.service_id)
        _text(s, "SCPDURL", f"{base_path}/{short}.xml")
        _text(s, "controlURL", f"{base_path}/{short}/control")
        _text(s, "eventSubURL", f"{base_path}/{short}/event")
    return _serialize(root)
