"""Typed async clients for ConfigurationManagement, BasicManagement and SoftwareManagement.

Each method is one UPnP action (upnp-dm.md §2.2, §3.2, §4.2) with Python types in and out;
CMS XML documents go through `proxier.upnp.cms_xml`, SOAP through `proxier.upnp.soap`, HTTP
through `proxier.upnp.http` (one shared aiohttp session: keep-alive, optional TLS context for
DeviceProtection, bounded size and time, no redirects, no retries).

Why not async-upnp-client's `UpnpFactory` + `UpnpAction.async_call` here: the factory fetches
descriptions without size/redirect bounds (we fetch them ourselves, `proxier.upnp.
description`); its requester reads response bodies unbounded and retries a request after a
dropped connection, which could repeat non-idempotent actions (Reboot, CreateInstance,
Install); and its strict mode validates arguments against the SCPD's allowed values, while
we want the device's own UPnP error code. The SOAP codec is small and golden-tested instead.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from typing import TypeVar

import aiohttp

from proxier import wiretap
from proxier.logsafe import get_logger
from proxier.upnp import cms_xml, soap
from proxier.upnp.description import DescribedDevice
from proxier.upnp.device import (
    BmsApi,
    CmsApi,
    DmEvent,
    DUInfo,
    LogInfo,
    NodeAttributes,
    NSLookupResult,
    OperationInfo,
    ParameterValue,
    PingResult,
    SmsApi,
    SupportedDataModel,
    TestInfo,
    TracerouteResult,
    UpnpError,
)
from proxier.upnp.http import HttpFetchError, PeerCheck, bounded_request
from proxier.upnp.nocms import DescriptionCms
from proxier.upnp.results import EUInfo, InterfaceResetResult, SelfTestResult

_LOG = get_logger(__name__)
_T = TypeVar("_T")

CMS_TYPE = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
BMS_TYPE = "urn:schemas-upnp-org:service:BasicManagement:2"
SMS_TYPE = "urn:schemas-upnp-org:service:SoftwareManagement:2"

DEFAULT_ACTION_TIMEOUT = 10.0
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024


class SoapTransport:
    """Invokes actions over one shared aiohttp session; every failure is a `UpnpError`."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        timeout: float = DEFAULT_ACTION_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        ssl_context: ssl.SSLContext | None = None,
        peer_check: PeerCheck | None = None,
    ) -> None:
        self.session = session
        self.peer_check = peer_check
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.ssl_context = ssl_context

    async def invoke(
        self,
        control_url: str,
        service_type: str,
        action: str,
        arguments: Sequence[tuple[str, str]] = (),
        out: Sequence[str] = (),
        *,
        time_limit: float | None = None,
    ) -> Mapping[str, str]:
        headers, body = soap.build_request(service_type, action, arguments)
        started = time.monotonic()
        try:
            result = await bounded_request(
                self.session,
                "POST",
                control_url,
                headers=headers,
                data=body,
                time_limit=time_limit if time_limit is not None else self.timeout,
                max_bytes=self.max_bytes,
                ssl_context=self.ssl_context,
                peer_check=self.peer_check,
            )
        except HttpFetchError as exc:
            wiretap.upnp_action(control_url, action, time.monotonic() - started, str(exc))
            raise UpnpError(soap.TRANSPORT_ERROR, f"{action}: {exc}") from None
        took = time.monotonic() - started
        try:
            answer = soap.parse_response(
                action, result.status, result.body, out, max_bytes=self.max_bytes
            )
        except UpnpError as exc:
            wiretap.upnp_action(control_url, action, took, str(exc))
            raise
        wiretap.upnp_action(control_url, action, took, f"HTTP {result.status}")
        return answer


# --- value conversions (device output is untrusted: bad values are protocol errors) --------


def _bad(action: str, name: str, text: str, what: str) -> UpnpError:
    return UpnpError(soap.TRANSPORT_ERROR, f"{action}: {name}={text[:60]!r} is not {what}")


def _ui4(action: str, name: str, text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise _bad(action, name, text, "an unsigned integer") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise _bad(action, name, text, "a ui4")
    return value


_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})


def _boolean(action: str, name: str, text: str) -> bool:
    folded = text.strip().lower()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise _bad(action, name, text, "a boolean")


