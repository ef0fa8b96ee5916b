"""The TR-330 §4.6 RPCs end to end: lab ACS task → Connection Request → CWMP session →
proxier → SOAP → lab DM device, and what the lab ACS records (issue 4 "Done when").

Expectations about the device side are read from the lab device itself (its model, its
attributes), never from the proxier; the CWMP instance numbers of a sparse table and the
TR-330 / TR-069 rules are written out. Each test batches its RPCs into few sessions
(`Rig.session`): a virtual device accepts only so many Connection Requests a minute.
"""

from __future__ import annotations

import time
from pathlib import Path

from proxier.translate.tables import XSD_TYPES
from proxier.upnp.device import UpnpError
from tests.virtual.rig import events_of, rig
from tests.virtual.tasks import (
    ERRORS,
    HOST,
    HOSTS,
    PM,
    SPARSE,
    TYPES,
    UPNP_PM,
    fault,
    gpa,
    gpn,
    gpv,
    names,
    ok,
    spa,
    spv,
    started,
    upnp_of,
    values,
)

# --- GetParameterNames (TR-330 §4.6.2.1, TR-069 A.3.2.3) ------------------------------------


async def test_gpn_tr330_examples_and_next_level_cases(tmp_path: Path) -> None:
    """TR-330 §4.6.2.1 guideline examples on Device.Hosts.Host (sparse UPnP 0, 2, 5):
    a parameter, a single-instance object, a multi-instance object, an instance, an object
    with NextLevel false (the whole branch, the object itself first, TR-069 Table 18),
    Writable from the CMS Access attribute; NextLevel true on a parameter is 9003 and an
    unknown path 9005 (TR-069 A.3.2.3)."""
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        model = r.lab_device(dev_id).model
        leaves = [pv.path.rsplit("/", 1)[1] for pv in model.get_values(["/BBF/Hosts/Host/0/"])]
        (
            parameter,
            parameter_next,
            single,
            table,
            instance,
            branch,
            nat,
            empty,
            *unknown,
        ) = await r.session(
            dev_id,
            [
                gpn(HOST + "1.IPAddress", False),
                gpn(HOST + "1.IPAddress", True),
                gpn(HOSTS, True),
                gpn(HOST, True),
                gpn(HOST + "2.", True),
                gpn(HOSTS, False),
                gpn("Device.NAT.", False),
                gpn("", True),
                gpn("Device.Hosts.Nope.", False),
                gpn(HOST + "4.", False),
                gpn(HOST + "1.Nope", False),
                gpn("Device.Nope.", True),
                gpn("Device.Hosts", False),
            ],
        )
        assert names(parameter) == {HOST + "1.IPAddress": False}
        assert fault(parameter_next) == (9003, [])
        assert names(single) == {HOSTS + "HostNumberOfEntries": False, HOST: False}
        assert names(table) == {f"{HOST}{n}.": False for n in SPARSE}
        # the row's Alias is the proxier's (TR-330 §4.6.8), writable as in TR-181
        assert names(instance) == {
            **{f"{HOST}2.{leaf}": False for leaf in leaves},
            HOST + "2.Alias": True,
        }
        expected = [HOSTS, HOSTS + "HostNumberOfEntries", HOST]
        for n in SPARSE:
            expected += [f"{HOST}{n}.", *(f"{HOST}{n}.{leaf}" for leaf in leaves)]
        got = names(branch)
        assert set(got) == {*expected, *(f"{HOST}{n}.Alias" for n in SPARSE)}
        assert HOSTS in got, "NextLevel false lists the object itself (Table 18)"
        assert {n for n, w in got.items() if w} == {f"{HOST}{n}.Alias" for n in SPARSE}, (
            "Hosts is read-only on the device (Access readOnly)"
        )
        writable = names(nat)
        assert writable[PM] is True, "AddObject allowed: the table's Access is readWrite"
        assert writable[PM + "1."] is True, "DeleteObject allowed on the instance"
        assert writable[PM + "1.Description"] is True
        assert writable["Device.NAT.PortMappingNumberOfEntries"] is False
        assert writable["Device.NAT."] is False
        assert names(empty) == {"Device.": False}
        for task in unknown:
            assert fault(task) == (9005, []), task["args"]


