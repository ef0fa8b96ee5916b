"""TR-330 Table 2 through the backend: every UPnP error row, for every CMS-backed RPC.

Each case makes the lab device answer the RPC's CMS action with the row's UPnP error and
checks the CWMP fault the ACS would get. Expectations come twice: from the mapping file
(the backend really uses the table) and from a list typed in from TR-330 (the table is right).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from proxier.cwmp.rpc import (
    CwmpFaultError,
    ParameterValueStruct,
    SetParameterAttributesStruct,
)
from proxier.translate.backend import UpnpBackend
from proxier.translate.instances import InstanceStore
from proxier.translate.tables import default_tables
from proxier.upnp.device import UpnpError

from .conftest import PROXIER, lab_device
from .test_backend import FaultyDevice
from .test_tables import TABLE2_PROBES

Rpc = Callable[[UpnpBackend], Awaitable[object]]

#: RPC → (the CMS action it ends in, a call that reaches that action).
RPCS: dict[str, tuple[str, Rpc]] = {
    "GetParameterNames": (
        "get_supported_parameters",
        lambda b: b.get_parameter_names("Device.Hosts.", True),
    ),
    "GetParameterValues": ("get_values", lambda b: b.get_parameter_values(["Device.Time.Enable"])),
    "SetParameterValues": (
        "set_values",
        lambda b: b.set_parameter_values([ParameterValueStruct("Device.Time.Enable", "0")], "k"),
    ),
    "GetParameterAttributes": (
        "get_attributes",
        lambda b: b.get_parameter_attributes(["Device.Time.Enable"]),
    ),
    "SetParameterAttributes": (
        "set_attributes",
        lambda b: b.set_parameter_attributes(
            [SetParameterAttributesStruct("Device.Time.Enable", True, 1, False)]
        ),
    ),
    "AddObject": ("create_instance", lambda b: b.add_object("Device.NAT.PortMapping.", "k")),
    "DeleteObject": (
        "delete_instance",
        lambda b: b.delete_object("Device.NAT.PortMapping.1.", "k"),
    ),
}


def expected_by_hand(rpc: str, upnp: int, table2: int) -> int:
    """TR-069 Annex A.3.2 fault lists applied to Table 2, written out (tables.toml
    [[override]] is what the code reads)."""
    if rpc == "SetParameterValues":
        return table2
    if upnp == 706:
        return 9009 if rpc == "SetParameterAttributes" else 9001
    if upnp in (704, 705):
        return 9003
    if rpc in ("GetParameterNames", "DeleteObject") and table2 == 9004:
        return 9002
    return table2


async def run(tmp_path: Path, rpc: str, upnp: int) -> CwmpFaultError:
    action, call = RPCS[rpc]
    dev = lab_device()
    store = InstanceStore(tmp_path / "i.sqlite")
    backend = UpnpBackend(
        FaultyDevice(dev, action, UpnpError(upnp, "injected")),
        instance_store=store,
        proxier_info=PROXIER,
    )
    try:
        with pytest.raises(CwmpFaultError) as info:
            await call(backend)
    finally:
        store.close()
        dev.close()
    return info.value


def seen_code(error: CwmpFaultError) -> int:
    """The fault the parameter got: SPV wraps 9005-9008 in 9003 + per-parameter detail."""
    details = error.fault.set_parameter_values_fault
    if details:
        assert error.fault.fault_code == 9003  # TR-069 A.3.2.1
        assert [d.parameter_name for d in details] == ["Device.Time.Enable"]
        return details[0].fault_code
    return error.fault.fault_code


@pytest.mark.parametrize("rpc", list(RPCS))
@pytest.mark.parametrize(("upnp", "table2"), TABLE2_PROBES)
async def test_table2_row_by_hand(tmp_path: Path, rpc: str, upnp: int, table2: int) -> None:
    """TR-330 Table 2 (typed in) + TR-069 Annex A per-method fault lists."""
    assert seen_code(await run(tmp_path, rpc, upnp)) == expected_by_hand(rpc, upnp, table2)


@pytest.mark.parametrize("rpc", list(RPCS))
@pytest.mark.parametrize("row", default_tables().errors.rows, ids=lambda r: f"{r.low}-{r.high}")
async def test_table2_row_from_mapping_file(tmp_path: Path, rpc: str, row: object) -> None:
    """Every row of mappings/table2_errors.toml is what the backend answers."""
    errors = default_tables().errors
    low = row.low  # type: ignore[attr-defined]
    assert seen_code(await run(tmp_path, rpc, low)) == errors.cwmp_fault(low, rpc)


@pytest.mark.parametrize("upnp", [403, 707, 710, 999])
async def test_unknown_codes_are_9001(tmp_path: Path, upnp: int) -> None:
    """TR-330 Table 2 note: errors the table does not list → 9001."""
    assert (await run(tmp_path, "GetParameterValues", upnp)).fault.fault_code == 9001


async def test_transport_failure_is_9002(tmp_path: Path) -> None:
    """UpnpError 0 (no UPnP answer: refused, reset) → 9002, the device being unreachable."""
    assert (await run(tmp_path, "SetParameterValues", 0)).fault.fault_code == 9002


async def test_fault_string_names_the_upnp_error_once(tmp_path: Path) -> None:
    """Issue 11: the FaultString reads "GetValues: UPnP error 703: injected", not
    "UPnP UPnP error"."""
    fault = (await run(tmp_path, "GetParameterValues", 703)).fault
    assert fault.fault_string.endswith("UPnP error 703: injected")
    assert "UPnP UPnP" not in fault.fault_string