def _ids(action: str, name: str, text: str) -> list[int]:
    """TestIDs/DUIDs/…: comma-separated ui4 list (format assumed, upnp-dm.md §3.1/§4.1)."""
    items = [item for item in text.replace(" ", ",").split(",") if item.strip()]
    return [_ui4(action, name, item) for item in items]


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _document(action: str, parse: Callable[[str], _T], text: str) -> _T:
    """Parse a CMS document from a device; its malformation is the device's fault (code 0)."""
    try:
        return parse(text)
    except cms_xml.CmsXmlError as exc:
        raise UpnpError(soap.TRANSPORT_ERROR, f"{action}: device sent {exc.description}") from None


class _ServiceClient:
    """Common plumbing: where to post, which actions the SCPD lists, the transport."""

    DEFAULT_TYPE = ""

    def __init__(
        self,
        transport: SoapTransport,
        control_url: str,
        service_type: str | None = None,
        *,
        actions: Collection[str] | None = None,
        timeout: float | None = None,
    ) -> None:
        self.transport = transport
        self.control_url = control_url
        self.service_type = service_type or self.DEFAULT_TYPE
        self.actions = frozenset(actions) if actions is not None else None
        self.timeout = timeout

    def supports(self, action: str) -> bool:
        """True when the SCPD lists `action` (or when no SCPD was given)."""
        return self.actions is None or action in self.actions

    async def _call(
        self,
        action: str,
        arguments: Sequence[tuple[str, str]] = (),
        out: Sequence[str] = (),
    ) -> Mapping[str, str]:
        if not self.supports(action):
            # UDA 401 Invalid Action, decided locally: the device's SCPD does not list it.
            raise UpnpError(401, f"{action} is not in the device's SCPD")
        return await self.transport.invoke(
            self.control_url, self.service_type, action, arguments, out, time_limit=self.timeout
        )

    async def _value(self, action: str) -> str:
        """The generic Get<StateVariable> actions all answer `StateVariableValue`."""
        return (await self._call(action, (), ("StateVariableValue",)))["StateVariableValue"]


# --- CMS ----------------------------------------------------------------------------------