async def test_gpn_root_inserts_bms_objects_and_lists_only_readable_names(
    tmp_path: Path,
) -> None:
    """TR-330 §4.3.2.1 and §4.6.2.1 Figure 7: GetParameterNames on the root with NextLevel
    false holds the device's CMS tree plus the objects the proxier builds from BMS actions,
    each at its Device:2 place (IP.Diagnostics.IPPing/TraceRoute,
    DNS.Diagnostics.NSLookupDiagnostics); every object's parent is listed; and every
    parameter listed can be read (TR-069 A.3.2.3: "a GetParameterValues for this Parameter
    would be expected to succeed")."""
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        root, diag, dns, everything = await r.session(
            dev_id,
            [
                gpn("Device.", False),
                gpn("Device.IP.Diagnostics.", True),
                gpn("Device.DNS.Diagnostics.", True),
                gpv("Device."),
            ],
        )
        listed = names(root)
        assert "Device." in listed
        for name in listed:
            parent = name[: name.rstrip(".").rfind(".") + 1]
            assert name == "Device." or parent in listed, f"{name} without {parent}"
        for obj in (
            "Device.IP.Diagnostics.IPPing.",
            "Device.IP.Diagnostics.TraceRoute.",
            "Device.DNS.Diagnostics.NSLookupDiagnostics.",
        ):
            assert obj in listed, obj
            assert listed[obj + "DiagnosticsState"] is True
        assert listed["Device.IP.Diagnostics.IPPing.SuccessCount"] is False
        assert set(names(diag)) == {
            "Device.IP.Diagnostics.IPPing.",
            "Device.IP.Diagnostics.TraceRoute.",
        }
        assert set(names(dns)) == {"Device.DNS.Diagnostics.NSLookupDiagnostics."}
        for n in SPARSE:
            assert f"{HOST}{n}.HostName" in listed
        readable = set(values(everything))
        parameters = {n for n in listed if not n.endswith(".")}
        assert parameters <= readable, sorted(parameters - readable)
        # ... and the other way round: GetParameterValues of the root reads only listed names
        assert readable <= parameters, sorted(readable - parameters)


# --- GetParameterValues (TR-330 §4.6.3) ------------------------------------------------------


async def test_gpv_partial_paths_values_and_every_xsi_type(tmp_path: Path) -> None:
    """TR-330 §4.6.3.1: a GetParameterValues of partial paths (single-instance object,
    multi-instance object, instance) and full names is one CMS::GetValues; the values are
    the device's, the instance numbers the map's, and each xsi:type comes from the CMS Type
    attribute through mappings/types.toml — every CMS type of the lab model, as the ACS
    records it."""
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        model = r.lab_device(dev_id).model
        partial, everything, missing, missing_instance = await r.session(
            dev_id,
            [
                gpv(HOST, "Device.Time.", HOST + "3.", "Device.DeviceInfo.X_00D0CA_ChipID"),
                gpv("Device."),
                gpv("Device.Time.Nope"),
                gpv(HOST + "4.HostName"),
            ],
        )
        got = values(partial)
        for n, upnp in SPARSE.items():
            for leaf in ("HostName", "IPAddress", "Active"):
                want = model.value(f"/BBF/Hosts/Host/{upnp}/{leaf}")
                assert got[f"{HOST}{n}.{leaf}"][0] == want, (n, leaf)
        assert got[HOST + "3.HostName"] == ("printer", "xsd:string")
        assert got["Device.Time.Enable"] == ("1", "xsd:boolean")
        assert got["Device.DeviceInfo.X_00D0CA_ChipID"][1] == "xsd:hexBinary"
        # Every device parameter: the value is the device's, the type its CMS Type mapped.
        seen: set[str] = set()
        for name, (value, xsd) in values(everything).items():
            try:
                upnp = upnp_of(model, name)
                (attrs,) = model.get_attributes([upnp])
            except (UpnpError, IndexError):
                continue  # held by the proxier (ManagementServer, ProxierInfo, IPPing …)
            assert xsd == TYPES.xsd(attrs.type), (name, attrs.type, xsd)
            if not name.endswith(("UpTime", "CurrentTime", "Layer3Interface")):
                assert value == model.value(upnp), name
            seen.add(xsd)
        assert seen == set(XSD_TYPES), f"types not exercised: {set(XSD_TYPES) - seen}"
        assert fault(missing) == (9005, [])
        assert fault(missing_instance) == (9005, [])


# --- SetParameterValues (TR-330 §4.6.4) ------------------------------------------------------


