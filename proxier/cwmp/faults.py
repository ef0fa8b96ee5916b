"""CWMP fault codes (TR-069 §A.5 Tables 65 and 66, plus the CWMP 1.2/1.4 additions).

One table for everyone who answers with a fault: the codec (malformed requests), the engine
and the UPnP translation layer. `fault(code, detail)` builds the `Fault` body with the
standard FaultString, so callers only add what went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from proxier.cwmp.rpc import CwmpFaultError, Fault, SetParameterValuesFault

SoapFaultCode = Literal["Client", "Server"]


@dataclass(frozen=True, slots=True)
class FaultInfo:
    """A fault code's standard description and its SOAP faultcode (§3.5: Client = the
    request's originator is at fault, Server = the responder)."""

    code: int
    fault_string: str
    soap_faultcode: SoapFaultCode


def _table(*rows: tuple[int, str, SoapFaultCode]) -> dict[int, FaultInfo]:
    return {code: FaultInfo(code, text, kind) for code, text, kind in rows}


FAULTS: dict[int, FaultInfo] = _table(
    # CPE fault codes, Table 65 (CWMP 1.1).
    (9000, "Method not supported", "Server"),
    (9001, "Request denied (no reason specified)", "Server"),
    (9002, "Internal error", "Server"),
    (9003, "Invalid arguments", "Client"),
    (9004, "Resources exceeded", "Server"),
    (9005, "Invalid parameter name", "Client"),
    (9006, "Invalid parameter type", "Client"),
    (9007, "Invalid parameter value", "Client"),
    (9008, "Attempt to set a non-writable parameter", "Client"),
    (9009, "Notification request rejected", "Server"),
    (9010, "Download failure", "Server"),
    (9011, "Upload failure", "Server"),
    (9012, "File transfer server authentication failure", "Server"),
    (9013, "Unsupported protocol for file transfer", "Server"),
    (9014, "Download failure: unable to join multicast group", "Server"),
    (9015, "Download failure: unable to contact file server", "Server"),
    (9016, "Download failure: unable to access file", "Server"),
    (9017, "Download failure: unable to complete download", "Server"),
    (9018, "Download failure: file corrupted", "Server"),
    (9019, "Download failure: file authentication failure", "Server"),
    # CWMP 1.2 additions (cwmp-1-2.xsd, reference §4.4). The SOAP faultcode of 9021–9025 is
    # not given by any source we read; they report a bad argument, hence Client.
    (9020, "Download failure: unable to complete download within specified time windows", "Server"),
    (9021, "Cancelation of file transfer not permitted in current transfer state", "Client"),
    (9022, "Invalid UUID format", "Client"),
    (9023, "Unknown Execution Environment", "Client"),
    (9024, "Disabled Execution Environment", "Client"),
    (9025, "Deployment Unit to Execution Environment mismatch", "Client"),
    (9026, "Duplicate Deployment Unit", "Server"),
    (9027, "System resources exceeded", "Server"),
    (9028, "Unknown Deployment Unit", "Server"),
    (9029, "Invalid Deployment Unit state", "Server"),
    (9030, "Invalid Deployment Unit update: downgrade not permitted", "Server"),
    (9031, "Invalid Deployment Unit update: version not specified", "Server"),
    (9032, "Invalid Deployment Unit update: version already exists", "Server"),
    # ACS fault codes, Table 66 (8006 is CWMP 1.4).
    (8000, "Method not supported", "Server"),
    (8001, "Request denied (no reason specified)", "Server"),
    (8002, "Internal error", "Server"),
    (8003, "Invalid arguments", "Client"),
    (8004, "Resources exceeded", "Server"),
    (8005, "Retry request", "Server"),
    (8006, "ACS version incompatible with CPE", "Client"),
)

#: Codes a TransferComplete / AutonomousTransferComplete FaultStruct may carry (cwmp XSD).
TRANSFER_FAULT_CODES = frozenset({0, 9001, 9002, 9010, 9011, 9012, *range(9014, 9021)})


def fault_info(code: int) -> FaultInfo:
    """The table entry for `code`; vendor (9800–9899, 8800–8899) and reserved codes get a
    generic description."""
    info = FAULTS.get(code)
    if info is not None:
        return info
    if 9800 <= code <= 9899 or 8800 <= code <= 8899:
        return FaultInfo(code, "Vendor defined fault", "Server")
    return FaultInfo(code, "Unknown fault", "Server")


def is_acs_fault(code: int) -> bool:
    """ACS fault codes are 8000–8999; CPE fault codes 9000–9999."""
    return 8000 <= code <= 8999


def fault(
    code: int,
    detail: str = "",
    set_parameter_values_fault: tuple[SetParameterValuesFault, ...] = (),
) -> Fault:
    """A `Fault` with the standard FaultString for `code`, followed by `detail` if given."""
    text = fault_info(code).fault_string
    return Fault(code, f"{text}: {detail}" if detail else text, set_parameter_values_fault)


def spv_fault(parameter_name: str, code: int, detail: str = "") -> SetParameterValuesFault:
    """One SetParameterValuesFault entry (§3.5) with the standard FaultString for `code`."""
    text = fault_info(code).fault_string
    return SetParameterValuesFault(parameter_name, code, f"{text}: {detail}" if detail else text)


def refuse_when_full(used: int, limit: int, what: str) -> None:
    """9004 Resources exceeded once `used` of a bounded CPE queue reaches `limit`: an ACS
    (or anyone holding its credentials) cannot grow the device's state without end."""
    if used >= limit:
        raise CwmpFaultError(9004, f"Resources exceeded: {what} full ({limit} pending)")