class CmsClient(_ServiceClient):
    """ConfigurationManagement:1/2 (upnp-dm.md §2.2): all 19 actions."""

    DEFAULT_TYPE = CMS_TYPE

    async def get_supported_data_models(self) -> list[SupportedDataModel]:
        a = "GetSupportedDataModels"
        out = await self._call(a, (), ("SupportedDataModels",))
        return _document(a, cms_xml.parse_supported_data_models, out["SupportedDataModels"])

    async def get_supported_parameters(self, starting_node: str, search_depth: int) -> list[str]:
        a = "GetSupportedParameters"
        args = (("StartingNode", starting_node), ("SearchDepth", str(search_depth)))
        out = await self._call(a, args, ("Result",))
        return _document(a, cms_xml.parse_structure_path_list, out["Result"])

    async def get_instances(self, starting_node: str, search_depth: int) -> list[str]:
        a = "GetInstances"
        args = (("StartingNode", starting_node), ("SearchDepth", str(search_depth)))
        out = await self._call(a, args, ("Result",))
        return _document(a, cms_xml.parse_instance_path_list, out["Result"])

    async def get_values(self, paths: Sequence[str]) -> list[ParameterValue]:
        a = "GetValues"
        args = (("Parameters", cms_xml.build_content_path_list(paths)),)
        out = await self._call(a, args, ("ParameterValueList",))
        return _document(a, cms_xml.parse_parameter_value_list, out["ParameterValueList"])

    async def get_selected_values(self, starting_node: str, filter: str) -> list[ParameterValue]:
        a = "GetSelectedValues"
        args = (("StartingNode", starting_node), ("Filter", filter))
        out = await self._call(a, args, ("ParameterValueList",))
        return _document(a, cms_xml.parse_parameter_value_list, out["ParameterValueList"])

    async def set_values(self, values: Sequence[ParameterValue]) -> str:
        args = (("ParameterValueList", cms_xml.build_parameter_value_list(values)),)
        return (await self._call("SetValues", args, ("Status",)))["Status"]

    async def create_instance(
        self, multi_instance_name: str, children: Sequence[ParameterValue]
    ) -> tuple[str, str]:
        args = (
            ("MultiInstanceName", multi_instance_name),
            ("ChildrenInitialization", cms_xml.build_parameter_initial_value_list(children)),
        )
        out = await self._call("CreateInstance", args, ("InstanceIdentifier", "Status"))
        return out["InstanceIdentifier"].strip(), out["Status"]

    async def delete_instance(self, instance_identifier: str) -> str:
        args = (("InstanceIdentifier", instance_identifier),)
        return (await self._call("DeleteInstance", args, ("Status",)))["Status"]

    async def get_attributes(self, paths: Sequence[str]) -> list[NodeAttributes]:
        a = "GetAttributes"
        args = (("Parameters", cms_xml.build_node_attribute_path_list(paths)),)
        out = await self._call(a, args, ("NodeAttributeValueList",))
        return _document(a, cms_xml.parse_node_attribute_value_list, out["NodeAttributeValueList"])

    async def set_attributes(self, nodes: Sequence[NodeAttributes]) -> str:
        args = (("NodeAttributeValueList", cms_xml.build_node_attribute_value_list(nodes)),)
        return (await self._call("SetAttributes", args, ("Status",)))["Status"]

    async def get_inconsistent_status(self) -> bool:
        a = "GetInconsistentStatus"
        return _boolean(a, "StateVariableValue", await self._value(a))

    async def get_configuration_update(self) -> str:
        return await self._value("GetConfigurationUpdate")

    async def get_current_configuration_version(self) -> int:
        a = "GetCurrentConfigurationVersion"
        return _ui4(a, "StateVariableValue", await self._value(a))

    async def get_supported_data_models_update(self) -> str:
        return await self._value("GetSupportedDataModelsUpdate")

    async def get_supported_parameters_update(self) -> str:
        return await self._value("GetSupportedParametersUpdate")

    async def get_attribute_values_update(self) -> str:
        return await self._value("GetAttributeValuesUpdate")

    async def get_alarms_enabled(self) -> bool:
        a = "GetAlarmsEnabled"
        return _boolean(a, "StateVariableValue", await self._value(a))

    async def set_alarms_enabled(self, enabled: bool) -> None:
        await self._call("SetAlarmsEnabled", (("StateVariableValue", _flag(enabled)),))

    async def get_acl_data(self, starting_nodes: str) -> str:
        """CMS:2 GetACLData; the ACL document format is UNCONFIRMED, returned verbatim."""
        out = await self._call("GetACLData", (("StartingNodes", starting_nodes),), ("ACL",))
        return out["ACL"]


# --- BMS ----------------------------------------------------------------------------------


