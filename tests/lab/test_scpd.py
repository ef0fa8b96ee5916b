"""Service tables: SOAP argument checks (UDA §3.2.2) and the SCPD documents (UDA §2.5)."""

from __future__ import annotations

import pytest
from lxml import etree

from proxier.lab.scpd import BMS, CMS, SERVICES, SMS, build_scpd, check_arguments
from proxier.upnp.device import UpnpError


def test_arguments_are_checked_against_state_variables() -> None:
    ping = BMS.action("Ping")
    assert ping is not None
    good = {
        "Host": "h",
        "NumberOfRepetitions": "+3",
        "Timeout": "10",
        "DataBlockSize": "1",
        "DSCP": "63",
    }
    assert check_arguments(BMS, ping, good)["NumberOfRepetitions"] == "3"
    for bad, code in (
        ({"DSCP": "64"}, 601),
        ({"DataBlockSize": "70000"}, 601),
        ({"Timeout": "x"}, 600),
        # issue 12 item 1: non-ASCII digits and huge numbers are a UPnP error, not a crash
        ({"Timeout": "²"}, 600),
        ({"Timeout": "١٢"}, 600),
        ({"Timeout": "9" * 5000}, 601),
    ):
        with pytest.raises(UpnpError) as exc:
            check_arguments(BMS, ping, {**good, **bad})
        assert exc.value.code == code
    with pytest.raises(UpnpError) as exc:
        check_arguments(BMS, ping, {"Host": "h"})
    assert exc.value.code == 402
    install = SMS.action("Install")
    assert install is not None
    with pytest.raises(UpnpError) as exc:
        check_arguments(SMS, install, {"DUURI": "u", "DUType": "Game", "HandleDependencies": "0"})
    assert exc.value.code == 600
    assert (
        check_arguments(
            SMS, install, {"DUURI": "u", "DUType": "Firmware", "HandleDependencies": "true"}
        )["HandleDependencies"]
        == "1"
    )


def test_every_argument_names_a_declared_state_variable() -> None:
    for service in SERVICES:
        names = {v.name for v in service.variables}
        for action in service.actions:
            for _, related in (*action.ins, *action.outs):
                assert related in names, (service.short, action.name, related)
        scpd = etree.fromstring(build_scpd(service))
        assert len(scpd.findall(".//{*}action")) == len(service.actions)
    assert CMS.evented == (
        "ConfigurationUpdate",
        "SupportedDataModelsUpdate",
        "SupportedParametersUpdate",
        "AttributeValuesUpdate",
        "InconsistentStatus",
        "AlarmsEnabled",
    )
