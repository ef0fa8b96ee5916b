"""TR-330 §4.6.9 Table 2 end to end: lab ACS ⇄ proxier ⇄ lab DM device, every row.

For each row of `mappings/table2_errors.toml` (a new row is tested without touching this
file) the lab device's fault knob makes the CMS action behind each CWMP RPC answer the row's
UPnP error; the test then reads what the lab ACS recorded for the RPC: the CWMP fault code
and, for SetParameterValues, the per-parameter SetParameterValuesFault (TR-069 A.3.2.1).

One lab, one ACS and one proxier serve the whole module. The RPCs of one row run in two
sessions (the RPCs whose CMS actions differ in one, GetParameterAttributes in the other,
because SetParameterAttributes reads the attributes before it writes them); each virtual
device accepts only so many Connection Requests a minute (TR-069 §3.2.2), so rows are spread
over several lab devices.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from proxier.translate.tables import ErrorRow, default_tables
from tests.virtual.rig import Rig, rig

pytestmark = pytest.mark.asyncio(loop_scope="module")

ERRORS = default_tables().errors
PARAM = "Device.Time.Enable"  # /BBF/Time/Enable, a writable boolean of the lab model


def _probe(row: ErrorRow) -> int:
    """A code that this row (not a single-code row inside its range) decides."""
    singles = {r.low for r in ERRORS.rows if r.low == r.high}
    if row.low == row.high:
        return row.low
    return next(c for c in range(row.low, row.high + 1) if c not in singles)


#: UDA error codes are 401-899; a SOAP fault with another errorCode is a broken answer,
#: which the mapping file's `transport` code answers, like no answer at all.
UDA_CODES = range(401, 900)

#: (UPnP code, label): every Table 2 row, then codes the table does not list (its note:
#: "For UPnP errors not specified or discussed in this document … return 9001"), then one
#: that is no UDA error code.
CASES: list[tuple[int, str]] = [
    *((_probe(r), f"row {r.low}-{r.high} {r.description}") for r in ERRORS.rows),
    *((code, "not in Table 2") for code in (707, 710, 799)),
    (999, "not a UDA error code"),
]

#: RPC → (CMS action made to fail, the task). Session A runs these together.
SESSION_A: dict[str, tuple[str, dict[str, Any]]] = {
    "GetParameterNames": (
        "GetSupportedParameters",
        {"name": "GetParameterNames", "parameterPath": "Device.Hosts.", "nextLevel": True},
    ),
    "GetParameterValues": (
        "GetValues",
        {"name": "GetParameterValues", "parameterNames": [PARAM]},
    ),
    "SetParameterValues": (
        "SetValues",
        {
            "name": "SetParameterValues",
            "parameterList": [[PARAM, "0", "xsd:boolean"]],
            "parameterKey": "t2",
        },
    ),
    "SetParameterAttributes": (
        "SetAttributes",
        {
            "name": "SetParameterAttributes",
            "parameterList": [
                {
                    "name": PARAM,
                    "notificationChange": True,
                    "notification": 1,
                    "accessListChange": False,
                    "accessList": [],
                }
            ],
        },
    ),
    "AddObject": (
        "CreateInstance",
        {"name": "AddObject", "objectName": "Device.NAT.PortMapping.", "parameterKey": "t2"},
    ),
    "DeleteObject": (
        "DeleteInstance",
        {"name": "DeleteObject", "objectName": "Device.NAT.PortMapping.1.", "parameterKey": "t2"},
    ),
}
SESSION_B: dict[str, tuple[str, dict[str, Any]]] = {
    "GetParameterAttributes": (
        "GetAttributes",
        {"name": "GetParameterAttributes", "parameterNames": [PARAM]},
    ),
}

#: Connection Requests one virtual device accepts per minute (proxier.cwmp.engine default 10),
#: with one to spare; each case uses two.
CASES_PER_DEVICE = 4
DEVICES = math.ceil(len(CASES) / CASES_PER_DEVICE)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lab(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Rig, list[str]]]:
    async with rig(tmp_path_factory.mktemp("table2"), devices=DEVICES) as r:
        await r.start_proxier()
        found = await r.devices(DEVICES)
        ids = sorted(d["id"] for d in found)
        for dev_id in ids:  # the first Inform of each (BOOTSTRAP) is in before any CR
            await r.informs(dev_id)
        yield r, ids


async def _run(
    r: Rig, dev_id: str, code: int, rpcs: dict[str, tuple[str, dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    faults = r.lab_device(dev_id).faults
    faults.errors = {action: (code, f"injected {code}") for action, _ in rpcs.values()}
    try:
        results = await r.session(dev_id, [task for _, task in rpcs.values()])
    finally:
        faults.errors = {}
    return dict(zip(rpcs, results, strict=True))


@pytest.mark.parametrize(("code", "label"), CASES, ids=[f"upnp-{c}" for c, _ in CASES])
async def test_table2_row_through_the_acs(
    lab: tuple[Rig, list[str]], code: int, label: str
) -> None:
    """TR-330 §4.6.9 Table 2 (+ TR-069 Annex A per-method fault lists, as the mapping file
    adjusts them): the lab ACS records, for every CMS-backed RPC, the CWMP fault the row
    gives; for SetParameterValues 9005–9008 come as 9003 with the parameter's own fault
    (TR-069 A.3.2.1)."""
    r, ids = lab
    dev_id = ids[CASES.index((code, label)) // CASES_PER_DEVICE]
    seen = {
        **await _run(r, dev_id, code, SESSION_A),
        **await _run(r, dev_id, code, SESSION_B),
    }
    problems = []
    for rpc, task in seen.items():
        want = ERRORS.cwmp_fault(code if code in UDA_CODES else 0, rpc)
        result = task["result"] or {}
        if task["status"] != "fault":
            problems.append(f"{rpc}: no fault, ACS recorded {task['status']} {result}")
            continue
        got = result["faultCode"]
        details = [(d["parameterName"], d["faultCode"]) for d in result["setParameterValuesFault"]]
        if rpc == "SetParameterValues" and want in (9005, 9006, 9007, 9008):
            if (got, details) != (9003, [(PARAM, want)]):
                problems.append(f"{rpc}: want 9003 with [{PARAM}: {want}], got {got} {details}")
        elif got != want or details:
            problems.append(f"{rpc}: want {want}, got {got} {details}")
    assert not problems, f"UPnP {code} ({label}):\n  " + "\n  ".join(problems)