class BmsClient(_ServiceClient):
    """BasicManagement:1/2 (upnp-dm.md §3.2)."""

    DEFAULT_TYPE = BMS_TYPE

    async def _test_id(self, action: str, arguments: Sequence[tuple[str, str]] = ()) -> int:
        out = await self._call(action, arguments, ("TestID",))
        return _ui4(action, "TestID", out["TestID"])

    async def reboot(self) -> str:
        return (await self._call("Reboot", (), ("RebootStatus",)))["RebootStatus"]

    async def baseline_reset(self) -> None:
        await self._call("BaselineReset")

    async def get_device_status(self) -> str:
        return (await self._call("GetDeviceStatus", (), ("DeviceStatus",)))["DeviceStatus"]

    async def set_sequence_mode(self, sequence_mode: bool) -> bool:
        """Return the previous mode (OldSequenceMode)."""
        a = "SetSequenceMode"
        out = await self._call(
            a, (("NewSequenceMode", _flag(sequence_mode)),), ("OldSequenceMode",)
        )
        return _boolean(a, "OldSequenceMode", out["OldSequenceMode"])

    async def get_sequence_mode(self) -> bool:
        a = "GetSequenceMode"
        out = await self._call(a, (), ("SequenceMode",))
        return _boolean(a, "SequenceMode", out["SequenceMode"])

    async def ping(
        self, host: str, repetitions: int, timeout_ms: int, data_block_size: int, dscp: int
    ) -> int:
        return await self._test_id(
            "Ping",
            (
                ("Host", host),
                ("NumberOfRepetitions", str(repetitions)),
                ("Timeout", str(timeout_ms)),
                ("DataBlockSize", str(data_block_size)),
                ("DSCP", str(dscp)),
            ),
        )

    async def get_ping_result(self, test_id: int) -> PingResult:
        a = "GetPingResult"
        names = (
            "Status",
            "AdditionalInfo",
            "SuccessCount",
            "FailureCount",
            "AverageResponseTime",
            "MinimumResponseTime",
            "MaximumResponseTime",
        )
        out = await self._call(a, (("TestID", str(test_id)),), names)
        n = {k: _ui4(a, k, out[k]) for k in names[2:]}
        return PingResult(
            status=out["Status"],
            additional_info=out["AdditionalInfo"],
            success_count=n["SuccessCount"],
            failure_count=n["FailureCount"],
            average_response_time=n["AverageResponseTime"],
            minimum_response_time=n["MinimumResponseTime"],
            maximum_response_time=n["MaximumResponseTime"],
        )

    async def nslookup(
        self, host_name: str, dns_server: str, repetitions: int, timeout_ms: int
    ) -> int:
        return await self._test_id(
            "NSLookup",
            (
                ("HostName", host_name),
                ("DNSServer", dns_server),
                ("NumberOfRepetitions", str(repetitions)),
                ("Timeout", str(timeout_ms)),
            ),
        )

    async def get_nslookup_result(self, test_id: int) -> NSLookupResult:
        a = "GetNSLookupResult"
        names = ("Status", "AdditionalInfo", "SuccessCount", "Result")
        out = await self._call(a, (("TestID", str(test_id)),), names)
        return NSLookupResult(
            status=out["Status"],
            additional_info=out["AdditionalInfo"],
            success_count=_ui4(a, "SuccessCount", out["SuccessCount"]),
            result=out["Result"],
        )

    async def traceroute(
        self, host: str, timeout_ms: int, data_block_size: int, max_hop_count: int, dscp: int
    ) -> int:
        return await self._test_id(
            "Traceroute",
            (
                ("Host", host),
                ("Timeout", str(timeout_ms)),
                ("DataBlockSize", str(data_block_size)),
                ("MaxHopCount", str(max_hop_count)),
                ("DSCP", str(dscp)),
            ),
        )

    async def get_traceroute_result(self, test_id: int) -> TracerouteResult:
        a = "GetTracerouteResult"
        names = ("Status", "AdditionalInfo", "ResponseTime", "HopHosts")
        out = await self._call(a, (("TestID", str(test_id)),), names)
        return TracerouteResult(
            status=out["Status"],
            additional_info=out["AdditionalInfo"],
            response_time=_ui4(a, "ResponseTime", out["ResponseTime"]),
            hop_hosts=out["HopHosts"],
        )

    async def self_test(self) -> int:
        return await self._test_id("SelfTest")

    async def get_self_test_result(self, test_id: int) -> SelfTestResult:
        a = "GetSelfTestResult"
        out = await self._call(a, (("TestID", str(test_id)),), ("Status", "AdditionalInfo"))
        return SelfTestResult(_boolean(a, "Status", out["Status"]), out["AdditionalInfo"])

    async def interface_reset(self, interfaces: str) -> int:
        return await self._test_id("InterfaceReset", (("Interfaces", interfaces),))

    async def get_interface_reset_result(self, test_id: int) -> InterfaceResetResult:
        a = "GetInterfaceResetResult"
        names = ("Status", "AdditionalInfo", "NumberOfSuccesses", "NumberOfFailures")
        out = await self._call(a, (("TestID", str(test_id)),), names)
        return InterfaceResetResult(
            status=out["Status"],
            additional_info=out["AdditionalInfo"],
            number_of_successes=_ui4(a, "NumberOfSuccesses", out["NumberOfSuccesses"]),
            number_of_failures=_ui4(a, "NumberOfFailures", out["NumberOfFailures"]),
        )

    async def get_test_ids(self) -> list[int]:
        a = "GetTestIDs"
        return _ids(a, "TestIDs", (await self._call(a, (), ("TestIDs",)))["TestIDs"])

    async def get_active_test_ids(self) -> list[int]:
        a = "GetActiveTestIDs"
        return _ids(a, "TestIDs", (await self._call(a, (), ("TestIDs",)))["TestIDs"])

    async def get_test_info(self, test_id: int) -> TestInfo:
        out = await self._call("GetTestInfo", (("TestID", str(test_id)),), ("Type", "State"))
        return TestInfo(type=out["Type"], state=out["State"])

    async def cancel_test(self, test_id: int) -> None:
        await self._call("CancelTest", (("TestID", str(test_id)),))

    async def get_log_uris(self) -> list[str]:
        """LogURIs: a list of URIs; separator UNCONFIRMED, so commas and whitespace split."""
        text = (await self._call("GetLogURIs", (), ("LogURIs",)))["LogURIs"]
        return [item for item in text.replace(",", " ").split() if item]

    async def set_log_info(self, log_uri: str, enabled: bool, log_level: str) -> None:
        args = (("LogURI", log_uri), ("Enabled", _flag(enabled)), ("LogLevel", log_level))
        await self._call("SetLogInfo", args)

    async def get_log_info(self, log_uri: str) -> LogInfo:
        a = "GetLogInfo"
        names = ("Configurable", "Enabled", "LogLevel", "LogURL", "MaxSize", "LastChange")
        out = await self._call(a, (("LogURI", log_uri),), names)
        return LogInfo(
            configurable=_boolean(a, "Configurable", out["Configurable"]),
            enabled=_boolean(a, "Enabled", out["Enabled"]),
            log_level=out["LogLevel"],
            log_url=out["LogURL"].strip(),
            max_size=_ui4(a, "MaxSize", out["MaxSize"]),
            last_change=out["LastChange"].strip(),
        )

    async def get_acl_data(self) -> str:
        return (await self._call("GetACLData", (), ("ACL",)))["ACL"]


