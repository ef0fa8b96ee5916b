"""The lab server over real loopback HTTP: descriptions, SOAP control, GENA, life cycle.

Spec clauses: UDA 1.1 §2 (descriptions), §3.2 (SOAP, UPnPError faults 401/402/600), §4
(GENA: SID uuid:, TIMEOUT Second-N, initial event, SEQ, renew, 412); CVE-2020-12695
(CallStranger); reference upnp-dm.md §2–§4; TR-330 Table 1 (ConfigurationUpdate,
AboutToReboot/AboutToBaselineReset), §4.7.1 (firmware on DUID 0, Figure 8).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from lxml import etree

from proxier.lab.scpd import DEVICE_TYPE
from proxier.lab.server import LabServer
from proxier.upnp import cms_xml
from proxier.upnp.device import ParameterValue, UpnpError

from .helpers import CallbackServer, SsdpRecorder, call

DEV_NS = "{urn:schemas-upnp-org:device-1-0}"
HOSTNAME = "/UPnP/DM/Configuration/Network/HostName"


@pytest.fixture
async def lab() -> AsyncIterator[LabServer]:
    async with LabServer(2, faults={"reboot_delay": 0.2, "test_duration": 0.01}) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def callback() -> AsyncIterator[CallbackServer]:
    server = CallbackServer()
    await server.start()
    yield server
    await server.stop()


# --- descriptions -------------------------------------------------------------------------------


async def test_description_and_scpds(lab: LabServer, session: aiohttp.ClientSession) -> None:
    """UDA §2.3/§2.5: ManageableDevice:2 with BMS:2, CMS:2, SMS:2, each SCPD fetchable."""
    udns = set()
    for device in lab.devices:
        async with session.get(device.description_url) as r:
            assert r.status == 200
            root = etree.fromstring(await r.read())
        dev = root.find(f"{DEV_NS}device")
        assert dev is not None
        assert dev.findtext(f"{DEV_NS}deviceType") == DEVICE_TYPE
        udns.add(dev.findtext(f"{DEV_NS}UDN"))
        services = dev.findall(f"{DEV_NS}serviceList/{DEV_NS}service")
        ids = {s.findtext(f"{DEV_NS}serviceId") for s in services}
        assert ids == {
            "urn:upnp-org:serviceId:BasicManagement",
            "urn:upnp-org:serviceId:ConfigurationManagement",
            "urn:upnp-org:serviceId:SoftwareManagement",
        }
        for service in services:
            scpd_url = device.base_url + (service.findtext(f"{DEV_NS}SCPDURL") or "")
            async with session.get(scpd_url) as r:
                assert r.status == 200
                scpd = etree.fromstring(await r.read())
            names = scpd.xpath("//*[local-name()='action']/*[local-name()='name']/text()")
            assert len(names) >= 5
    assert udns == {d.udn for d in lab.devices}


async def test_devices_have_their_own_identity(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    """TR-330 §4.1.1: each device has its own OUI/ProductClass/SerialNumber."""
    serials = set()
    for device in lab.devices:
        out = await call(
            session,
            device,
            "CMS",
            "GetValues",
            [
                (
                    "Parameters",
                    cms_xml.build_content_path_list(
                        ["/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/"]
                    ),
                )
            ],
        )
        values = {
            pv.path.rsplit("/", 1)[1]: pv.value
            for pv in cms_xml.parse_parameter_value_list(out["ParameterValueList"])
        }
        assert values["ManufacturerOUI"] and values["ProductClass"] == "LabDM"
        serials.add(values["SerialNumber"])
    assert len(serials) == 2


# --- CMS over SOAP ----------------------------------------------------------------------------


async def test_cms_actions_over_soap(lab: LabServer, session: aiohttp.ClientSession) -> None:
    """Reference §2.2: every CMS:2 action answers with its documented outputs."""
    d = lab.devices[0]
    out = await call(session, d, "CMS", "GetSupportedDataModels")
    assert {
        m.location for m in cms_xml.parse_supported_data_models(out["SupportedDataModels"])
    } == {
        "/UPnP/DM/",
        "/BBF/",
    }
    out = await call(
        session,
        d,
        "CMS",
        "GetSupportedParameters",
        [("StartingNode", "/BBF/Hosts/"), ("SearchDepth", "1")],
    )
    assert cms_xml.parse_structure_path_list(out["Result"]) == [
        "/BBF/Hosts/HostNumberOfEntries",
        "/BBF/Hosts/Host/#/",
    ]
    out = await call(
        session,
        d,
        "CMS",
        "GetInstances",
        [("StartingNode", "/BBF/Hosts/Host/"), ("SearchDepth", "0")],
    )
    assert cms_xml.parse_instance_path_list(out["Result"]) == [
        f"/BBF/Hosts/Host/{n}/" for n in (0, 2, 5)
    ]
    out = await call(
        session,
        d,
        "CMS",
        "GetSelectedValues",
        [("StartingNode", "/BBF/Hosts/Host/#/"), ("Filter", "HostName = phone")],
    )
    assert {pv.path for pv in cms_xml.parse_parameter_value_list(out["ParameterValueList"])} >= {
        "/BBF/Hosts/Host/2/IPAddress"
    }
    pvl = cms_xml.build_parameter_value_list([ParameterValue("/BBF/Time/NTPServer1", "ntp.lab")])
    assert (await call(session, d, "CMS", "SetValues", [("ParameterValueList", pvl)]))[
        "Status"
    ] == "ChangesCommitted"
    init = cms_xml.build_parameter_initial_value_list([ParameterValue("Description", "ssh")])
    out = await call(
        session,
        d,
        "CMS",
        "CreateInstance",
        [("MultiInstanceName", "/BBF/NAT/PortMapping/"), ("ChildrenInitialization", init)],
    )
    assert out == {"InstanceIdentifier": "/BBF/NAT/PortMapping/1/", "Status": "ChangesApplied"}
    out = await call(
        session, d, "CMS", "DeleteInstance", [("InstanceIdentifier", "/BBF/NAT/PortMapping/1/")]
    )
    assert out["Status"] == "ChangesApplied"
    attrs = cms_xml.build_node_attribute_path_list([HOSTNAME])
    out = await call(session, d, "CMS", "GetAttributes", [("Parameters", attrs)])
    (node,) = cms_xml.parse_node_attribute_value_list(out["NodeAttributeValueList"])
    assert node.access == "readWrite" and node.event_on_change is True
    navl = cms_xml.build_node_attribute_value_list(
        [node.__class__(HOSTNAME, event_on_change=False)]
    )
    assert (await call(session, d, "CMS", "SetAttributes", [("NodeAttributeValueList", navl)]))[
        "Status"
    ] == "ChangesApplied"
    await call(session, d, "CMS", "SetAlarmsEnabled", [("StateVariableValue", "1")])
    assert (await call(session, d, "CMS", "GetAlarmsEnabled"))["StateVariableValue"] == "1"
    version = (await call(session, d, "CMS", "GetCurrentConfigurationVersion"))[
        "StateVariableValue"
    ]
    assert int(version) >= 4
    for getter in (
        "GetConfigurationUpdate",
        "GetSupportedDataModelsUpdate",
        "GetSupportedParametersUpdate",
        "GetAttributeValuesUpdate",
    ):
        stamp = (await call(session, d, "CMS", getter))["StateVariableValue"]
        assert cms_xml.parse_version_stamp(stamp).version >= 1
    assert (await call(session, d, "CMS", "GetInconsistentStatus"))["StateVariableValue"] == "0"


@pytest.mark.parametrize(
    ("action", "args", "code"),
    [
        ("GetValues", [("Parameters", "<not-cms/>")], 702),
        ("GetValues", [("Parameters", "not xml at all")], 702),
        ("GetValues", [("Parameters", cms_xml.build_content_path_list(["/Nope/"]))], 703),
        ("GetValues", [("Parameters", cms_xml.build_content_path_list(["Nope"]))], 701),
        ("GetSupportedParameters", [("StartingNode", "/BBF/"), ("SearchDepth", "x")], 600),
        ("GetSupportedParameters", [("StartingNode", "/BBF/")], 402),
        ("NoSuchAction", [], 401),
        (
            "SetValues",
            [
                (
                    "ParameterValueList",
                    cms_xml.build_parameter_value_list(
                        [ParameterValue("/BBF/DeviceInfo/SerialNumber", "x")]
                    ),
                )
            ],
            706,
        ),
        (
            "SetValues",
            [
                (
                    "ParameterValueList",
                    cms_xml.build_parameter_value_list(
                        [ParameterValue("/BBF/Time/Enable", "maybe")]
                    ),
                )
            ],
            704,
        ),
    ],
)
async def test_cms_errors_are_upnp_faults(
    lab: LabServer,
    session: aiohttp.ClientSession,
    action: str,
    args: list[tuple[str, str]],
    code: int,
) -> None:
    """UDA §3.2.2 / reference §2.7: SOAP fault with UPnPError errorCode."""
    with pytest.raises(UpnpError) as exc:
        await call(session, lab.devices[0], "CMS", action, args)
    assert exc.value.code == code


# --- GENA ---------------------------------------------------------------------------------------


async def _subscribe(
    session: aiohttp.ClientSession, url: str, callback: str, seconds: int = 300
) -> aiohttp.ClientResponse:
    return await session.request(
        "SUBSCRIBE",
        url,
        headers={"CALLBACK": f"<{callback}>", "NT": "upnp:event", "TIMEOUT": f"Second-{seconds}"},
    )


async def test_gena_subscribe_initial_event_seq_renew_unsubscribe(
    lab: LabServer, session: aiohttp.ClientSession, callback: CallbackServer
) -> None:
    """UDA §4.1–4.3: SID uuid:…, TIMEOUT Second-N, initial event SEQ 0, then SEQ 1; 412 after."""
    d = lab.devices[0]
    url = f"{d.base_url}{d.base_path}/cms/event"
    async with await _subscribe(session, url, callback.url) as r:
        assert r.status == 200
        sid = r.headers["SID"]
        assert sid.startswith("uuid:") and r.headers["TIMEOUT"] == "Second-300"
    first = await callback.next()
    assert (first.sid, first.seq) == (sid, 0)
    assert set(first.variables) == {
        "ConfigurationUpdate",
        "SupportedDataModelsUpdate",
        "SupportedParametersUpdate",
        "AttributeValuesUpdate",
        "InconsistentStatus",
        "AlarmsEnabled",
    }
    pvl = cms_xml.build_parameter_value_list([ParameterValue(HOSTNAME, "renamed")])
    await call(session, d, "CMS", "SetValues", [("ParameterValueList", pvl)])
    second = await callback.next()
    assert second.seq == 1
    version = int(
        (await call(session, d, "CMS", "GetCurrentConfigurationVersion"))["StateVariableValue"]
    )
    assert (
        cms_xml.parse_configuration_update(second.variables["ConfigurationUpdate"]).version
        == version
    )
    async with session.request("SUBSCRIBE", url, headers={"SID": sid, "TIMEOUT": "Second-60"}) as r:
        assert r.status == 200 and r.headers["TIMEOUT"] == "Second-60"
    async with session.request("UNSUBSCRIBE", url, headers={"SID": sid}) as r:
        assert r.status == 200
    async with session.request("SUBSCRIBE", url, headers={"SID": sid}) as r:
        assert r.status == 412
    async with session.request("UNSUBSCRIBE", url, headers={"SID": "uuid:nope"}) as r:
        assert r.status == 412


async def test_change_before_initial_event_rides_in_seq_0(
    lab: LabServer, session: aiohttp.ClientSession, callback: CallbackServer
) -> None:
    """UDA §4.2.1: the initial event (SEQ 0) carries every evented variable's current value.
    A change made between the SUBSCRIBE answer and that event is in SEQ 0 and is not sent
    on its own before it; the next change is SEQ 1."""
    d = lab.devices[0]
    url = f"{d.base_url}{d.base_path}/cms/event"
    before = d.state_variables("CMS")["ConfigurationUpdate"]
    async with await _subscribe(session, url, callback.url) as r:
        assert r.status == 200
    pvl = cms_xml.build_parameter_value_list([ParameterValue(HOSTNAME, "early")])
    await call(session, d, "CMS", "SetValues", [("ParameterValueList", pvl)])
    first = await callback.next()
    assert first.seq == 0
    assert first.variables["ConfigurationUpdate"] != before
    assert first.variables["ConfigurationUpdate"] == d.state_variables("CMS")["ConfigurationUpdate"]
    pvl = cms_xml.build_parameter_value_list([ParameterValue(HOSTNAME, "later")])
    await call(session, d, "CMS", "SetValues", [("ParameterValueList", pvl)])
    second = await callback.next()
    assert second.seq == 1


@pytest.mark.parametrize(
    "cb",
    [
        "http://192.0.2.7:8080/cb",  # a third party (CallStranger)
        "http://example.com/cb",  # a name: could resolve anywhere
        "https://127.0.0.1/cb",
        "",
    ],
)
async def test_gena_refuses_foreign_callbacks(
    lab: LabServer, session: aiohttp.ClientSession, cb: str
) -> None:
    """CVE-2020-12695: CALLBACK must point back at the subscriber; else 412."""
    d = lab.devices[0]
    async with await _subscribe(session, f"{d.base_url}{d.base_path}/bms/event", cb) as r:
        assert r.status == 412
    assert not d.publishers["BMS"].subscriptions


async def test_device_side_change_is_evented(
    lab: LabServer, session: aiohttp.ClientSession, callback: CallbackServer
) -> None:
    """TR-330 Table 1: an EventOnChange parameter changed by the device → ConfigurationUpdate."""
    d = lab.devices[1]
    async with await _subscribe(session, f"{d.base_url}{d.base_path}/cms/event", callback.url):
        pass
    await callback.next()
    async with session.post(
        f"{lab.base_url}/_lab/{d.udn}/set", json={"/BBF/Hosts/Host/0/Active": "0"}
    ) as r:
        assert r.status == 200
    event = await callback.next()
    assert "ConfigurationUpdate" in event.variables


async def test_device_lookup_by_udn_with_or_without_uuid_prefix(lab: LabServer) -> None:
    """UDA §1.1.4 (UDN = "uuid:" + UUID): the lab finds a device by either form (its URLs
    carry the bare UUID); an unknown UDN is a KeyError (404 over HTTP). Issue 13: by index,
    not by a scan per request."""
    for d in lab.devices:
        assert lab.device(d.udn) is d
        assert lab.device(d.udn.removeprefix("uuid:")) is d
    with pytest.raises(KeyError):
        lab.device("uuid:00000000-0000-0000-0000-000000000000")


async def test_storm_endpoint_changes_many_devices_at_one_moment(
    lab: LabServer, session: aiohttp.ClientSession, callback: CallbackServer
) -> None:
    """Issue 13 (storms): POST /_lab/set changes several devices in one step and replies the
    moment (time.time()); each change is evented (ConfigurationUpdate, TR-330 Table 1)."""
    for d in lab.devices:
        async with await _subscribe(session, f"{d.base_url}{d.base_path}/cms/event", callback.url):
            pass
        await callback.next()  # SEQ 0
    path = "/UPnP/DM/DeviceInfo/ProvisioningCode"  # EventOnChange in the lab model
    body = {d.udn: {path: f"storm-{i}"} for i, d in enumerate(lab.devices)}
    before = time.time()
    async with session.post(f"{lab.base_url}/_lab/set", json=body) as r:
        assert r.status == 200, await r.text()
        reply = await r.json()
    assert before <= reply["time"] <= time.time()
    assert reply["devices"] == len(lab.devices)
    assert [d.model.value(path) for d in lab.devices] == ["storm-0", "storm-1"]
    events = [await callback.next() for _ in lab.devices]
    assert all("ConfigurationUpdate" in e.variables for e in events)
    assert len({e.sid for e in events}) == len(lab.devices)
    async with session.get(f"{lab.base_url}/_lab/devices") as r:
        listed = await r.json()
    # what another process needs to pair a lab device with the ACS's DeviceId
    assert [(d["udn"], d["serial_number"]) for d in listed] == [
        (d.udn, d.serial_number) for d in lab.devices
    ]


async def test_storm_endpoint_checks_everything_before_changing_anything(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    """Issue 13 (storms): one bad entry (unknown parameter: 400, unknown device: 404) refuses
    the whole request; no device has changed."""
    path = "/BBF/DeviceInfo/ProvisioningCode"
    first, second = lab.devices
    before = first.model.value(path)
    for body, status in (
        ({first.udn: {path: "x"}, second.udn: {"/BBF/NoSuchThing": "1"}}, 400),
        ({first.udn: {path: "x"}, "uuid:00000000-0000-0000-0000-000000000000": {path: "y"}}, 404),
        ({first.udn: "not an object"}, 400),
        (["not", "an", "object"], 400),
    ):
        async with session.post(f"{lab.base_url}/_lab/set", json=body) as r:
            assert r.status == status, await r.text()
        assert first.model.value(path) == before


# --- BMS --------------------------------------------------------------------------------------


async def test_ping_runs_and_reports_through_events(
    lab: LabServer, session: aiohttp.ClientSession, callback: CallbackServer
) -> None:
    """Reference §3.2: TestID at once, TestIDs/ActiveTestIDs evented, result when Completed."""
    d = lab.devices[0]
    async with await _subscribe(session, f"{d.base_url}{d.base_path}/bms/event", callback.url):
        pass
    initial = await callback.next()
    assert initial.variables["ActiveTestIDs"] == ""
    out = await call(
        session,
        d,
        "BMS",
        "Ping",
        [
            ("Host", "127.0.0.1"),
            ("NumberOfRepetitions", "3"),
            ("Timeout", "1000"),
            ("DataBlockSize", "64"),
            ("DSCP", "0"),
        ],
    )
    test_id = out["TestID"]
    while True:
        event = await callback.next()
        if "ActiveTestIDs" in event.variables and test_id not in event.variables[
            "ActiveTestIDs"
        ].split(","):
            break
    assert (await call(session, d, "BMS", "GetTestInfo", [("TestID", test_id)])) == {
        "Type": "Ping",
        "State": "Completed",
    }
    result = await call(session, d, "BMS", "GetPingResult", [("TestID", test_id)])
    assert result["Status"] == "Success" and result["SuccessCount"] == "3"
    assert test_id in (await call(session, d, "BMS", "GetTestIDs"))["TestIDs"].split(",")
    with pytest.raises(UpnpError) as exc:
        await call(session, d, "BMS", "GetNSLookupResult", [("TestID", test_id)])
    assert exc.value.code == 600
    with pytest.raises(UpnpError) as exc:
        await call(
            session,
            d,
            "BMS",
            "Ping",
            [
                ("Host", "127.0.0.1"),
                ("NumberOfRepetitions", "1"),
                ("Timeout", "1"),
                ("DataBlockSize", "1"),
                ("DSCP", "64"),
            ],
        )
    assert exc.value.code == 601


async def test_cancel_test_and_sequence_mode(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    d = lab.devices[0]
    d.faults.test_duration = 30.0
    assert (await call(session, d, "BMS", "SetSequenceMode", [("NewSequenceMode", "1")]))[
        "OldSequenceMode"
    ] == "0"
    assert (await call(session, d, "BMS", "GetSequenceMode"))["SequenceMode"] == "1"
    ids = [
        (
            await call(
                session,
                d,
                "BMS",
                "NSLookup",
                [
                    ("HostName", "localhost"),
                    ("DNSServer", ""),
                    ("NumberOfRepetitions", "1"),
                    ("Timeout", "100"),
                ],
            )
        )["TestID"]
        for _ in range(2)
    ]
    assert (await call(session, d, "BMS", "GetActiveTestIDs"))["TestIDs"] == ",".join(ids)
    assert (await call(session, d, "BMS", "GetTestInfo", [("TestID", ids[1])]))[
        "State"
    ] == "Requested"
    await call(session, d, "BMS", "CancelTest", [("TestID", ids[0])])
    assert (await call(session, d, "BMS", "GetTestInfo", [("TestID", ids[0])]))[
        "State"
    ] == "Canceled"
    with pytest.raises(UpnpError) as exc:
        await call(session, d, "BMS", "CancelTest", [("TestID", "9999")])
    assert exc.value.code == 600


async def test_logs_are_served_over_http(lab: LabServer, session: aiohttp.ClientSession) -> None:
    """TR-330 §4.4: GetLogURIs → GetLogInfo → LogURL fetchable; SetLogInfo changes it."""
    d = lab.devices[0]
    uris = (await call(session, d, "BMS", "GetLogURIs"))["LogURIs"].split(",")
    assert len(uris) == 2
    info = await call(session, d, "BMS", "GetLogInfo", [("LogURI", uris[0])])
    assert info["Configurable"] == "1" and info["Enabled"] == "1"
    await call(session, d, "BMS", "GetDeviceStatus")
    async with session.get(info["LogURL"]) as r:
        assert r.status == 200
        assert "boot 1" in await r.text()
    await call(
        session,
        d,
        "BMS",
        "SetLogInfo",
        [("LogURI", uris[0]), ("Enabled", "0"), ("LogLevel", "Error")],
    )
    info = await call(session, d, "BMS", "GetLogInfo", [("LogURI", uris[0])])
    assert (info["Enabled"], info["LogLevel"]) == ("0", "Error")
    with pytest.raises(UpnpError) as exc:
        await call(
            session,
            d,
            "BMS",
            "SetLogInfo",
            [("LogURI", uris[1]), ("Enabled", "0"), ("LogLevel", "Error")],
        )
    assert exc.value.code == 600
    assert (await call(session, d, "BMS", "GetDeviceStatus"))["DeviceStatus"] == "OK"


async def test_reboot_byebye_down_then_alive_with_new_bootid(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    """TR-330 Table 1 "1 BOOT": byebye with AboutToReboot, unavailable, alive with BOOTID+1."""
    d = lab.devices[0]
    recorder = SsdpRecorder()
    d.ssdp = recorder
    assert (await call(session, d, "BMS", "Reboot"))["RebootStatus"] == "RebootNow"
    await recorder.byebye_event.wait()
    assert recorder.sent[0] == ("byebye", "AboutToReboot")
    async with session.get(d.description_url) as r:
        assert r.status == 503
    await recorder.alive_event.wait()
    assert d.boot_id == 2
    async with session.get(d.description_url) as r:
        assert r.status == 200


async def test_baseline_reset_restores_defaults(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    """TR-330 Table 1 "0 BOOTSTRAP": byebye AboutToBaselineReset, model back to defaults."""
    d = lab.devices[0]
    recorder = SsdpRecorder()
    d.ssdp = recorder
    pvl = cms_xml.build_parameter_value_list([ParameterValue(HOSTNAME, "changed")])
    await call(session, d, "CMS", "SetValues", [("ParameterValueList", pvl)])
    await call(session, d, "BMS", "BaselineReset")
    await recorder.alive_event.wait()
    assert recorder.sent[0] == ("byebye", "AboutToBaselineReset")
    assert d.model.value(HOSTNAME) == "labdm-0"


async def _post(
    session: aiohttp.ClientSession, url: str, body: bytes, soapaction: str = ""
) -> tuple[int, bytes]:
    headers = {"Content-Type": 'text/xml; charset="utf-8"'}
    if soapaction:
        headers["SOAPACTION"] = soapaction
    async with session.post(url, data=body, headers=headers) as r:
        return r.status, await r.read()


async def test_hostile_soap_requests_get_faults_not_crashes(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    """UDA §3.2.2: malformed requests are answered with UPnPError 401/402, never a crash."""
    from proxier.upnp import soap

    d = lab.devices[0]
    url = f"{d.base_url}{d.base_path}/cms/control"
    bms_type = "urn:schemas-upnp-org:service:BasicManagement:2"
    _, wrong_service = soap.build_request(bms_type, "GetDeviceStatus", [])
    cms_type = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
    _, good = soap.build_request(cms_type, "GetAlarmsEnabled", [])
    cases = [
        (b"not xml", "", 402),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "", 402),
        (b"<a>" * 100000, "", 402),
        (b"x" * (2 * 1024 * 1024), "", 402),
        (wrong_service, "", 401),
        (good, f'"{cms_type}#GetValues"', 401),
    ]
    for body, action, code in cases:
        status, answer = await _post(session, url, body, action)
        assert status == 500
        with pytest.raises(UpnpError) as exc:
            soap.parse_response("X", status, answer)
        assert exc.value.code == code, body[:40]
    status, answer = await _post(session, url, good, f'"{cms_type}#GetAlarmsEnabled"')
    assert soap.parse_response("GetAlarmsEnabled", status, answer)["StateVariableValue"] == "0"


async def test_unknown_device_or_service_is_404(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    d = lab.devices[0]
    for url in (
        f"{lab.base_url}/dev/nobody/description.xml",
        f"{d.base_url}{d.base_path}/xyz.xml",
        f"{d.base_url}{d.base_path}/logs/nothing",
        f"{lab.base_url}/files/nothing",
    ):
        async with session.get(url) as r:
            assert r.status == 404, url


async def test_subscription_count_is_bounded(
    lab: LabServer, session: aiohttp.ClientSession
) -> None:
    """A SUBSCRIBE flood cannot grow memory without bound: 503 beyond the cap."""
    from proxier.lab.publisher import MAX_SUBSCRIPTIONS

    d = lab.devices[0]
    url = f"{d.base_url}{d.base_path}/sms/event"
    statuses = []
    for _ in range(MAX_SUBSCRIPTIONS + 1):
        async with await _subscribe(session, url, "http://127.0.0.1:9/cb") as r:
            statuses.append(r.status)
    assert statuses[:-1] == [200] * MAX_SUBSCRIPTIONS and statuses[-1] == 503


async def test_whole_soap_body_read_up_to_the_limit(lab: LabServer) -> None:
    """Issue 12 item 10 (UDA §3.2.1): a ~300 KB valid SOAP request that arrives in chunks over
    a real socket is read whole and answered, not cut at what had arrived (402)."""
    import asyncio

    from proxier.upnp import soap

    d = lab.devices[0]
    cms_type = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
    headers, body = soap.build_request(cms_type, "GetAlarmsEnabled", [])
    body = body.replace(b"<s:Body>", b"<s:Body>" + b" \n" * 150_000)  # ~300 KB, still valid
    path = f"{d.base_path}/cms/control"
    host, port = d.base_url.split("//", 1)[1].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
        f"Content-Type: {headers['Content-Type']}\r\nSOAPACTION: {headers['SOAPACTION']}\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(head.encode())
    for start in range(0, len(body), 16 * 1024):
        writer.write(body[start : start + 16 * 1024])
        await writer.drain()
        await asyncio.sleep(0.005)
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    payload = rest.split(b"\r\n\r\n", 1)[1]
    assert status_line.split()[1] == b"200", answer[:300]
    assert soap.parse_response("GetAlarmsEnabled", 200, payload)["StateVariableValue"] == "0"
