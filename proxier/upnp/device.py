"""The small interface between the TR-330 translation layer and one UPnP DM device.

The network control point (`proxier.upnp.client`) implements it over SOAP/GENA, the lab
device simulator's data model can be driven through it too, so translation logic is tested
against either. Values stay UPnP-shaped here (slash paths, 0-based instances, CMS types);
CWMP shapes belong to `proxier.translate`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class UpnpError(Exception):
    """A UPnP action failed with a UPnP error code (UDA 401–899, CMS 701–709, …).

    Code 0 is used for transport failures (timeout, connection refused, bad HTTP) that carry
    no UPnP code: the translation maps them to CWMP 9002 and marks the device suspect.
    """

    def __init__(self, code: int, description: str = "") -> None:
        super().__init__(
            f"UPnP error {code}: {description}" if description else f"UPnP error {code}"
        )
        self.code = code
        self.description = description


# --- CMS ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParameterValue:
    """One `<Parameter><ParameterPath/><Value/></Parameter>` of a CMS ParameterValueList."""

    path: str
    value: str


@dataclass(frozen=True, slots=True)
class NodeAttributes:
    """One `<Node>` of a NodeAttributeValueList; None = attribute absent in the document."""

    path: str
    access: str | None = None  # "readOnly" / "readWrite"
    type: str | None = None  # "string", "boolean", …, "MultiInstance", "Instance"
    event_on_change: bool | None = None
    alarm_on_change: bool | None = None
    version: int | None = None
    extra: tuple[tuple[str, str], ...] = ()  # attributes we do not model, kept verbatim


@dataclass(frozen=True, slots=True)
class SupportedDataModel:
    """One `<SubTree>` of a SupportedDataModels document."""

    uri: str
    location: str
    url: str = ""
    description: str = ""


class CmsApi(Protocol):
    """ConfigurationManagement:1/2 actions (reference upnp-dm.md §2.2)."""

    async def get_supported_data_models(self) -> list[SupportedDataModel]: ...
    async def get_supported_parameters(
        self, starting_node: str, search_depth: int
    ) -> list[str]: ...
    async def get_instances(self, starting_node: str, search_depth: int) -> list[str]: ...
    async def get_values(self, paths: Sequence[str]) -> list[ParameterValue]: ...
    async def get_selected_values(
        self, starting_node: str, filter: str
    ) -> list[ParameterValue]: ...
    async def set_values(self, values: Sequence[ParameterValue]) -> str:
        """Return the ChangeStatus: "ChangesApplied" or "ChangesCommitted"."""
        ...

    async def create_instance(
        self, multi_instance_name: str, children: Sequence[ParameterValue]
    ) -> tuple[str, str]:
        """Return (InstanceIdentifier path, Status)."""
        ...

    async def delete_instance(self, instance_identifier: str) -> str: ...
    async def get_attributes(self, paths: Sequence[str]) -> list[NodeAttributes]: ...
    async def set_attributes(self, nodes: Sequence[NodeAttributes]) -> str: ...
    async def get_configuration_update(self) -> str: ...
    async def get_current_configuration_version(self) -> int: ...
    async def get_supported_data_models_update(self) -> str: ...
    async def get_supported_parameters_update(self) -> str: ...
    async def get_attribute_values_update(self) -> str: ...
    async def get_inconsistent_status(self) -> bool: ...
    async def get_alarms_enabled(self) -> bool: ...
    async def set_alarms_enabled(self, enabled: bool) -> None: ...


# --- BMS ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TestInfo:
    type: str  # Ping, NSLookup, Traceroute, …
    state: str  # Requested, InProgress, Canceled, Completed


@dataclass(frozen=True, slots=True)
class PingResult:
    status: str
    additional_info: str
    success_count: int
    failure_count: int
    average_response_time: int
    minimum_response_time: int
    maximum_response_time: int


@dataclass(frozen=True, slots=True)
class NSLookupResult:
    status: str
    additional_info: str
    success_count: int
    result: str  # A_ARG_TYPE_NSLookupResult document, verbatim


@dataclass(frozen=True, slots=True)
class TracerouteResult:
    status: str
    additional_info: str
    response_time: int
    hop_hosts: str


@dataclass(frozen=True, slots=True)
class LogInfo:
    configurable: bool
    enabled: bool
    log_level: str
    log_url: str
    max_size: int
    last_change: str


class BmsApi(Protocol):
    """BasicManagement:2 actions (reference upnp-dm.md §3.2)."""

    async def reboot(self) -> str: ...
    async def baseline_reset(self) -> None: ...
    async def get_device_status(self) -> str: ...
    async def ping(
        self, host: str, repetitions: int, timeout_ms: int, data_block_size: int, dscp: int
    ) -> int: ...
    async def get_ping_result(self, test_id: int) -> PingResult: ...
    async def nslookup(
        self, host_name: str, dns_server: str, repetitions: int, timeout_ms: int
    ) -> int: ...
    async def get_nslookup_result(self, test_id: int) -> NSLookupResult: ...
    async def traceroute(
        self, host: str, timeout_ms: int, data_block_size: int, max_hop_count: int, dscp: int
    ) -> int: ...
    async def get_traceroute_result(self, test_id: int) -> TracerouteResult: ...
    async def get_test_ids(self) -> list[int]: ...
    async def get_active_test_ids(self) -> list[int]: ...
    async def get_test_info(self, test_id: int) -> TestInfo: ...
    async def cancel_test(self, test_id: int) -> None: ...
    async def get_log_uris(self) -> list[str]: ...
    async def set_log_info(self, log_uri: str, enabled: bool, log_level: str) -> None: ...
    async def get_log_info(self, log_uri: str) -> LogInfo: ...


# --- SMS ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OperationInfo:
    operation_state: str  # Requested, InProgress, Completed, Error
    targeted_ids: str
    action: str  # Install, Update, Uninstall, Start, Stop
    error_description: str  # Error_None, Error_Network, …
    additional_info: str


@dataclass(frozen=True, slots=True)
class DUInfo:
    du_name: str
    du_version: str
    du_type: str
    du_state: str
    du_uri: str


class SmsApi(Protocol):
    """SoftwareManagement:2 actions (reference upnp-dm.md §4.2)."""

    async def install(self, du_uri: str, du_type: str, handle_dependencies: bool) -> int: ...
    async def update(self, du_id: int, new_du_uri: str, handle_dependencies: bool) -> int: ...
    async def uninstall(self, du_id: int, handle_dependencies: bool) -> int: ...
    async def get_du_ids(self) -> list[int]: ...
    async def get_operation_ids(self) -> list[int]: ...
    async def get_operation_info(self, operation_id: int) -> OperationInfo: ...
    async def get_du_info(self, du_id: int) -> DUInfo: ...


# --- events and the device ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DmEvent:
    """Evented state variables from one GENA NOTIFY (or a resync after a SEQ gap/poll).

    `service` is "CMS", "BMS" or "SMS"; `resync` is True when the values come from reading
    the device after a missed event rather than from a NOTIFY.
    """

    service: str
    variables: dict[str, str] = field(default_factory=dict)
    seq: int = 0
    resync: bool = False


class DmDevice(Protocol):
    """One manageable UPnP DM device as the translation layer sees it."""

    @property
    def udn(self) -> str: ...

    @property
    def cms(self) -> CmsApi: ...

    @property
    def bms(self) -> BmsApi | None: ...

    @property
    def sms(self) -> SmsApi | None: ...

    def events(self) -> AsyncIterator[DmEvent]:
        """Every event of the device's DM services, in arrival order, until it is closed."""
        ...