# --- SMS ----------------------------------------------------------------------------------


class SmsClient(_ServiceClient):
    """SoftwareManagement:1/2 (upnp-dm.md §4.2)."""

    DEFAULT_TYPE = SMS_TYPE

    async def _operation(self, action: str, arguments: Sequence[tuple[str, str]]) -> int:
        out = await self._call(action, arguments, ("OperationID",))
        return _ui4(action, "OperationID", out["OperationID"])

    async def _id_list(self, action: str, name: str) -> list[int]:
        return _ids(action, name, (await self._call(action, (), (name,)))[name])

    async def install(self, du_uri: str, du_type: str, handle_dependencies: bool) -> int:
        return await self._operation(
            "Install",
            (
                ("DUURI", du_uri),
                ("DUType", du_type),
                ("HandleDependencies", _flag(handle_dependencies)),
            ),
        )

    async def update(self, du_id: int, new_du_uri: str, handle_dependencies: bool) -> int:
        return await self._operation(
            "Update",
            (
                ("DUID", str(du_id)),
                ("NewDUURI", new_du_uri),
                ("HandleDependencies", _flag(handle_dependencies)),
            ),
        )

    async def uninstall(self, du_id: int, handle_dependencies: bool) -> int:
        args = (("DUID", str(du_id)), ("HandleDependencies", _flag(handle_dependencies)))
        return await self._operation("Uninstall", args)

    async def start(self, eu_id: int, handle_dependencies: bool) -> int:
        args = (("EUID", str(eu_id)), ("HandleDependencies", _flag(handle_dependencies)))
        return await self._operation("Start", args)

    async def stop(self, eu_id: int, handle_dependencies: bool) -> int:
        args = (("EUID", str(eu_id)), ("HandleDependencies", _flag(handle_dependencies)))
        return await self._operation("Stop", args)

    async def get_du_ids(self) -> list[int]:
        return await self._id_list("GetDUIDs", "DUIDs")

    async def get_eu_ids(self) -> list[int]:
        return await self._id_list("GetEUIDs", "EUIDs")

    async def get_active_eu_ids(self) -> list[int]:
        return await self._id_list("GetActiveEUIDs", "ActiveEUIDs")

    async def get_running_eu_ids(self) -> list[int]:
        return await self._id_list("GetRunningEUIDs", "RunningEUIDs")

    async def get_error_eu_ids(self) -> list[int]:
        return await self._id_list("GetErrorEUIDs", "ErrorEUIDs")

    async def get_operation_ids(self) -> list[int]:
        return await self._id_list("GetOperationIDs", "OperationIDs")

    async def get_operation_info(self, operation_id: int) -> OperationInfo:
        names = ("OperationState", "TargetedIDs", "Action", "ErrorDescription", "AdditionalInfo")
        out = await self._call("GetOperationInfo", (("OperationID", str(operation_id)),), names)
        return OperationInfo(
            operation_state=out["OperationState"],
            targeted_ids=out["TargetedIDs"],
            action=out["Action"],
            error_description=out["ErrorDescription"],
            additional_info=out["AdditionalInfo"],
        )

    async def get_du_info(self, du_id: int) -> DUInfo:
        names = ("DUName", "DUVersion", "DUType", "DUState", "DUURI")
        out = await self._call("GetDUInfo", (("DUID", str(du_id)),), names)
        return DUInfo(
            du_name=out["DUName"],
            du_version=out["DUVersion"],
            du_type=out["DUType"],
            du_state=out["DUState"],
            du_uri=out["DUURI"],
        )

    async def get_eu_info(self, eu_id: int) -> EUInfo:
        a = "GetEUInfo"
        out = await self._call(a, (("EUID", str(eu_id)),), ("EUName", "EUVersion"))
        # SMS:1 calls the last output EUExecutionState (upnp-dm.md §4.2).
        running = out.get("EURunningState", out.get("EUExecutionState"))
        if running is None or "EURequestedState" not in out:
            raise UpnpError(soap.TRANSPORT_ERROR, f"{a}: response lacks the EU states")
        return EUInfo(out["EUName"], out["EUVersion"], out["EURequestedState"], running)

    async def get_acl_data(self) -> str:
        return (await self._call("GetACLData", (), ("ACL",)))["ACL"]


