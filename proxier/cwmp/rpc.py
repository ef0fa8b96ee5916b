"""CWMP RPC message types (TR-069 Annex A), independent of SOAP.

Every message exchanged between a CPE and an ACS is a frozen dataclass here. The SOAP codec
(`proxier.cwmp.soap`) turns them into and out of XML; the session state machine, the engine and
the lab ACS only ever see these objects. Names follow the spec so each field can be checked
against Annex A by eye.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

#: CWMP namespaces by version string ("1.0" … "1.4"), TR-069 §A.3.1 / reference §4.1.
CWMP_NS: dict[str, str] = {
    "1.0": "urn:dslforum-org:cwmp-1-0",
    "1.1": "urn:dslforum-org:cwmp-1-1",
    "1.2": "urn:dslforum-org:cwmp-1-2",
    "1.3": "urn:dslforum-org:cwmp-1-3",
    "1.4": "urn:dslforum-org:cwmp-1-4",
}

#: The Unknown Time of TR-069 §A.2.1 (dateTime fields whose value is not known).
UNKNOWN_TIME = datetime(1, 1, 1, tzinfo=UTC)


# --- shared structures -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceIdStruct:
    manufacturer: str
    oui: str
    product_class: str
    serial_number: str


@dataclass(frozen=True, slots=True)
class EventStruct:
    event_code: str
    command_key: str = ""


@dataclass(frozen=True, slots=True)
class ParameterValueStruct:
    """A parameter name/value with its xsi:type (e.g. "xsd:string", "xsd:unsignedInt")."""

    name: str
    value: str
    type: str = "xsd:string"


@dataclass(frozen=True, slots=True)
class ParameterInfoStruct:
    name: str
    writable: bool


@dataclass(frozen=True, slots=True)
class ParameterAttributeStruct:
    name: str
    notification: int  # 0 off, 1 passive, 2 active (3, 4, 5 and 6 exist in CWMP 1.4)
    access_list: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SetParameterAttributesStruct:
    name: str
    notification_change: bool
    notification: int
    access_list_change: bool
    access_list: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FaultStruct:
    """FaultStruct used inside TransferComplete (0 = no fault)."""

    fault_code: int = 0
    fault_string: str = ""


@dataclass(frozen=True, slots=True)
class QueuedTransferStruct:
    command_key: str
    state: int  # 1 not yet started, 2 in progress, 3 completed


@dataclass(frozen=True, slots=True)
class AllQueuedTransferStruct:
    command_key: str
    state: int
    is_download: bool
    file_type: str
    file_size: int
    target_file_name: str


@dataclass(frozen=True, slots=True)
class TimeWindowStruct:
    window_start: int
    window_end: int
    window_mode: str
    user_message: str = ""
    max_retries: int = 0


# --- CPE methods (called by the ACS) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetRPCMethods:
    pass


@dataclass(frozen=True, slots=True)
class GetRPCMethodsResponse:
    method_list: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GetParameterNames:
    parameter_path: str
    next_level: bool


@dataclass(frozen=True, slots=True)
class GetParameterNamesResponse:
    parameter_list: tuple[ParameterInfoStruct, ...]


@dataclass(frozen=True, slots=True)
class GetParameterValues:
    parameter_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GetParameterValuesResponse:
    parameter_list: tuple[ParameterValueStruct, ...]


@dataclass(frozen=True, slots=True)
class SetParameterValues:
    parameter_list: tuple[ParameterValueStruct, ...]
    parameter_key: str = ""


@dataclass(frozen=True, slots=True)
class SetParameterValuesResponse:
    status: int  # 0 applied, 1 committed but not yet applied


@dataclass(frozen=True, slots=True)
class GetParameterAttributes:
    parameter_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GetParameterAttributesResponse:
    parameter_list: tuple[ParameterAttributeStruct, ...]


@dataclass(frozen=True, slots=True)
class SetParameterAttributes:
    parameter_list: tuple[SetParameterAttributesStruct, ...]


@dataclass(frozen=True, slots=True)
class SetParameterAttributesResponse:
    pass


@dataclass(frozen=True, slots=True)
class AddObject:
    object_name: str
    parameter_key: str = ""


@dataclass(frozen=True, slots=True)
class AddObjectResponse:
    instance_number: int
    status: int


@dataclass(frozen=True, slots=True)
class DeleteObject:
    object_name: str
    parameter_key: str = ""


@dataclass(frozen=True, slots=True)
class DeleteObjectResponse:
    status: int


@dataclass(frozen=True, slots=True)
class Reboot:
    command_key: str = ""


@dataclass(frozen=True, slots=True)
class RebootResponse:
    pass


@dataclass(frozen=True, slots=True)
class FactoryReset:
    pass


@dataclass(frozen=True, slots=True)
class FactoryResetResponse:
    pass


@dataclass(frozen=True, slots=True)
class Download:
    command_key: str
    file_type: str
    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    file_size: int = 0
    target_file_name: str = ""
    delay_seconds: int = 0
    success_url: str = ""
    failure_url: str = ""


@dataclass(frozen=True, slots=True)
class DownloadResponse:
    status: int  # 0 completed, 1 not yet completed (TransferComplete follows)
    start_time: datetime = UNKNOWN_TIME
    complete_time: datetime = UNKNOWN_TIME


@dataclass(frozen=True, slots=True)
class Upload:
    command_key: str
    file_type: str
    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    delay_seconds: int = 0


@dataclass(frozen=True, slots=True)
class UploadResponse:
    status: int
    start_time: datetime = UNKNOWN_TIME
    complete_time: datetime = UNKNOWN_TIME


@dataclass(frozen=True, slots=True)
class ScheduleInform:
    delay_seconds: int
    command_key: str = ""


@dataclass(frozen=True, slots=True)
class ScheduleInformResponse:
    pass


@dataclass(frozen=True, slots=True)
class GetQueuedTransfers:
    pass


@dataclass(frozen=True, slots=True)
class GetQueuedTransfersResponse:
    transfer_list: tuple[QueuedTransferStruct, ...]


@dataclass(frozen=True, slots=True)
class GetAllQueuedTransfers:
    pass


@dataclass(frozen=True, slots=True)
class GetAllQueuedTransfersResponse:
    transfer_list: tuple[AllQueuedTransferStruct, ...]


@dataclass(frozen=True, slots=True)
class CancelTransfer:
    command_key: str


@dataclass(frozen=True, slots=True)
class CancelTransferResponse:
    pass


@dataclass(frozen=True, slots=True)
class ScheduleDownload:
    """Parsed so it can be refused precisely: TR-330 §4.7.1.1 advises against it (fault 9000)."""

    command_key: str
    file_type: str
    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    file_size: int = 0
    target_file_name: str = ""
    time_window_list: tuple[TimeWindowStruct, ...] = ()


# --- ACS methods (called by the CPE) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Inform:
    device_id: DeviceIdStruct
    event: tuple[EventStruct, ...]
    max_envelopes: int
    current_time: datetime
    retry_count: int
    parameter_list: tuple[ParameterValueStruct, ...]


@dataclass(frozen=True, slots=True)
class InformResponse:
    max_envelopes: int = 1


@dataclass(frozen=True, slots=True)
class TransferComplete:
    command_key: str
    fault_struct: FaultStruct
    start_time: datetime
    complete_time: datetime


@dataclass(frozen=True, slots=True)
class TransferCompleteResponse:
    pass


@dataclass(frozen=True, slots=True)
class AutonomousTransferComplete:
    announce_url: str
    transfer_url: str
    is_download: bool
    file_type: str
    file_size: int
    target_file_name: str
    fault_struct: FaultStruct
    start_time: datetime
    complete_time: datetime


@dataclass(frozen=True, slots=True)
class AutonomousTransferCompleteResponse:
    pass


# --- faults ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetParameterValuesFault:
    parameter_name: str
    fault_code: int
    fault_string: str


@dataclass(frozen=True, slots=True)
class Fault:
    """A SOAP Fault carrying a cwmp:Fault detail (TR-069 §A.5).

    `fault_code` is the CWMP code (9000–9899 CPE side, 8000–8899 ACS side). The SOAP
    faultcode ("Client"/"Server") follows from it.
    """

    fault_code: int
    fault_string: str
    set_parameter_values_fault: tuple[SetParameterValuesFault, ...] = ()


class CwmpFaultError(Exception):
    """Raised by a data-model backend (or the engine) to answer an RPC with a CWMP fault."""

    def __init__(
        self,
        fault_code: int,
        fault_string: str = "",
        set_parameter_values_fault: tuple[SetParameterValuesFault, ...] = (),
    ) -> None:
        super().__init__(f"{fault_code} {fault_string}")
        self.fault = Fault(fault_code, fault_string, set_parameter_values_fault)


# --- envelope --------------------------------------------------------------------------------

CpeRequest = (
    GetRPCMethods
    | GetParameterNames
    | GetParameterValues
    | SetParameterValues
    | GetParameterAttributes
    | SetParameterAttributes
    | AddObject
    | DeleteObject
    | Reboot
    | FactoryReset
    | Download
    | Upload
    | ScheduleInform
    | GetQueuedTransfers
    | GetAllQueuedTransfers
    | CancelTransfer
    | ScheduleDownload
)
"""Requests an ACS sends to a CPE."""

CpeResponse = (
    GetRPCMethodsResponse
    | GetParameterNamesResponse
    | GetParameterValuesResponse
    | SetParameterValuesResponse
    | GetParameterAttributesResponse
    | SetParameterAttributesResponse
    | AddObjectResponse
    | DeleteObjectResponse
    | RebootResponse
    | FactoryResetResponse
    | DownloadResponse
    | UploadResponse
    | ScheduleInformResponse
    | GetQueuedTransfersResponse
    | GetAllQueuedTransfersResponse
    | CancelTransferResponse
)

AcsRequest = Inform | TransferComplete | AutonomousTransferComplete | GetRPCMethods
"""Requests a CPE sends to an ACS."""

AcsResponse = (
    InformResponse
    | TransferCompleteResponse
    | AutonomousTransferCompleteResponse
    | GetRPCMethodsResponse
)

Message = CpeRequest | CpeResponse | AcsRequest | AcsResponse | Fault


@dataclass(frozen=True, slots=True)
class Envelope:
    """One SOAP envelope: header fields of TR-069 §A.3.1.1 plus exactly one body message."""

    body: Message
    cwmp_id: str | None = None
    hold_requests: bool | None = None
    no_more_requests: bool | None = None  # deprecated in 1.1+, still parsed
    version: str = "1.2"  # key of CWMP_NS
    # CWMP 1.3/1.4 headers (additive): SessionTimeout (CPE → ACS, seconds),
    # SupportedCWMPVersions (CPE → ACS, e.g. "1.0,1.1,1.2,1.3,1.4"), UseCWMPVersion (ACS → CPE).
    session_timeout: int | None = None
    supported_cwmp_versions: str | None = None
    use_cwmp_version: str | None = None
