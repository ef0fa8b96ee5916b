"""The mapping tables against TR-330, row by row, with expectations written out by hand."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from proxier.translate.tables import (
    TABLE2_RPCS,
    MappingError,
    default_tables,
    load_tables,
    mappings_dir,
)

# TR-330 §4.6.9 Table 2, typed in from the guideline text (code or range, CWMP fault).
TABLE2 = [
    ("401", 9001),
    ("402", 9003),
    ("403", 9001),  # "(Do Not Use) --": the table note's default
    ("501", 9001),
    ("600", 9003),
    ("601", 9003),
    ("602", 9001),
    ("603", 9004),
    ("604", 9001),
    ("606", 9002),
    ("605", 9003),
    ("606-612", 9001),
    ("613-699", 9001),
    ("701", 9003),
    ("702", 9003),
    ("703", 9005),
    ("704", 9006),
    ("705", 9007),
    ("706", 9008),
    ("708", 9004),
    ("709", 9004),
    ("800-899", 9001),
]

# One probe code per row (the low and high end of ranges; 606 itself is the single row).
TABLE2_PROBES = [
    (401, 9001),
    (402, 9003),
    (403, 9001),
    (501, 9001),
    (600, 9003),
    (601, 9003),
    (602, 9001),
    (603, 9004),
    (604, 9001),
    (605, 9003),
    (606, 9002),
    (607, 9001),
    (612, 9001),
    (613, 9001),
    (699, 9001),
    (701, 9003),
    (702, 9003),
    (703, 9005),
    (704, 9006),
    (705, 9007),
    (706, 9008),
    (708, 9004),
    (709, 9004),
    (800, 9001),
    (899, 9001),
]


def test_table2_file_matches_the_guideline_rows() -> None:
    """TR-330 Table 2: the mapping file has exactly the guideline's rows, in order."""
    rows = default_tables().errors.rows
    got = [(f"{r.low}" if r.low == r.high else f"{r.low}-{r.high}", r.cwmp) for r in rows]
    assert got == TABLE2


@pytest.mark.parametrize(("upnp", "cwmp"), TABLE2_PROBES)
def test_table2_code_maps_for_setparametervalues(upnp: int, cwmp: int) -> None:
    """TR-330 Table 2: each UDA/CMS code gives its CWMP fault (SetParameterValues)."""
    errors = default_tables().errors
    assert errors.table2(upnp) == cwmp
    assert errors.cwmp_fault(upnp, "SetParameterValues") == cwmp


@pytest.mark.parametrize("upnp", [400, 404, 502, 700, 707, 710, 799, 900, 999])
def test_unknown_upnp_codes_are_request_denied(upnp: int) -> None:
    """TR-330 Table 2 note: UPnP errors not in the table → 9001."""
    assert default_tables().errors.cwmp_fault(upnp, "SetParameterValues") == 9001


def test_transport_failure_is_internal_error() -> None:
    """No UPnP answer at all (code 0) → 9002 (project choice documented in the file)."""
    assert default_tables().errors.cwmp_fault(0, "GetParameterValues") == 9002


@pytest.mark.parametrize("rpc", TABLE2_RPCS)
def test_every_row_stays_inside_the_rpc_fault_list(rpc: str) -> None:
    """TR-069 Annex A.3.2: each method only returns its own fault codes."""
    errors = default_tables().errors
    for upnp, _ in TABLE2_PROBES:
        assert errors.cwmp_fault(upnp, rpc) in errors.allowed[rpc]


def test_per_rpc_adjustments() -> None:
    """Table 2 codes that only exist for SetParameterValues are replaced for other methods."""
    errors = default_tables().errors
    assert errors.cwmp_fault(706, "SetParameterAttributes") == 9009
    assert errors.cwmp_fault(706, "AddObject") == 9001
    assert errors.cwmp_fault(705, "AddObject") == 9003
    assert errors.cwmp_fault(703, "DeleteObject") == 9005
    assert errors.cwmp_fault(708, "GetParameterNames") == 9002
    assert errors.cwmp_fault(708, "GetParameterValues") == 9004


# TR-330 §4.7.1.2 Table 3, typed in from the guideline text.
TABLE3_UPDATE = {701: 9001, 702: 9001, 704: 9001, 705: 9001, 710: 9001}
TABLE3_OPERATION = {
    "Error_None": 0,
    "Error_ConcurrentAccess": 9001,
    "Error_MissingDependency": 9001,
    "Error_Network": 9015,
    "Error_CorruptedFile": 9018,
    "Error_DiskFull": 9027,
    "Error_Other": 9001,
}


def test_table3_rows() -> None:
    """TR-330 Table 3: SMS::Update errors and ErrorDescription values → FaultCode."""
    fw = default_tables().firmware
    for code, fault in TABLE3_UPDATE.items():
        assert fw.update_fault(code) == fault
    for name, fault in TABLE3_OPERATION.items():
        assert fw.operation_fault(name) == fault
    assert fw.operation_fault("Error_SomethingNew") == 9001
    assert fw.update_fault(0) == 9002