# --- the device ---------------------------------------------------------------------------

#: Evented state variables and the action (+ output argument) that reads each one, per
#: service (upnp-dm.md §2.1, §3.1, §4.1): what a resync or a polling fallback re-reads.
EVENTED_READERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "CMS": (
        ("ConfigurationUpdate", "GetConfigurationUpdate", "StateVariableValue"),
        ("SupportedDataModelsUpdate", "GetSupportedDataModelsUpdate", "StateVariableValue"),
        ("SupportedParametersUpdate", "GetSupportedParametersUpdate", "StateVariableValue"),
        ("AttributeValuesUpdate", "GetAttributeValuesUpdate", "StateVariableValue"),
        ("InconsistentStatus", "GetInconsistentStatus", "StateVariableValue"),
        ("AlarmsEnabled", "GetAlarmsEnabled", "StateVariableValue"),
    ),
    "BMS": (
        ("DeviceStatus", "GetDeviceStatus", "DeviceStatus"),
        ("SequenceMode", "GetSequenceMode", "SequenceMode"),
        ("TestIDs", "GetTestIDs", "TestIDs"),
        ("ActiveTestIDs", "GetActiveTestIDs", "TestIDs"),
        ("LogURIs", "GetLogURIs", "LogURIs"),
    ),
    "SMS": (
        ("OperationIDs", "GetOperationIDs", "OperationIDs"),
        ("DUIDs", "GetDUIDs", "DUIDs"),
        ("EUIDs", "GetEUIDs", "EUIDs"),
        ("ActiveEUIDs", "GetActiveEUIDs", "ActiveEUIDs"),
        ("RunningEUIDs", "GetRunningEUIDs", "RunningEUIDs"),
        ("ErrorEUIDs", "GetErrorEUIDs", "ErrorEUIDs"),
    ),
}

_EVENT_QUEUE_LIMIT = 1024
_CLOSED = None