async def test_spv_status_parameter_key_faults_and_atomicity(tmp_path: Path) -> None:
    """TR-330 §4.6.4.1: CMS ChangesApplied → Status 0, ChangesCommitted → Status 1;
    ParameterKey changes only with a successful SetParameterValues (TR-069 A.3.2.1); faults
    carry one SetParameterValuesFault per parameter in error where the proxier can tell
    which (9005/9007/9008), else (§4.6.4 note) the mapped fault without details; a
    SetParameterValues with one bad parameter writes nothing on the device."""
    ntp = "Device.Time.NTPServer1"  # "commit" in the lab model: ChangesCommitted
    enable = "Device.Time.Enable"  # ChangesApplied
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        model = r.lab_device(dev_id).model
        tasks = await r.session(
            dev_id,
            [
                spv("k-applied", (enable, "false", "xsd:boolean")),
                spv("k-committed", (ntp, "ntp.lab", "xsd:string")),
                spv(
                    "k-both",
                    (enable, "true", "xsd:boolean"),
                    ("Device.Time.LocalTimeZone", "UTC0", "xsd:string"),
                ),
                gpv("Device.ManagementServer.ParameterKey"),
                spv("bad-1", (ntp, "x.lab", "xsd:string"), (enable, "maybe", "xsd:boolean")),
                spv(
                    "bad-2",
                    (ntp, "x.lab", "xsd:string"),
                    ("Device.DeviceInfo.SerialNumber", "S", "xsd:string"),
                ),
                spv("bad-3", (ntp, "x.lab", "xsd:string"), ("Device.Time.Nope", "1", "xsd:string")),
                spv("bad-4", (PM + "1.Protocol", "SCTP", "xsd:string")),
                spv(
                    "bad-5",
                    (ntp, "x.lab", "xsd:string"),
                    (PM + "1.ExternalPort", "70000", "xsd:unsignedInt"),
                ),
                spv("bad-6", ("Device.Time.", "x", "xsd:string")),
                gpv("Device.ManagementServer.ParameterKey", ntp, enable),
            ],
        )
        applied, committed, both, key, *bad, after = tasks
        assert ok(applied)["status"] == 0
        assert ok(committed)["status"] == 1
        assert ok(both)["status"] == 1, "one committed change makes the whole RPC Status 1"
        assert values(key)["Device.ManagementServer.ParameterKey"][0] == "k-both"
        assert model.value("/BBF/Time/LocalTimeZone") == "UTC0"
        assert fault(bad[0]) == (9003, [(enable, 9007)]), "not a boolean: issue 12 item 1"
        assert fault(bad[1]) == (9003, [("Device.DeviceInfo.SerialNumber", 9008)])
        assert fault(bad[2]) == (9003, [("Device.Time.Nope", 9005)])
        assert fault(bad[3]) == (9003, [(PM + "1.Protocol", 9007)])
        assert fault(bad[4]) in ((9007, []), (9003, [(PM + "1.ExternalPort", 9007)]))
        code, detail = fault(bad[5])
        assert code == 9003 and detail == [("Device.Time.", 9005)]
        # Nothing of a failed SetParameterValues reached the device, nor the ParameterKey.
        assert model.value("/BBF/Time/NTPServer1") == "ntp.lab"
        assert model.value(UPNP_PM + "0/Protocol") == "TCP"
        assert model.value(UPNP_PM + "0/ExternalPort") == "8080"
        assert values(after) == {
            "Device.ManagementServer.ParameterKey": ("k-both", "xsd:string"),
            ntp: ("ntp.lab", "xsd:string"),
            enable: ("1", "xsd:boolean"),
        }


# --- Get/SetParameterAttributes (TR-330 §4.6.5) -----------------------------------------------