# reference upnp-dm.md §2.9, typed in.
TYPES = {
    "string": "xsd:string",
    "uri": "xsd:string",
    "uuid": "xsd:string",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "i4": "xsd:int",
    "unsignedInt": "xsd:unsignedInt",
    "ui4": "xsd:unsignedInt",
    "ui2": "xsd:unsignedInt",
    "long": "xsd:long",
    "i8": "xsd:long",
    "unsignedLong": "xsd:unsignedLong",
    "ui8": "xsd:unsignedLong",
    "dateTime": "xsd:dateTime",
    "dateTime.tz": "xsd:dateTime",
    "base64": "xsd:base64",
    "bin.base64": "xsd:base64",
    "hexBinary": "xsd:hexBinary",
    "bin.hex": "xsd:hexBinary",
}


@pytest.mark.parametrize(("cms", "xsd"), sorted(TYPES.items()))
def test_cms_type_to_xsi_type(cms: str, xsd: str) -> None:
    """reference upnp-dm.md §2.9: CMS Type attribute → xsi:type."""
    assert default_tables().types.xsd(cms) == xsd


def test_types_reverse_and_objects() -> None:
    types = default_tables().types
    assert types.xsd_to_cms["xsd:unsignedInt"] == "unsignedInt"
    assert types.xsd(None) == "xsd:string"
    assert types.xsd("somethingNew") == "xsd:string"
    assert types.is_object("MultiInstance") and not types.is_object("string")


def test_table1_rows() -> None:
    """TR-330 Table 1: every CWMP event of the table has a row (plus issue 4's 1 BOOT)."""
    rows = {(r.event, r.on, r.when) for r in default_tables().events.rows}
    assert ("0 BOOTSTRAP", "ssdp:alive", ("first_discovery",)) in rows
    assert ("0 BOOTSTRAP", "ssdp:alive", ("announced:AboutToBaselineReset",)) in rows
    assert ("0 BOOTSTRAP", "acs_url_changed", ("always",)) in rows
    assert ("M Reboot", "ssdp:alive", ("acs_reboot",)) in rows
    assert ("4 VALUE CHANGE", "CMS:ConfigurationUpdate", ("always",)) in rows
    assert ("8 DIAGNOSTICS COMPLETE", "BMS:ActiveTestIDs", ("acs_test_finished",)) in rows
    events = {r.event for r in default_tables().events.rows}
    assert events >= {"7 TRANSFER COMPLETE", "10 AUTONOMOUS TRANSFER COMPLETE", "1 BOOT"}


def test_diagnostics_objects() -> None:
    """TR-330 §4.3.2: IPPing, TraceRoute and NSLookup objects backed by BMS."""
    diags = {d.name: d for d in default_tables().diagnostics}
    assert set(diags) == {
        "Device.IP.Diagnostics.IPPing.",
        "Device.IP.Diagnostics.TraceRoute.",
        "Device.DNS.Diagnostics.NSLookupDiagnostics.",
    }
    ping = diags["Device.IP.Diagnostics.IPPing."]
    assert ping.start == "Ping" and ping.result == "GetPingResult"
    by_name = {p.name: p for p in ping.parameters}
    assert by_name["Host"].argument == "Host" and by_name["Host"].writable
    assert by_name["SuccessCount"].result == "SuccessCount" and not by_name["SuccessCount"].writable


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(mappings_dir(), target)
    return target


def test_bad_row_is_named(tmp_path: Path) -> None:
    """A broken table fails at load with the file and the row in the message."""
    d = _copy(tmp_path)
    f = d / "table2_errors.toml"
    f.write_text(f.read_text().replace('upnp = "705"', 'upnp = "7x5"'))
    with pytest.raises(MappingError, match=r"table2_errors.toml: \[\[error\]\] row 18"):
        load_tables(d)


def test_fault_outside_rpc_list_is_refused(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    f = d / "table2_errors.toml"
    f.write_text(f.read_text().replace("upnp = [706]\ncwmp = 9009", "upnp = [999]\ncwmp = 9009"))
    with pytest.raises(MappingError, match="not allowed for SetParameterAttributes"):
        load_tables(d)


def test_unknown_event_code_and_missing_file(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    f = d / "table1_events.toml"
    f.write_text(f.read_text().replace('event = "1 BOOT"', 'event = "1 BOOTED"', 1))
    with pytest.raises(MappingError, match=r"table1_events.toml: \[\[row\]\] row 2"):
        load_tables(d)
    (d / "types.toml").unlink()
    with pytest.raises(MappingError, match="not found"):
        load_tables(d)


def test_bad_types_row(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    f = d / "types.toml"
    f.write_text(f.read_text().replace('xsd = "xsd:long"', 'xsd = "xsd:longer"'))
    with pytest.raises(MappingError, match=r"types.toml: \[\[type\]\] row 5"):
        load_tables(d)