class NetworkDmDevice:
    """A DM device on the network: its service clients plus the stream of its GENA events.

    The GENA layer calls `push_event`; each `events()` iterator gets every event pushed after
    it started, in order, until `close()`. A consumer that falls 1024 events behind loses the
    oldest ones (logged) rather than growing memory without bound.
    """

    def __init__(
        self,
        udn: str,
        cms: CmsApi,
        bms: BmsClient | None = None,
        sms: SmsClient | None = None,
        *,
        description: DescribedDevice | None = None,
    ) -> None:
        self.description = description  # DDD/SCPD facts: event URLs, identity fallbacks
        self._udn = udn
        self._cms = cms
        self._bms = bms
        self._sms = sms
        self._queues: set[asyncio.Queue[DmEvent | None]] = set()
        self._closed = False

    @classmethod
    def from_description(
        cls, described: DescribedDevice, transport: SoapTransport
    ) -> NetworkDmDevice:
        """Clients for the DM services `describe` found usable, limited to their SCPD actions."""
        candidate = described.candidate
        clients: dict[str, _ServiceClient] = {}
        for kind, client_class in (("CMS", CmsClient), ("BMS", BmsClient), ("SMS", SmsClient)):
            service = candidate.service(kind)
            if service is None or kind not in described.actions:
                continue
            clients[kind] = client_class(
                transport,
                service.control_url,
                service.service_type,
                actions=described.actions[kind],
            )
        cms = clients.get("CMS")
        bms = clients.get("BMS")
        sms = clients.get("SMS")
        assert cms is None or isinstance(cms, CmsClient)
        assert bms is None or isinstance(bms, BmsClient)
        assert sms is None or isinstance(sms, SmsClient)
        # TR-330 §3.1: a device with only BMS or only SMS is proxied too (`upnp.nocms`).
        api = cms if cms is not None else DescriptionCms(described, sms)
        return cls(candidate.udn, api, bms, sms, description=described)

    @property
    def udn(self) -> str:
        return self._udn

    @property
    def cms(self) -> CmsApi:
        return self._cms

    @property
    def bms(self) -> BmsClient | None:
        return self._bms

    @property
    def sms(self) -> SmsClient | None:
        return self._sms

    @property
    def closed(self) -> bool:
        return self._closed

    def _service(self, kind: str) -> _ServiceClient | None:
        cms = self._cms if isinstance(self._cms, _ServiceClient) else None  # none: `nocms`
        return {"CMS": cms, "BMS": self._bms, "SMS": self._sms}.get(kind)

    async def read_evented(self, kind: str) -> dict[str, str]:
        """Read the evented variables of service `kind` ("CMS"/"BMS"/"SMS") with actions.

        The GENA polling fallback (`GenaManager.add(poll=…)`) and SEQ-gap resync use it.
        Actions the SCPD lacks are skipped, and so is a variable whose action fails with a
        UPnP error; a transport failure (code 0) is raised: the device is unreachable.
        """
        client = self._service(kind)
        if client is None:
            return {}
        values: dict[str, str] = {}
        for variable, action, out in EVENTED_READERS[kind]:
            if not client.supports(action):
                continue
            try:
                values[variable] = (await client._call(action, (), (out,)))[out]
            except UpnpError as exc:
                if exc.code == soap.TRANSPORT_ERROR:
                    raise
                _LOG.info("%s: %s %s failed: %s", self._udn, kind, action, exc)
        return values

    async def resync(self, kind: str) -> None:
        """Re-read service `kind` after a missed event and push the values as a resync
        event (`DmEvent(resync=True)`), so consumers re-check what may have changed."""
        values = await self.read_evented(kind)
        if values:
            self.push_event(DmEvent(kind, values, 0, resync=True))

    def push_event(self, event: DmEvent) -> None:
        """Deliver one event to every current `events()` iterator (never blocks)."""
        if self._closed:
            return
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
                _LOG.warning("%s: event consumer too slow, dropped the oldest event", self._udn)
            queue.put_nowait(event)

    def close(self) -> None:
        """End every `events()` iterator; later events are ignored."""
        if self._closed:
            return
        self._closed = True
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(_CLOSED)

    def events(self) -> AsyncIterator[DmEvent]:
        """A new iterator that receives every event pushed from now on (registered at once)."""
        queue: asyncio.Queue[DmEvent | None] = asyncio.Queue(_EVENT_QUEUE_LIMIT)
        if self._closed:
            queue.put_nowait(_CLOSED)
        else:
            self._queues.add(queue)
        return self._drain(queue)

    async def _drain(self, queue: asyncio.Queue[DmEvent | None]) -> AsyncIterator[DmEvent]:
        try:
            while (event := await queue.get()) is not _CLOSED:
                assert event is not None
                yield event
        finally:
            self._queues.discard(queue)


def _check_protocols(device: NetworkDmDevice) -> None:
    """Static proof (mypy) that the clients satisfy the contract's protocols."""
    _cms: CmsApi = device.cms
    _bms: BmsApi | None = device.bms
    _sms: SmsApi | None = device.sms