async def test_attributes_partial_paths_notification_and_access_list(tmp_path: Path) -> None:
    """TR-330 §4.6.5: GetParameterAttributes of a partial path answers for every parameter
    below it (§4.6.5.1.1), Notification from EventOnChange, AccessList always empty;
    SetParameterAttributes of a partial path sets EventOnChange on every parameter below it
    on the device (§4.6.5.2.1) and back; an AccessList change is 9003; unknown names 9005."""
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        model = r.lab_device(dev_id).model
        inst = PM + "1."
        (
            host,
            set_active,
            read_back,
            set_one,
            one,
            access,
            after_access,
            missing,
            missing_set,
        ) = await r.session(
            dev_id,
            [
                gpa(HOST + "3."),
                spa(inst, 2),
                gpa(inst),
                spa("Device.Time.LocalTimeZone", 1),
                gpa("Device.Time.LocalTimeZone", "Device.Time.Enable"),
                spa("Device.Time.Enable", 0, access_list=True),
                gpa("Device.Time.Enable"),
                gpa("Device.Nope."),
                spa(HOST + "9.", 1),
            ],
        )
        leaves = [pv.path for pv in model.get_values(["/BBF/Hosts/Host/5/"])]
        got = {p["name"]: (p["notification"], p["accessList"]) for p in ok(host)["parameterList"]}
        assert set(got) == {f"{HOST}3.{p.rsplit('/', 1)[1]}" for p in leaves} | {HOST + "3.Alias"}
        for path in leaves:
            (attrs,) = model.get_attributes([path])
            name = f"{HOST}3.{path.rsplit('/', 1)[1]}"
            assert got[name] == (1 if attrs.event_on_change else 0, []), name
        assert ok(set_active) == {"name": "SetParameterAttributesResponse"}
        listed = {p["name"]: p["notification"] for p in ok(read_back)["parameterList"]}
        device = model.get_attributes([UPNP_PM + "0/"])
        params = [a for a in device if not a.path.endswith("/")]
        assert len(listed) == len(params) + 1 > 3, "the device's parameters and the Alias"
        assert set(listed.values()) == {2}
        assert all(a.event_on_change for a in params), "EventOnChange set on the device"
        ok(set_one)
        assert {p["name"]: p["notification"] for p in ok(one)["parameterList"]} == {
            "Device.Time.LocalTimeZone": 1,
            "Device.Time.Enable": 0,
        }
        assert fault(access) == (9003, [])
        assert ok(after_access)["parameterList"][0]["notification"] == 0
        assert fault(missing) == (9005, [])
        assert fault(missing_set) == (9005, [])
        (off,) = await r.session(dev_id, [spa(inst, 0)])
        ok(off)
        assert not any(a.event_on_change for a in model.get_attributes([UPNP_PM + "0/"]))


async def test_spa_failure_rolls_back_what_was_already_set(tmp_path: Path) -> None:
    """TR-330 §4.6.5.2.1: "If any UPnP CMS::SetAttributes() action fails, repeat the above by
    resetting to the Parameter attributes in the cache": SetParameterAttributes is atomic
    (TR-069 A.3.2.4), so when the device refuses the second SetAttributes the first one's
    EventOnChange is put back on the device, and the RPC answers the Table 2 fault."""
    ntp = "Device.Time.NTPServer1"
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        device = r.lab_device(dev_id)
        before = {a.path: a.event_on_change for a in device.model.get_attributes(["/BBF/"])}
        assert before["/BBF/Time/NTPServer1"] is False
        device.faults.errors = {"SetAttributes": (501, "refused")}
        device.faults.error_at = {"SetAttributes": 2}
        request = spa(ntp, 2)
        request["parameterList"].append(spa(PM + "1.", 2)["parameterList"][0])
        failed, after = await r.session(dev_id, [request, gpa(ntp, PM + "1.Enable")])
        assert fault(failed) == (ERRORS.cwmp_fault(501, "SetParameterAttributes"), [])
        now = {a.path: a.event_on_change for a in device.model.get_attributes(["/BBF/"])}
        assert now == before, "the first SetAttributes was rolled back on the device"
        assert {p["name"]: p["notification"] for p in ok(after)["parameterList"]} == {
            ntp: 0,
            PM + "1.Enable": 1,  # EventOnChange in the lab model: passive
        }


# --- a slow device (issue 4: "A slow or vanished device never hangs a CWMP session") --------


async def test_slow_device_gives_mapped_fault_and_the_session_goes_on(tmp_path: Path) -> None:
    """A CMS action slower than `upnp.action_timeout` answers the RPC with the mapping's
    fault for a device that does not answer (9002, mappings/table2_errors.toml `transport`)
    in bounded time; the next RPC of the same session works, and so does the next session.
    The Connection Request's Inform is not held up by one timeout per Forced Inform
    parameter, and those parameters (TR-069 Table 7 "Forced Inform") are in every Inform,
    also the ones after the slow spell."""
    forced = ("Device.DeviceInfo.SoftwareVersion", "Device.DeviceInfo.HardwareVersion")
    async with rig(tmp_path) as r:
        r.upnp = {"action_timeout": 0.5}
        dev_id = await started(r)
        device = r.lab_device(dev_id)
        device.faults.action_latency = {"GetValues": 2.0}
        mark = r.last_inform_id(dev_id)
        t0 = time.monotonic()
        slow, next_rpc = await r.session(
            dev_id, [gpv("Device.Time.Enable"), gpn("Device.Time.", True)]
        )
        took = time.monotonic() - t0
        assert fault(slow) == (ERRORS.transport, [])
        assert "Device.Time.Enable" in names(next_rpc)
        sessions = await r.client.sessions(dev_id)
        assert sessions[-1]["outcome"] == "completed"
        assert took < 1.9, f"Connection Request to last answer {took:.1f}s: one timeout or two"
        device.faults.action_latency = {}
        (fine,) = await r.session(dev_id, [gpv("Device.Time.Enable")])
        assert values(fine) == {"Device.Time.Enable": ("1", "xsd:boolean")}
        informs = r.acs.store.informs(dev_id, after=mark)
        assert len(informs) == 2
        for inform in informs:
            for name in forced:
                assert inform["parameters"].get(name, [""])[0], (name, inform["parameters"])


