"""TR-330 §4.5 diagnostics against a lab device over loopback (SOAP + GENA): the Device:2
IPPing / TraceRoute / NSLookupDiagnostics objects, the DiagnosticsState rules of the
reference (cwmp-proxy.md §3.5), Figure 6 and Table 1 row 8 ("8 DIAGNOSTICS COMPLETE")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from proxier.cwmp.rpc import CwmpFaultError, ParameterValueStruct
from proxier.translate.diagnostics import Diagnostics, parse_hops, parse_nslookup

from .labnet import Rig, lab_rig

PING = "Device.IP.Diagnostics.IPPing."
TRACE = "Device.IP.Diagnostics.TraceRoute."
NSL = "Device.DNS.Diagnostics.NSLookupDiagnostics."


@dataclass
class Setup:
    rig: Rig
    diag: Diagnostics
    completed: asyncio.Queue[None]

    def value(self, name: str) -> str:
        (v,) = self.diag.values([name])
        return v.value

    def spv(self, **values: str) -> None:
        self.diag.set_values([ParameterValueStruct(k, v) for k, v in values.items()])

    async def done(self) -> None:
        await asyncio.wait_for(self.completed.get(), 10)


def spv_list(prefix: str, **values: str) -> list[ParameterValueStruct]:
    return [ParameterValueStruct(prefix + k, v) for k, v in values.items()]


@pytest.fixture
def make() -> Callable[..., Any]:
    """`async with make(**faults, **diag_kwargs) as s` builds a Setup."""
    import contextlib

    @contextlib.asynccontextmanager
    async def factory(
        *, services: tuple[str, ...] = ("BMS",), diag: dict[str, Any] | None = None, **faults: Any
    ) -> AsyncIterator[Setup]:
        async with lab_rig(services=services, **faults) as rig:
            completed: asyncio.Queue[None] = asyncio.Queue()
            d = Diagnostics(
                rig.device,
                on_complete=lambda: completed.put_nowait(None),
                timeout=5,
                **(diag or {}),
            )
            rig.sinks.append(d.handle_event)
            try:
                yield Setup(rig, d, completed)
            finally:
                await d.close()

    return factory


async def started(s: Setup) -> None:
    """Wait for the BMS event announcing a test in ActiveTestIDs (the lab started it)."""
    await s.rig.event(lambda e: e.service == "BMS" and bool(e.variables.get("ActiveTestIDs")))


def set_spv(s: Setup, prefix: str, **values: str) -> None:
    s.diag.set_values(spv_list(prefix, **values))


# --- the objects (TR-330 §4.3.2.1) ---------------------------------------------------------


async def test_objects_follow_the_supported_bms_actions(make: Any) -> None:
    """TR-330 §4.3.2.1: an object exists only when its BMS actions are all supported."""
    async with make() as s:
        assert s.diag.objects == [PING, TRACE, NSL]
        bms = s.rig.device.bms
        assert bms is not None
        bms.actions = frozenset(bms.actions or ()) - {"Traceroute"}
        reduced = Diagnostics(s.rig.device, on_complete=lambda: None)
        assert reduced.objects == [PING, NSL]
        assert reduced.names("Device.IP.Diagnostics.", True) == [
            n for n in s.diag.names("Device.IP.Diagnostics.", True) if n.name != TRACE
        ]
        bms.actions = frozenset(bms.actions) - {"GetActiveTestIDs"}
        assert Diagnostics(s.rig.device, on_complete=lambda: None).objects == []


async def test_names_next_level_cases(make: Any) -> None:
    """TR-069 A.3.2.3 NextLevel on the proxier-held objects (TR-330 §4.3.2.1 / Figure 7)."""
    async with make() as s:
        d = s.diag
        top = [(n.name, n.writable) for n in d.names("Device.IP.Diagnostics.", True)]
        assert top == [(PING, False), (TRACE, False)]
        ping = {n.name: n.writable for n in d.names(PING, False)}
        assert ping[PING] is False
        assert ping[PING + "DiagnosticsState"] is True
        assert ping[PING + "Host"] is True
        assert ping[PING + "SuccessCount"] is False
        whole = [n.name for n in d.names("Device.", False)]
        assert "Device.IP." in whole and "Device.DNS.Diagnostics." in whole
        assert whole.index("Device.IP.") < whole.index(PING) < whole.index(PING + "Host")
        assert [n.name for n in d.names(PING + "Host", False)] == [PING + "Host"]
        with pytest.raises(CwmpFaultError) as exc:
            d.names(PING + "Host", True)
        assert exc.value.fault.fault_code == 9003
        assert d.names("Device.Hosts.", False) == []
        assert d.owns(PING + "Host") and not d.owns("Device.IP.")


async def test_values_before_any_test(make: Any) -> None:
    """Reference §3.5: before any run DiagnosticsState is None; defaults per TR-181."""
    async with make() as s:
        got = {v.name: (v.value, v.type) for v in s.diag.values([TRACE])}
        assert got[TRACE + "DiagnosticsState"] == ("None", "xsd:string")
        assert got[TRACE + "MaxHopCount"] == ("30", "xsd:unsignedInt")
        assert got[TRACE + "RouteHopsNumberOfEntries"] == ("0", "xsd:unsignedInt")


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        (PING + "DiagnosticsState", "Complete", 9007),
        (PING + "DiagnosticsState", "None", 9007),
        (PING + "DSCP", "64", 9007),
        (PING + "DataBlockSize", "0", 9007),
        (PING + "NumberOfRepetitions", "-1", 9007),
        (PING + "NumberOfRepetitions", "many", 9007),
        (TRACE + "NumberOfTries", "4", 9007),
        (TRACE + "MaxHopCount", "65", 9007),
        (PING + "Interface", "Device.IP.Interface.1", 9007),
        (PING + "Host", "h" * 257, 9007),
        (PING + "SuccessCount", "3", 9008),
        (TRACE + "RouteHopsNumberOfEntries", "1", 9008),
        (PING + "NoSuchThing", "1", 9005),
    ],
)
async def test_invalid_writes_are_refused_and_change_nothing(
    make: Any, name: str, value: str, code: int
) -> None:
    """TR-069 A.3.2.1 / reference §3.5: 9003 with one SetParameterValuesFault per bad
    parameter; the whole SPV is refused (the valid Host is not written)."""
    async with make() as s:
        with pytest.raises(CwmpFaultError) as exc:
            s.diag.set_values(
                [
                    ParameterValueStruct(PING + "Host", "127.0.0.1"),
                    ParameterValueStruct(name, value),
                ]
            )
        f = exc.value.fault
        assert f.fault_code == 9003
        assert [(d.parameter_name, d.fault_code) for d in f.set_parameter_values_fault] == [
            (name, code)
        ]
        assert s.value(PING + "Host") == ""


# --- running tests (Figure 6, Table 1 row 8) ------------------------------------------------


async def test_ping_runs_after_the_session_and_reports_complete(make: Any) -> None:
    """TR-330 §4.5.1 Figure 6 + Table 1 row 8: recorded in the SPV, started only after the
    session (start_pending), finished by the ActiveTestIDs event, results from GetPingResult,
    then "8 DIAGNOSTICS COMPLETE" (on_complete)."""
    async with make() as s:
        set_spv(s, PING, Host="127.0.0.1", NumberOfRepetitions="3", DiagnosticsState="Requested")
        assert s.value(PING + "DiagnosticsState") == "Requested"
        assert s.rig.lab_device.bms.tests == {}  # nothing runs during the session
        await s.diag.start_pending()
        await s.done()
        got = {v.name.removeprefix(PING): v.value for v in s.diag.values([PING])}
        assert got["DiagnosticsState"] == "Complete"
        assert (got["SuccessCount"], got["FailureCount"]) == ("3", "0")
        assert got["AverageResponseTime"] == got["MinimumResponseTime"] == "1"
        (test,) = s.rig.lab_device.bms.tests.values()
        assert test.type == "Ping" and test.args["NumberOfRepetitions"] == "3"
        assert test.args["DataBlockSize"] == "64" and test.args["Timeout"] == "1000"
        assert s.completed.empty()


async def test_ping_error_status_maps_to_diagnostics_state(make: Any) -> None:
    """Reference §3.5: GetPingResult Status Error_CannotResolveHostName maps 1:1."""
    async with make() as s:
        set_spv(s, PING, Host="no-such-host.invalid", DiagnosticsState="Requested")
        await s.diag.start_pending()
        await s.done()
        assert s.value(PING + "DiagnosticsState") == "Error_CannotResolveHostName"
        assert s.value(PING + "SuccessCount") == "0"


async def test_traceroute_hops_become_route_hops(make: Any) -> None:
    """Reference §3.5 TraceRoute: Success → Complete, HopHosts → RouteHops.{i}."""
    async with make() as s:
        set_spv(s, TRACE, Host="127.0.0.1", DiagnosticsState="Requested")
        await s.diag.start_pending()
        await s.done()
        got = {v.name.removeprefix(TRACE): v.value for v in s.diag.values([TRACE])}
        assert got["DiagnosticsState"] == "Complete"
        assert got["ResponseTime"] == "1"
        assert got["RouteHopsNumberOfEntries"] == "1"
        assert got["RouteHops.1.Host"] == "127.0.0.1"
        assert got["RouteHops.1.HostAddress"] == "127.0.0.1"
        names = [n.name for n in s.diag.names(TRACE + "RouteHops.", True)]
        assert names == [TRACE + "RouteHops.1."]


async def test_traceroute_max_hop_count_exceeded(make: Any) -> None:
    """Reference §3.5: Error_MaxHopCountExceeded maps 1:1; every unanswered hop is a row
    (the lab simulates it; nothing leaves loopback)."""
    async with make() as s:
        set_spv(s, TRACE, Host="192.0.2.1", MaxHopCount="3", DiagnosticsState="Requested")
        await s.diag.start_pending()
        await s.done()
        assert s.value(TRACE + "DiagnosticsState") == "Error_MaxHopCountExceeded"
        assert s.rig.lab_device.bms.tests[1].args["MaxHopCount"] == "3"
        assert s.value(TRACE + "RouteHopsNumberOfEntries") == "3"
        assert s.value(TRACE + "RouteHops.3.Host") == ""


async def test_nslookup_results_and_server_error(make: Any) -> None:
    """Reference §3.5 NSLookupDiagnostics: one Result row per repetition; a DNS server that
    cannot be reached is Error_DNSServerNotResolved."""
    async with make() as s:
        set_spv(s, NSL, HostName="localhost", NumberOfRepetitions="2", DiagnosticsState="Requested")
        await s.diag.start_pending()
        await s.done()
        got = {v.name.removeprefix(NSL): v.value for v in s.diag.values([NSL])}
        assert got["DiagnosticsState"] == "Complete"
        assert (got["SuccessCount"], got["ResultNumberOfEntries"]) == ("2", "2")
        assert got["Result.2.Status"] == "Success"
        assert got["Result.2.AnswerType"] == "Authoritative"
        assert got["Result.2.IPAddresses"] == "127.0.0.1"
        set_spv(s, NSL, DNSServer="192.0.2.53", DiagnosticsState="Requested")
        assert s.value(NSL + "ResultNumberOfEntries") == "0"  # cleared by the new request
        await s.diag.start_pending()
        await s.done()
        assert s.value(NSL + "DiagnosticsState") == "Error_DNSServerNotResolved"


async def test_nslookup_with_every_attempt_failing_is_error_other(make: Any) -> None:
    """Reference §3.5: "If every attempt fails, DiagnosticsState should be Error_Other"."""
    async with make() as s:
        set_spv(s, NSL, HostName="nothing.invalid", DiagnosticsState="Requested")
        await s.diag.start_pending()
        await s.done()
        assert s.value(NSL + "DiagnosticsState") == "Error_Other"
        assert s.value(NSL + "Result.1.Status") == "Error_HostNameNotResolved"


async def test_polling_fallback_without_events(make: Any) -> None:
    """Table 1 row 8: "or may poll using the UPnP BMS::GetActiveTestIDs() action"."""
    async with make(services=(), diag={"poll_interval": 0.05}) as s:
        set_spv(s, PING, Host="127.0.0.1", DiagnosticsState="Requested")
        await s.diag.start_pending()
        await s.done()
        assert s.value(PING + "DiagnosticsState") == "Complete"
        assert not [e for e in s.rig.seen if e.service == "BMS"]


async def test_refused_start_is_error_other_with_event(make: Any) -> None:
    """Figure 6: the service request fails → DiagnosticsState Error_Other and the event."""
    async with make(errors={"Ping": [501, "broken"]}) as s:
        set_spv(s, PING, Host="127.0.0.1", DiagnosticsState="Requested")
        await s.diag.start_pending()
        await s.done()
        assert s.value(PING + "DiagnosticsState") == "Error_Other"


async def test_test_outliving_its_timer_is_cancelled(make: Any) -> None:
    """Figure 6 notes: retries are limited; when hit, DiagnosticsState = Error_Other (the
    device test is cancelled)."""
    diag = {"timer_slack": 0.05, "poll_interval": 0.05, "max_retries": 1}
    async with make(test_duration=30.0, diag=diag) as s:
        set_spv(s, PING, Host="127.0.0.1", Timeout="1", DiagnosticsState="Requested")
        await s.diag.start_pending()
        await s.done()
        assert s.value(PING + "DiagnosticsState") == "Error_Other"
        assert s.rig.lab_device.bms.tests[1].state == "Canceled"


async def test_canceled_stops_the_test_without_event(make: Any) -> None:
    """Reference §3.5: Canceled stops the test and sets None; no DIAGNOSTICS COMPLETE."""
    async with make(test_duration=30.0) as s:
        set_spv(s, PING, Host="127.0.0.1", DiagnosticsState="Requested")
        await s.diag.start_pending()
        lab = s.rig.lab_device.bms
        await started(s)
        set_spv(s, PING, DiagnosticsState="Canceled")
        assert s.value(PING + "DiagnosticsState") == "None"
        await s.diag.start_pending()
        await s.diag.wait_idle()
        assert lab.tests[1].state == "Canceled"
        assert s.completed.empty()


async def test_input_write_during_a_run_stops_it(make: Any) -> None:
    """Reference §3.5: writing any other input sets None and stops a running test."""
    async with make(test_duration=30.0) as s:
        set_spv(s, PING, Host="127.0.0.1", DiagnosticsState="Requested")
        await s.diag.start_pending()
        lab = s.rig.lab_device.bms
        await started(s)
        set_spv(s, PING, NumberOfRepetitions="2")
        assert s.value(PING + "DiagnosticsState") == "None"
        await s.diag.start_pending()
        await s.diag.wait_idle()
        assert lab.tests[1].state == "Canceled"
        assert len(lab.tests) == 1
        assert s.completed.empty()


async def test_requested_during_a_run_restarts_it(make: Any) -> None:
    """Reference §3.5: Requested during a run restarts the test (old one stopped)."""
    async with make(test_duration=30.0) as s:
        set_spv(s, PING, Host="127.0.0.1", DiagnosticsState="Requested")
        await s.diag.start_pending()
        lab = s.rig.lab_device.bms
        await started(s)
        s.rig.lab_device.faults.test_duration = 0.01
        set_spv(s, PING, NumberOfRepetitions="2", DiagnosticsState="Requested")
        assert s.value(PING + "DiagnosticsState") == "Requested"
        await s.diag.start_pending()
        await s.done()
        assert lab.tests[1].state == "Canceled"
        assert lab.tests[2].args["NumberOfRepetitions"] == "2"
        assert s.value(PING + "SuccessCount") == "2"
        assert s.completed.empty()


async def test_canceled_is_refused_without_cancel_test(make: Any) -> None:
    """Reference §3.5: "If Canceled is not supported, the SPV fails with 9007"."""
    async with make() as s:
        bms = s.rig.device.bms
        assert bms is not None
        bms.actions = frozenset(bms.actions or ()) - {"CancelTest"}
        d = Diagnostics(s.rig.device, on_complete=lambda: None)
        with pytest.raises(CwmpFaultError) as exc:
            d.set_values(spv_list(PING, DiagnosticsState="Canceled"))
        (detail,) = exc.value.fault.set_parameter_values_fault
        assert detail.fault_code == 9007


# --- result formats (UNCONFIRMED in the reference; PROJECT CHOICE parsers) -------------------


def test_nslookup_result_formats() -> None:
    """Reference §3.5: BMS Result schema UNCONFIRMED; the lab's lines and an XML shape."""
    lines = "Success,NonAuthoritative,a.example,192.0.2.1,192.0.2.2,192.0.2.53,7\n"
    (row,) = parse_nslookup(lines)
    assert row["IPAddresses"] == "192.0.2.1,192.0.2.2"
    assert (row["DNSServerIP"], row["ResponseTime"]) == ("192.0.2.53", "7")
    xml = (
        "<Results><Result><Status>Error_Timeout</Status><AnswerType>Bogus</AnswerType>"
        "<ResponseTime>x</ResponseTime></Result></Results>"
    )
    (row,) = parse_nslookup(xml)
    assert (row["Status"], row["AnswerType"], row["ResponseTime"]) == ("Error_Timeout", "None", "0")
    assert parse_nslookup("<broken") == []


def test_hop_list_format() -> None:
    """Reference §3.5 RouteHops: HopHosts format UNCONFIRMED (comma/space separated)."""
    rows = parse_hops("gw.example, 192.0.2.1 *")
    assert [(r["Host"], r["HostAddress"]) for r in rows] == [
        ("gw.example", ""),
        ("192.0.2.1", "192.0.2.1"),
        ("", ""),
    ]
