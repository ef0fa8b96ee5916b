"""Simulated BMS diagnostics (rules in proxier/lab/bms.py; reference upnp-dm.md §3.2)."""

from __future__ import annotations

import pytest

from proxier.lab.bms import BmsCore, DiagTest, simulate
from proxier.upnp.device import UpnpError


def test_simulation_rules() -> None:
    ping = {"NumberOfRepetitions": "4", "Timeout": "1", "DataBlockSize": "1", "DSCP": "0"}
    assert simulate(DiagTest(1, "Ping", {**ping, "Host": "localhost"}))["SuccessCount"] == "4"
    lost = simulate(DiagTest(1, "Ping", {**ping, "Host": "192.0.2.1"}))
    assert (lost["Status"], lost["FailureCount"]) == ("Success", "4")
    assert simulate(DiagTest(1, "Ping", {**ping, "Host": "nowhere.example"}))["Status"] == (
        "Error_CannotResolveHostName"
    )
    ns = simulate(
        DiagTest(
            1, "NSLookup", {"HostName": "localhost", "DNSServer": "", "NumberOfRepetitions": "2"}
        )
    )
    assert ns["SuccessCount"] == "2" and ns["Result"].count("127.0.0.1") == 4
    bad_dns = {"HostName": "localhost", "DNSServer": "192.0.2.53", "NumberOfRepetitions": "1"}
    assert simulate(DiagTest(1, "NSLookup", bad_dns))["Status"] == "Error_DNSServerNotResolved"
    hops = simulate(DiagTest(1, "Traceroute", {"Host": "192.0.2.1", "MaxHopCount": "3"}))
    assert (hops["Status"], hops["HopHosts"]) == ("Error_MaxHopCountExceeded", "*,*,*")
    assert simulate(DiagTest(1, "Traceroute", {"Host": "127.0.0.1"}))["HopHosts"] == "127.0.0.1"


def test_sequence_mode_runs_one_test_at_a_time() -> None:
    published: list[dict[str, str]] = []
    core = BmsCore(published.append)
    core.set_sequence_mode(True)
    a = core.start("SelfTest", {})
    b = core.start("SelfTest", {})
    assert core.may_begin(a) and not core.may_begin(b)
    core.begin(a)
    core.finish(a)
    assert core.may_begin(b)
    assert core.result(a.test_id, "SelfTest")["Status"] == "1"
    with pytest.raises(UpnpError) as exc:
        core.result(b.test_id, "SelfTest")
    assert exc.value.code == 600
    assert published[-1] == {"ActiveTestIDs": str(b.test_id)}


def test_test_ids_list_is_bounded() -> None:
    core = BmsCore()
    for _ in range(50):
        test = core.start("SelfTest", {})
        core.finish(test)
    assert len(core.tests) <= 33
