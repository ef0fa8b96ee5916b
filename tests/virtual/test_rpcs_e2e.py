"""The TR-330 §4.6 RPCs end to end: lab ACS task → Connection Request → CWMP session →
proxier → SOAP → lab DM device, and what the lab ACS records (issue 4 "Done when").

Expectations about the device side are read from the lab device itself (its model, its
attributes), never from the proxier; the CWMP instance numbers of a sparse table and the
TR-330 / TR-069 rules are written out. Each test batches its RPCs into few sessions
(`Rig.session`): a virtual device accepts only so many Connection Requests a minute.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from proxier.translate.tables import XSD_TYPES, default_tables
from proxier.upnp.device import UpnpError
from tests.virtual.rig import Rig, events_of, rig

TYPES = default_tables().types
ERRORS = default_tables().errors
HOSTS = "Device.Hosts."
HOST = "Device.Hosts.Host."
PM = "Device.NAT.PortMapping."
UPNP_PM = "/BBF/NAT/PortMapping/"
#: The lab model's Host table holds UPnP instances 0, 2, 5: CWMP numbers 1, 2, 3 (TR-330
#: §4.6.1 note: UPnP instances are 0-based, CWMP ones 1-based; the proxier numbers them in
#: the order it first sees them, never by arithmetic).
SPARSE = {1: 0, 2: 2, 3: 5}


def gpn(path: str, next_level: bool) -> dict[str, Any]:
    return {"name": "GetParameterNames", "parameterPath": path, "nextLevel": next_level}


def gpv(*names: str) -> dict[str, Any]:
    return {"name": "GetParameterValues", "parameterNames": list(names)}


def spv(key: str, *items: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "name": "SetParameterValues",
        "parameterList": [list(i) for i in items],
        "parameterKey": key,
    }


def gpa(*names: str) -> dict[str, Any]:
    return {"name": "GetParameterAttributes", "parameterNames": list(names)}


def spa(name: str, notification: int, *, access_list: bool = False) -> dict[str, Any]:
    item = {
        "name": name,
        "notificationChange": not access_list,
        "notification": notification,
        "accessListChange": access_list,
        "accessList": ["Subscriber"] if access_list else [],
    }
    return {"name": "SetParameterAttributes", "parameterList": [item]}


def add(obj: str, key: str = "k") -> dict[str, Any]:
    return {"name": "AddObject", "objectName": obj, "parameterKey": key}


def delete(obj: str, key: str = "k") -> dict[str, Any]:
    return {"name": "DeleteObject", "objectName": obj, "parameterKey": key}


def ok(task: dict[str, Any]) -> dict[str, Any]:
    assert task["status"] == "done", f"{task['args']} → {task['status']} {task['result']}"
    result: dict[str, Any] = task["result"]
    return result


def names(task: dict[str, Any]) -> dict[str, bool]:
    listed = [(p["name"], p["writable"]) for p in ok(task)["parameterList"]]
    assert len(listed) == len(dict(listed)), f"duplicate names in {listed}"
    return dict(listed)


def values(task: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {p["name"]: (p["value"], p["type"]) for p in ok(task)["parameterList"]}


def fault(task: dict[str, Any]) -> tuple[int, list[tuple[str, int]]]:
    assert task["status"] == "fault", f"{task['args']} → {task['status']} {task['result']}"
    result = task["result"]
    detail = [(d["parameterName"], d["faultCode"]) for d in result["setParameterValuesFault"]]
    return result["faultCode"], detail


def upnp_of(model: Any, cwmp: str) -> str:
    """The lab device's path of a CWMP name: the shipped model's two roots (roots.toml), and
    each table's rows numbered 1, 2, … in ascending UPnP order, as a proxier that has
    seen an untouched device numbers them (so Host 1, 2, 3 are UPnP 0, 2, 5)."""
    if cwmp.startswith("Device.X_UPNP-ORG_DM."):
        path, rest = "/UPnP/DM/", cwmp[len("Device.X_UPNP-ORG_DM.") :]
    else:
        path, rest = "/BBF/", cwmp[len("Device.") :]
    for segment in rest.split("."):
        if segment.isdigit():
            found = [p for p in model.get_instances(path, 1) if p.count("/") == path.count("/") + 1]
            segment = (
                sorted(found, key=lambda p: int(p.rstrip("/").rsplit("/", 1)[1]))[int(segment) - 1]
                .rstrip("/")
                .rsplit("/", 1)[1]
            )
        path += segment + "/"
    return path if cwmp.endswith(".") else path.rstrip("/")


async def started(r: Rig) -> str:
    await r.start_proxier()
    dev_id: str = (await r.devices(1))[0]["id"]
    await r.informs(dev_id)  # BOOTSTRAP in, so the next session is a Connection Request's
    return dev_id


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
    which (9005/9006/9008), else (§4.6.4 note) the mapped fault without details; a
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
        assert fault(bad[0]) == (9003, [(enable, 9006)])
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


# --- AddObject / DeleteObject, sparse instances, Alias, restart (TR-330 §4.6.6-4.6.8) ------


def sparse_model() -> dict[str, Any]:
    """The shipped lab model with PortMapping rows at UPnP 0, 2 and 5 (a device that has
    added and deleted rows before the proxier came)."""
    doc: dict[str, Any] = json.loads(
        resources.files("proxier").joinpath("data", "lab-model.json").read_text("utf-8")
    )
    doc["instances"]["/BBF/NAT/PortMapping/"] = [0, 2, 5]
    doc["values"].update(
        {
            "/BBF/NAT/PortMapping/2/Description": "game",
            "/BBF/NAT/PortMapping/2/ExternalPort": "3074",
            "/BBF/NAT/PortMapping/5/Description": "camera",
            "/BBF/NAT/PortMapping/5/ExternalPort": "554",
        }
    )
    return doc


def rows(model: Any) -> list[str]:
    return [p for p in model.get_instances(UPNP_PM, 1) if p.startswith(UPNP_PM)]


async def test_add_delete_sparse_table_alias_and_restart(tmp_path: Path) -> None:
    """TR-330 §4.6.6/§4.6.7: AddObject ⇄ CMS::CreateInstance, DeleteObject ⇄ DeleteInstance
    with Status from ChangesApplied/ChangesCommitted; on a table with sparse 0-based UPnP
    rows (0, 2, 5 → CWMP 1, 2, 3) a new row gets the next CWMP number, a deleted number is
    never handed out again; Alias (§4.6.8) kept by the proxier, settable and usable in paths;
    after a proxier restart every number and alias still names the same row, also when the
    device lost a row meanwhile (issue 4: instance numbers stable across restarts)."""
    async with rig(tmp_path, model=sparse_model()) as r:
        dev_id = await started(r)
        model = r.lab_device(dev_id).model
        tasks = await r.session(
            dev_id,
            [
                gpn(PM, True),
                gpv(PM + "2.Description", PM + "3.Description", PM + "3.Alias"),
                add(PM),
                spv("d", (PM + "4.Description", "ssh", "xsd:string")),
                delete(PM + "2."),
                add(PM),
                gpn(PM, True),
                spv("a", (PM + "1.Alias", "web", "xsd:string")),
                gpv(PM + "[web].Description"),
                spv("a2", (PM + "3.Alias", "web", "xsd:string")),
                spv("a3", (PM + "3.Alias", "9cam", "xsd:string")),
                add("Device.X_UPNP-ORG_DM.Configuration.Network.IPInterface."),
                add(HOST),
                delete(HOST + "1."),
                delete(PM + "2."),
                add(PM + "1."),
                delete(PM),
            ],
        )
        (first, before, added, set_new, deleted, added2, listed, alias, by_alias) = tasks[:9]
        (dup_alias, bad_alias, committed, ro_add, ro_delete, gone, add_inst, del_table) = tasks[9:]
        assert list(names(first)) == [f"{PM}{n}." for n in (1, 2, 3)]
        assert values(before)[PM + "2.Description"][0] == "game"
        assert values(before)[PM + "3.Description"][0] == "camera"
        assert values(before)[PM + "3.Alias"][0] == "cpe-3"
        assert (ok(added)["instanceNumber"], ok(added)["status"]) == (4, 0)
        ok(set_new)
        assert model.value(UPNP_PM + "6/Description") == "ssh", "CWMP 4 is UPnP 6"
        assert ok(deleted)["status"] == 0
        assert UPNP_PM + "2/" not in rows(model)
        assert ok(added2)["instanceNumber"] == 5, "CWMP 2 is not reused"
        assert rows(model) == [UPNP_PM + f"{n}/" for n in (0, 5, 6, 7)]
        assert list(names(listed)) == [f"{PM}{n}." for n in (1, 3, 4, 5)]
        ok(alias)
        assert values(by_alias) == {PM + "1.Description": ("web server", "xsd:string")}
        assert fault(dup_alias) == (9003, [(PM + "3.Alias", 9007)]), "Alias is unique"
        assert fault(bad_alias) == (9003, [(PM + "3.Alias", 9007)]), "Alias starts a letter"
        assert ok(committed)["status"] == 1, "CreateInstance answered ChangesCommitted"
        assert fault(ro_add)[0] == ERRORS.cwmp_fault(706, "AddObject")
        assert fault(ro_delete)[0] == ERRORS.cwmp_fault(706, "DeleteObject")
        assert fault(gone) == (9005, [])
        assert fault(add_inst) == (9005, [])
        assert fault(del_table) == (9005, [])
        (del_committed,) = await r.session(
            dev_id, [delete(f"Device.X_UPNP-ORG_DM.Configuration.Network.IPInterface.{2}.")]
        )
        assert ok(del_committed)["status"] == 1, "DeleteInstance answered ChangesCommitted"

        # Restart; meanwhile another control point deletes UPnP 5 (CWMP 3) on the device.
        await r.stop_proxier()
        model.delete_instance(UPNP_PM + "5/")
        await r.start_proxier()
        after_restart = await r.session(
            dev_id,
            [
                gpn(PM, True),
                gpv(PM + "[web].Description", PM + "4.Description", PM + "4.Alias"),
                gpv(PM + "3.Description"),
                add(PM),
            ],
        )
        relisted, kept, lost, added3 = after_restart
        assert list(names(relisted)) == [f"{PM}{n}." for n in (1, 4, 5)]
        assert values(kept) == {
            PM + "1.Description": ("web server", "xsd:string"),
            PM + "4.Description": ("ssh", "xsd:string"),
            PM + "4.Alias": ("cpe-4", "xsd:string"),
        }
        assert fault(lost) == (9005, [])
        assert ok(added3)["instanceNumber"] == 6, "numbers are never reused, even over restarts"
        assert rows(model)[-1] == UPNP_PM + "8/"


# --- a slow device (issue 4: "A slow or vanished device never hangs a CWMP session") --------


async def test_slow_device_gives_mapped_fault_and_the_session_goes_on(tmp_path: Path) -> None:
    """A CMS action slower than `upnp.action_timeout` answers the RPC with the mapping's
    fault for a device that does not answer (9002, mappings/table2_errors.toml `transport`)
    in bounded time; the next RPC of the same session works, and so does the next session."""
    async with rig(tmp_path) as r:
        r.upnp = {"action_timeout": 0.3}
        dev_id = await started(r)
        device = r.lab_device(dev_id)
        device.faults.action_latency = {"GetValues": 1.0}
        slow, next_rpc = await r.session(
            dev_id, [gpv("Device.Time.Enable"), gpn("Device.Time.", True)]
        )
        assert fault(slow) == (ERRORS.transport, [])
        assert "Device.Time.Enable" in names(next_rpc)
        sessions = await r.client.sessions(dev_id)
        assert sessions[-1]["outcome"] == "completed"
        assert sessions[-1]["ended"] - sessions[-1]["started"] < 0.9, "bounded by the timeout"
        device.faults.action_latency = {}
        (fine,) = await r.session(dev_id, [gpv("Device.Time.Enable")])
        assert values(fine) == {"Device.Time.Enable": ("1", "xsd:boolean")}


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


async def test_proxier_alias_is_a_parameter_like_the_others(tmp_path: Path) -> None:
    """TR-330 §4.6.8: the Alias the proxier keeps for each row of a table without one of its
    own is a writable parameter of the row everywhere, as TR-069 wants of any parameter:
    listed by GetParameterNames (A.3.2.3: "all Parameters … that are descendents"), read
    with a partial path (A.3.2.2), and given attributes (A.3.2.4/A.3.2.5)."""
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        alias = PM + "1.Alias"
        tasks = await r.session(
            dev_id,
            [
                gpn(PM + "1.", True),
                gpn(PM, False),
                gpn(alias, False),
                gpn(HOSTS, False),
                gpv(PM + "1."),
                gpv(HOST),
                gpa(alias),
                spa(alias, 1),
                gpa(PM + "1."),
                spv("a", (alias, "web", "xsd:string")),
                gpv(PM),
            ],
        )
        child, branch, itself, hosts, inst, table, attr, set_attr, attrs, set_alias, renamed = tasks
        assert names(child)[alias] is True
        assert names(branch)[alias] is True
        assert names(itself) == {alias: True}
        assert all(names(hosts)[f"{HOST}{n}.Alias"] for n in SPARSE)
        assert values(inst)[alias] == ("cpe-1", "xsd:string")
        assert {n: values(table)[f"{HOST}{n}.Alias"][0] for n in SPARSE} == {
            n: f"cpe-{n}" for n in SPARSE
        }
        assert ok(attr)["parameterList"] == [{"name": alias, "notification": 0, "accessList": []}]
        ok(set_attr)
        assert {p["name"]: p["notification"] for p in ok(attrs)["parameterList"]}[alias] == 1
        ok(set_alias)
        assert values(renamed)[alias] == ("web", "xsd:string")
