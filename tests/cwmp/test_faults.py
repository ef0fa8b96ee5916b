"""CWMP fault code table (TR-069 §A.5 Tables 65 and 66, §3.5 fault conventions)."""

from __future__ import annotations

import pytest

from proxier.cwmp.faults import FAULTS, TRANSFER_FAULT_CODES, fault, fault_info, spv_fault
from proxier.cwmp.rpc import Envelope, Fault
from proxier.cwmp.soap import decode, encode


@pytest.mark.parametrize(
    ("code", "text", "kind"),
    [
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
        (9019, "Download failure: file authentication failure", "Server"),
        (8000, "Method not supported", "Server"),
        (8003, "Invalid arguments", "Client"),
        (8005, "Retry request", "Server"),
    ],
)
def test_table_65_66_entries(code: int, text: str, kind: str) -> None:
    """Table 65 (CPE) and Table 66 (ACS): description and Client/Server type."""
    info = fault_info(code)
    assert (info.fault_string, info.soap_faultcode) == (text, kind)


def test_table_covers_every_standard_code() -> None:
    """9000–9032 (CWMP 1.0–1.2) and 8000–8006 (8006 is CWMP 1.4) are all present."""
    assert set(range(9000, 9033)) | set(range(8000, 8007)) == set(FAULTS)


def test_vendor_codes_are_described() -> None:
    """Table 65/66: 9800–9899 and 8800–8899 are vendor defined."""
    assert fault_info(9850).fault_string == "Vendor defined fault"
    assert fault_info(8801).fault_string == "Vendor defined fault"


def test_fault_helper_appends_detail() -> None:
    """§3.5: FaultString is human readable: the standard text, then what went wrong."""
    assert fault(9005) == Fault(9005, "Invalid parameter name")
    assert fault(9005, "Device.Nope.") == Fault(9005, "Invalid parameter name: Device.Nope.")


def test_faultcode_element_follows_the_table() -> None:
    """§3.5: faultcode is Client or Server per the code; faultstring is "CWMP fault"."""
    for code, kind in ((9003, b"Client"), (9002, b"Server"), (8005, b"Server")):
        data = encode(Envelope(fault(code), cwmp_id="1"))
        assert b"<faultcode>" + kind + b"</faultcode>" in data
        assert b"<faultstring>CWMP fault</faultstring>" in data


def test_spv_fault_list_round_trips() -> None:
    """§3.5: SetParameterValuesFault lists one entry per parameter in error."""
    body = fault(
        9003,
        set_parameter_values_fault=(
            spv_fault("Device.A", 9007, "not a number"),
            spv_fault("Device.B", 9008),
        ),
    )
    decoded = decode(encode(Envelope(body, cwmp_id="x"))).body
    assert decoded == body
    assert isinstance(decoded, Fault)
    assert decoded.set_parameter_values_fault[0].fault_string == (
        "Invalid parameter value: not a number"
    )


def test_transfer_fault_codes() -> None:
    """cwmp XSD FaultStruct: TransferComplete may only carry 0, 9001, 9002, 9010–9012,
    9014–9020 (9013 and 9003 are not transfer outcomes)."""
    assert {0, 9001, 9002, 9010, 9011, 9012, 9014, 9020} <= TRANSFER_FAULT_CODES
    assert 9013 not in TRANSFER_FAULT_CODES and 9003 not in TRANSFER_FAULT_CODES