# --- "4 VALUE CHANGE" (TR-330 §4.2.1, §4.6.5.2.1) -------------------------------------------


async def test_value_change_active_on_sparse_row_and_passive_in_next_inform(
    tmp_path: Path,
) -> None:
    """TR-330 Table 1 row "4 VALUE CHANGE": a device-side change of a parameter with
    Notification 2 (here in the sparse Host table: CWMP 3 is UPnP 5) starts a session whose
    Inform carries "4 VALUE CHANGE" and the CWMP name with the new value; with Notification
    1 the change waits for the next Inform (TR-069 §3.2.1: passive), which a Connection
    Request then starts, and no session is started for it alone."""
    active = HOST + "3.Active"
    passive = "Device.Time.NTPServer1"
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        model = r.lab_device(dev_id).model
        set_active, set_passive = await r.session(dev_id, [spa(active, 2), spa(passive, 1)])
        ok(set_active)
        ok(set_passive)
        mark = r.last_inform_id(dev_id)
        model.device_set({"/BBF/Hosts/Host/5/Active": "1"})
        change = await r.inform_with(dev_id, "4 VALUE CHANGE", after=mark)
        assert change["parameters"][active][0] == "1"
        mark = r.last_inform_id(dev_id)
        model.device_set({"/BBF/Time/NTPServer1": "passive.example"})
        for _ in range(9):  # Connection Requests until the change has reached the engine
            await r.session(dev_id, [gpv(passive)])
            informs = r.acs.store.informs(dev_id, after=mark)
            assert all(("6 CONNECTION REQUEST", "") in events_of(i) for i in informs), informs
            if any(passive in i["parameters"] for i in informs):
                break
        reported = [i for i in informs if passive in i["parameters"]]
        assert reported, "the passive change came with a later Inform"
        assert ("4 VALUE CHANGE", "") in events_of(reported[0])
        assert reported[0]["parameters"][passive][0] == "passive.example"


async def test_supported_data_models_and_proxier_info(tmp_path: Path) -> None:
    """Issue 4 / TR-330 §4.3.1: CMS::GetSupportedDataModels becomes
    Device.DeviceInfo.SupportedDataModel.{i} (URN, URL) with its NumberOfEntries, and
    Device.DeviceInfo.ProxierInfo names the proxier (ProxyProtocol "UPnP-DM"), all
    read-only."""
    sdm = "Device.DeviceInfo.SupportedDataModel."
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        models = r.lab_device(dev_id).model.get_supported_data_models()
        table, info, listed = await r.session(
            dev_id,
            [
                gpv(sdm, "Device.DeviceInfo.SupportedDataModelNumberOfEntries"),
                gpv("Device.DeviceInfo.ProxierInfo."),
                gpn("Device.DeviceInfo.", False),
            ],
        )
        got = values(table)
        assert got["Device.DeviceInfo.SupportedDataModelNumberOfEntries"][0] == str(len(models))
        rows = {
            (got[f"{sdm}{i}.URN"][0], got[f"{sdm}{i}.URL"][0]) for i in range(1, len(models) + 1)
        }
        assert rows == {(m.uri, m.url) for m in models}
        proxier = values(info)
        assert proxier["Device.DeviceInfo.ProxierInfo.ProxyProtocol"][0] == "UPnP-DM"
        assert set(proxier) == {
            f"Device.DeviceInfo.ProxierInfo.{n}"
            for n in ("ManufacturerOUI", "ProductClass", "SerialNumber", "ProxyProtocol")
        }
        writable = names(listed)
        assert not any(
            w for n, w in writable.items() if n.startswith((sdm, "Device.DeviceInfo.ProxierInfo."))
        )
        assert {f"{sdm}{i}." for i in range(1, len(models) + 1)} <= set(writable)
